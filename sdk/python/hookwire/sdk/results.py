"""Result helpers, shared with the runtime: a hook returns `None` (CONTINUE) or one of these.

They are the runtime's own classes (hookwire.runtime.results), re-exported so that a hook runs
unchanged in-process and in a remote worker.

Example:
    >>> from hookwire.sdk import Modified
    >>> Modified({"checked": True}).kind
    <ResultKind.MODIFIED: 'MODIFIED'>
"""

from __future__ import annotations

from hookwire.runtime.results import (
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

__all__ = [
    "CONTINUE",
    "Cache",
    "Cancel",
    "Continue",
    "Fork",
    "ForkOperation",
    "HookResult",
    "Modified",
    "Outcome",
    "Redirect",
    "Replace",
    "ResultKind",
    "Retry",
    "Skipped",
]
