"""hookwire.sdk: the Python SDK — clients of a hookwire server, a remote worker serving Python
hooks, and the result helpers hooks return (the runtime's own, so hooks run unchanged
in-process and remotely). See docs/server.md.

Example:
    >>> from hookwire.sdk import Cancel, Modified
    >>> Cancel("quota exceeded").reason
    'quota exceeded'
"""

from __future__ import annotations

from hookwire.runtime.context import HookContext
from hookwire.sdk.client import AsyncClient, Client, Overflow, Subscription, event
from hookwire.sdk.results import (
    CONTINUE,
    Cache,
    Cancel,
    Continue,
    Fork,
    ForkOperation,
    HookResult,
    Modified,
    Outcome,
    Redirect,
    Replace,
    ResultKind,
    Retry,
    Skipped,
)
from hookwire.sdk.worker import Worker

__all__ = [
    "CONTINUE",
    "AsyncClient",
    "Cache",
    "Cancel",
    "Client",
    "Continue",
    "Fork",
    "ForkOperation",
    "HookContext",
    "HookResult",
    "Modified",
    "Outcome",
    "Overflow",
    "Redirect",
    "Replace",
    "ResultKind",
    "Retry",
    "Skipped",
    "Subscription",
    "Worker",
    "event",
]
