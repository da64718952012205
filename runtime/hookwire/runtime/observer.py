"""What watches executions from outside the executor: monitors, event emission, tracing.

An observer is told about each finished execution once, after it finished (its chain and raw
trace records are `execution.raw_records()`, see hookwire.runtime.trace.RawRecord), so the
per-hook loop stays the same with or without observers. Observers made inactive (an `active`
attribute that is False, e.g. a tracer with no OpenTelemetry SDK configured) are left out.

An observer that needs to act around each hook call (tracing: a span per hook, its context
passed to the hook) also implements `begin`, `wrap` and `abort`:

- `begin(point, ctx)` before the chain runs (`abort(exc)` if it raised instead of finishing);
- `wrap(entry, call)` once per chain plan: a callable used in place of `call` (same argument,
  same return value), or `call` itself.

Example:
    >>> from hookwire.runtime.context import HookContext
    >>> from hookwire.runtime.executor import Executor
    >>> from hookwire.runtime.registry import Registry
    >>> class Count:
    ...     def __init__(self): self.calls = 0
    ...     def executed(self, point, execution, started_ns, ended_ns):
    ...         self.calls += len(execution.raw_records()[1])
    >>> reg = Registry()
    >>> _ = reg.register(lambda ctx: None, name="a", point="session_start")
    >>> counter = Count()
    >>> ex = Executor(reg, observers=[counter])
    >>> _ = ex.execute("session_start", HookContext("session_start"))
    >>> counter.calls
    1
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from hookwire.runtime.context import HookContext
    from hookwire.runtime.registry import ChainEntry
    from hookwire.runtime.trace import Execution, RawRecord

__all__ = ["REFUSED", "CallWrapper", "ExecutionObserver", "record_fields"]

# The reason object of breaker refusals in raw records: built at run time so that it is not
# the interned literal, and `is` tells a refusal from a hook that returned that reason.
REFUSED = "".join(("circuit", "_open"))


@runtime_checkable
class ExecutionObserver(Protocol):
    """Told about every execution after it finished (on the executing thread)."""

    def executed(self, point: str, execution: Execution, started_ns: int, ended_ns: int) -> None:
        """`execution.raw_records()` gives the chain and its raw records (`raw[i]` is the
        record of `entries[i]`; fewer when the chain stopped); started/ended are the executor
        clock's monotonic readings around the whole chain."""
        ...


@runtime_checkable
class CallWrapper(Protocol):
    """An observer that also acts around each hook call."""

    def begin(self, point: str, ctx: HookContext) -> None:
        """Before the chain of `point` runs on `ctx`."""
        ...

    def wrap(
        self, entry: ChainEntry, call: Callable[[HookContext], Any]
    ) -> Callable[[HookContext], Any]:
        """The callable the plan uses for `entry` instead of `call` (which may return a
        coroutine: then so must the wrapper)."""
        ...

    def abort(self, exc: BaseException) -> None:
        """The execution begun last on this thread / task raised `exc` instead of finishing."""
        ...


def record_fields(record: RawRecord) -> tuple[Any, str, int, bool, Any]:
    """(outcome, reason, duration_ns, slow, breaker_state or None) of one raw record; a plain
    int record is a CONTINUE within its timeout, not slow, with a CLOSED breaker (None)."""
    from hookwire.runtime.results import Outcome

    if type(record) is int:
        return Outcome.CONTINUE, "", record, False, None
    outcome, reason, dur, slow, state = record  # type: ignore[misc]
    return outcome, reason, dur, slow, state
