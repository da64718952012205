"""What watches executions from outside the executor: monitors, event emission, tracing.

An observer is told about each finished execution once, after it finished (its chain and raw
trace records are `execution.raw_records()`, see hookwire.runtime.trace.RawRecord), so the
per-hook loop stays the same with or without observers. Observers made inactive (an `active`
attribute that is False, e.g. a tracer with no OpenTelemetry SDK configured) are left out.

An observer that needs to act around each hook call (tracing: a span per hook, its context
passed to the hook) is a `CallWrapper` instead: `begin` returns a token (or None: nothing to
do around this execution), `end(token, ...)` / `abort(token, exc)` follow for a token only,
and `wrap` gives the callables a plan uses (see CallWrapper).

Bulk consumers (the monitor, the event sink, and any observer with `add_source(records)`, which
then calls `records.add_consumer(take)`) are not told each execution: the executor appends one
record per execution to its `ExecutionRecords`, which hands them over in bulk.

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

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from hookwire.runtime.context import HookContext
    from hookwire.runtime.registry import ChainEntry
    from hookwire.runtime.trace import Execution, RawRecord

__all__ = [
    "DRAIN_EVERY",
    "REFUSED",
    "CallWrapper",
    "ChainRecords",
    "ExecutionObserver",
    "ExecutionRecords",
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
    """An observer that acts around each execution and each hook call (protocol v2).

    - `begin(point, ctx)` before the chain runs (on the executing thread / task): a token, or
      None when it has nothing to do around this execution (e.g. its trace was dropped). The
      executor keeps the tokens in locals.
    - For a token (not None) exactly one of `end(token, point, execution, started_ns,
      ended_ns)` (the chain finished; started/ended: the executor clock's monotonic readings
      around it) or `abort(token, exc)` (the chain raised `exc`, which then propagates)
      follows, on the same thread / task. For None neither is called: a dropped execution
      costs its `begin` call only. A CallWrapper is not told `executed`.
    - Several wrappers: `begin` in observer order, `end` / `abort` in reverse order. A `begin`
      that raises: the wrappers begun before it are aborted (reverse order), the chain does
      not run, and the exception propagates.
    - All tokens None: the chain runs its hooks' own callables. Any token: it runs the
      callables `wrap` gave, of every wrapper, so a wrapped callable must behave when its own
      `begin` returned None (pass the call through).
    """

    def begin(self, point: str, ctx: HookContext) -> object | None:
        """Before the chain of `point` runs on `ctx`: a token, or None (nothing to do)."""
        ...

    def wrap(
        self, entry: ChainEntry, call: Callable[[HookContext], Any]
    ) -> Callable[[HookContext], Any]:
        """The callable the plan uses for `entry` instead of `call` (which may return a
        coroutine: then so must the wrapper); called once per chain plan, wrapper after
        wrapper in observer order (the last wrapper's callable is the outermost)."""
        ...

    def end(
        self, token: Any, point: str, execution: Execution, started_ns: int, ended_ns: int
    ) -> None:
        """The execution `begin` returned `token` for finished."""
        ...

    def abort(self, token: Any, exc: BaseException) -> None:
        """The execution `begin` returned `token` for raised `exc` instead of finishing."""
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


_get_ident = threading.get_ident

# Executions an ExecutionRecords holds at most before it hands them to its consumers: few
# enough that they are still in the processor's caches when the monitor folds them, enough
# that the event bus's commit of their events costs little per execution (measured).
DRAIN_EVERY = 256

# One observed execution as recorded: (chain entries, raw records, started_ns, ended_ns), the
# times on the executor clock's monotonic scale. Only the chain (long-lived), a list of ints in
# the common case and ints: nothing the garbage collector has to walk for long.
ExecutionRecord = tuple[tuple[Any, ...], list[Any], int, int]


class ExecutionRecords:
    """The records of an executor's observed executions not yet handed to its bulk consumers
    (the monitor, the event sink): the executor appends one `ExecutionRecord` per execution,
    inline; `drain` hands what is pending to every consumer, in execution order, as one list.

    The executor drains when `limit` executions are pending (`DRAIN_EVERY`, or 1 while a
    consumer must see each execution at once: `set_deferral(False)`); consumers drain it
    whenever someone observes them (a monitor's stats, any read or publish on the event bus),
    so nothing they show is ever missing an execution. Appending takes no lock (one
    `list.append`); drains are serialised, and a drain started from inside a consumer of this
    buffer (the bus draining its sources while committing this drain's events) is a no-op, so
    records reach every consumer exactly once and in order.

    Example:
        >>> records = ExecutionRecords()
        >>> got = []
        >>> records.add_consumer(got.extend)
        >>> records.items.append((("a",), [10], 0, 12))
        >>> records.drain()
        >>> got, records.items
        ([(('a',), [10], 0, 12)], [])
    """

    __slots__ = ("_consumers", "_lock", "_owner", "items", "limit")

    def __init__(self) -> None:
        self.items: list[ExecutionRecord] = []
        self.limit = DRAIN_EVERY
        self._consumers: list[Callable[[list[ExecutionRecord]], None]] = []
        self._lock = threading.Lock()
        self._owner: int | None = None

    def add_consumer(self, take: Callable[[list[ExecutionRecord]], None]) -> None:
        """`take(records)` is given every drained list, in order."""
        self._consumers.append(take)

    def set_deferral(self, allowed: bool) -> None:
        """Whether the consumers may receive executions later, in bulk (True) or must get each
        right after it finished (False: drained at every execution). What is pending then goes
        with the next execution, or the next `drain` (which the caller makes at once)."""
        self.limit = DRAIN_EVERY if allowed else 1

    def drain(self) -> None:
        """Hand every pending record to the consumers (no-op when none is pending, or when
        called from inside this buffer's own drain)."""
        items = self.items
        if not items:
            return
        me = _get_ident()
        if self._owner == me:
            return
        with self._lock:
            chunk = items[:]
            if not chunk:
                return
            # Appends may happen meanwhile (lock-free): only what was copied goes.
            del items[: len(chunk)]
            self._owner = me
            try:
                for take in self._consumers:
                    take(chunk)
            finally:
                self._owner = None
