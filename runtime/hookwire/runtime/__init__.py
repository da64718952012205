"""hookwire.runtime: the in-process Python hook runtime (docs/runtime-api.md).

Importing it loads no protobuf code: conversions to and from hookwire.v1 messages are in
hookwire.runtime.wire.

Example:
    >>> from hookwire.runtime import Executor, HookContext, Modified, Registry, VirtualClock
    >>> reg = Registry()
    >>> @reg.hook("before_tool_execution")
    ... def tag(ctx):
    ...     return Modified({"checked": True})
    >>> ex = Executor(reg, clock=VirtualClock())
    >>> ex.execute("before_tool_execution", HookContext("before_tool_execution")).context.data
    {'checked': True}
"""

from hookwire.runtime.adapter import (
    HookAdapter,
    HookFailed,
    HookTimedOut,
    InvalidResult,
    PythonAsyncAdapter,
    PythonSyncAdapter,
    adapt,
)
from hookwire.runtime.breaker import (
    BreakerConfig,
    BreakerListener,
    BreakerState,
    BreakerStatus,
    CircuitBreaker,
)
from hookwire.runtime.clock import Clock, SystemClock, VirtualClock
from hookwire.runtime.composite import Child, Composite, CompositeKind, TieBreaker, child
from hookwire.runtime.context import (
    ComponentId,
    DistributedContext,
    HookContext,
    Operation,
    OperationError,
)
from hookwire.runtime.errors import (
    AlreadyExists,
    AsyncHookNotAllowed,
    DeadlineExceeded,
    FailedPrecondition,
    HookwireError,
    InvalidArgument,
    NotFound,
    OperationCancelled,
    OutOfRange,
    RateLimited,
)
from hookwire.runtime.events import BreakerEvents, EventSink
from hookwire.runtime.executor import Executor, Invocation
from hookwire.runtime.json_value import merge_patch, validate_json
from hookwire.runtime.monitor import HookStats, MonitorSnapshot, PerformanceMonitor
from hookwire.runtime.points import ALL_POINTS, parse_point
from hookwire.runtime.registry import ChainEntry, FailurePolicy, HookSpec, Priority, Registry
from hookwire.runtime.results import (
    CONTINUE,
    PRECEDENCE,
    STOPPING_KINDS,
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
    result_from_json,
    result_to_json,
)
from hookwire.runtime.trace import Execution, TraceEntry

__all__ = [
    "ALL_POINTS",
    "CONTINUE",
    "PRECEDENCE",
    "STOPPING_KINDS",
    "AlreadyExists",
    "AsyncHookNotAllowed",
    "BreakerConfig",
    "BreakerEvents",
    "BreakerListener",
    "BreakerState",
    "BreakerStatus",
    "Cache",
    "Cancel",
    "ChainEntry",
    "Child",
    "CircuitBreaker",
    "Clock",
    "ComponentId",
    "Composite",
    "CompositeKind",
    "Continue",
    "DeadlineExceeded",
    "DistributedContext",
    "EventSink",
    "Execution",
    "Executor",
    "FailedPrecondition",
    "FailurePolicy",
    "Fork",
    "ForkOperation",
    "HookAdapter",
    "HookContext",
    "HookFailed",
    "HookResult",
    "HookSpec",
    "HookStats",
    "HookTimedOut",
    "HookwireError",
    "InvalidArgument",
    "InvalidResult",
    "Invocation",
    "Modified",
    "MonitorSnapshot",
    "NotFound",
    "Operation",
    "OperationCancelled",
    "OperationError",
    "OutOfRange",
    "Outcome",
    "PerformanceMonitor",
    "Priority",
    "PythonAsyncAdapter",
    "PythonSyncAdapter",
    "RateLimited",
    "Redirect",
    "Registry",
    "Replace",
    "ResultKind",
    "Retry",
    "Skipped",
    "SystemClock",
    "TieBreaker",
    "TraceEntry",
    "VirtualClock",
    "adapt",
    "child",
    "merge_patch",
    "parse_point",
    "result_from_json",
    "result_to_json",
    "validate_json",
]
