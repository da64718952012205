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
from hookwire.sdk import results
from hookwire.sdk.client import AsyncClient, Client, Overflow, Subscription, event

# The result helpers, listed once in hookwire.sdk.results.
from hookwire.sdk.results import *  # noqa: F403
from hookwire.sdk.worker import Worker

__all__ = [
    "AsyncClient",
    "Client",
    "HookContext",
    "Overflow",
    "Subscription",
    "Worker",
    "event",
]
__all__ += results.__all__
