"""What watches executions from outside the executor: monitors, event emission, tracing.

An observer is told about each finished execution once, after it finished (its chain and raw
trace records are `execution.raw_records()`, see hookwire.runtime.trace.RawRecord), so the
per-hook loop stays the same with or without observers. Observers made inactive (an `active`
attribute that is False, e.g. a tracer with no OpenTelemetry SDK configured) are left out.

An observer that needs to act around each hook call (tracing: a span per hook, its context
passed to the hook) also implements `begin`, `wrap` and `abort`:

- `begin(point, ctx)` before the chain runs (`abort(exc)` if it raised instead of finishing);
  it returns whether this execution's hook calls need the wrapped callables (False: nothing to
  do around them, e.g. the sampler dropped the execution; the executor may then call the hooks
  directly);
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

__all__ = [
    "REFUSED",
    "CallWrapper",
    "ChainRecords",
    "ExecutionObserver",
    "RecordBuffer",
    "record_fields",
]

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

    def begin(self, point: str, ctx: HookContext) -> bool:
        """Before the chain of `point` runs on `ctx`: whether its hook calls need the wrapped
        callables (a wrapped callable must still behave when called after a False)."""
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


class ChainRecords:
    """One chain's raw records kept for later: all records in a row, each execution's count,
    and the executions' total duration (executor clock)."""

    __slots__ = ("elapsed", "entries", "lengths", "records")

    def __init__(self, entries: Any) -> None:
        self.entries = entries
        self.records: list[Any] = []
        self.lengths: list[int] = []
        self.elapsed = 0

    def uniform(self) -> bool:
        """Every execution ran the whole chain and every record is a plain CONTINUE (an int):
        then `records[i::n]` are hook i's durations."""
        n = len(self.entries)
        return self.lengths.count(n) == len(self.lengths) and set(map(type, self.records)) <= {int}

    def executions(self) -> Any:
        """(entries, raw records) of each execution, in order."""
        pos = 0
        for length in self.lengths:
            yield self.entries, self.records[pos : pos + length]
            pos += length


class RecordBuffer:
    """Raw records of finished executions, by chain, for observers that count in bulk.

    `add` copies an execution's records (plain ints in the common case, so nothing is kept for
    the garbage collector to walk) and returns how many executions are pending; `drain` hands
    over what was added and starts afresh.

    Example:
        >>> from hookwire.runtime.context import HookContext
        >>> from hookwire.runtime.executor import Executor
        >>> from hookwire.runtime.registry import Registry
        >>> reg = Registry()
        >>> _ = reg.register(lambda ctx: None, name="a", point="session_start")
        >>> buffer = RecordBuffer()
        >>> run = Executor(reg).execute("session_start", HookContext("session_start"))
        >>> buffer.add(run, 0, 10)
        1
        >>> [(len(c.lengths), c.uniform()) for c in buffer.drain()]
        [(1, True)]
    """

    __slots__ = ("_chains", "_last", "pending")

    def __init__(self) -> None:
        self._chains: dict[int, ChainRecords] = {}
        # The chain added to last: most executions run the chain the one before ran.
        self._last = _NO_CHAIN
        self.pending = 0

    def add(self, execution: Execution, started_ns: int, ended_ns: int) -> int:
        entries, raw = execution.raw_records()
        chain = self._last
        if chain.entries is not entries:
            chain = self._chains.get(id(entries), _NO_CHAIN)
            if chain.entries is not entries:
                chain = self._chains[id(entries)] = ChainRecords(entries)
            self._last = chain
        chain.records += raw
        chain.lengths.append(len(raw))
        chain.elapsed += ended_ns - started_ns
        self.pending += 1
        return self.pending

    def drain(self) -> list[ChainRecords]:
        chains, self._chains = self._chains, {}
        self._last = _NO_CHAIN
        self.pending = 0
        return list(chains.values())


# Matches no chain (its entries are no chain's).
_NO_CHAIN = ChainRecords(object())
