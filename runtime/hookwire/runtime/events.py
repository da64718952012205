"""What the runtime publishes, and the small interface the event bus implements for it.

Event types: `hookwire.breaker.opened`, `hookwire.breaker.half_opened`,
`hookwire.breaker.closed` (payload: hook, failure_rate, slow_rate, open_duration_ms) and
`hookwire.hook.executed` (payload: point, hook, outcome, duration_ns).

Example:
    >>> class Collect:
    ...     def __init__(self): self.events = []
    ...     def emit(self, type, payload): self.events.append((type, payload))
    >>> sink = Collect()
    >>> from hookwire.runtime.breaker import BreakerState as S
    >>> BreakerEvents(sink).breaker_transition("h", S.CLOSED, S.OPEN, 0.6, 0.0, 15_000_000_000)
    >>> sink.events[0][0], sink.events[0][1]["open_duration_ms"]
    ('hookwire.breaker.opened', 15000.0)
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from operator import itemgetter
from typing import Any, Protocol, runtime_checkable

from hookwire.runtime.breaker import BreakerState
from hookwire.runtime.results import Outcome

__all__ = [
    "BREAKER_CLOSED",
    "BREAKER_HALF_OPENED",
    "BREAKER_OPENED",
    "HOOK_EXECUTED",
    "BreakerEvents",
    "DeferredSource",
    "EventSink",
    "ExecutedPayloads",
    "HookEvents",
    "JsonPayloads",
    "TransitionListener",
]

BREAKER_OPENED = "hookwire.breaker.opened"
BREAKER_HALF_OPENED = "hookwire.breaker.half_opened"
BREAKER_CLOSED = "hookwire.breaker.closed"
HOOK_EXECUTED = "hookwire.hook.executed"

_TRANSITION_TYPES = {
    BreakerState.OPEN: BREAKER_OPENED,
    BreakerState.HALF_OPEN: BREAKER_HALF_OPENED,
    BreakerState.CLOSED: BREAKER_CLOSED,
}


@runtime_checkable
class EventSink(Protocol):
    """Where runtime events go; the event bus implements `emit`."""

    def emit(self, type: str, payload: dict[str, Any]) -> None: ...


@runtime_checkable
class DeferredSource(Protocol):
    """An executor's records of finished executions (hookwire.runtime.observer
    `ExecutionRecords`) as an event sink that accepts them sees them: a sink with
    `add_deferred_source(source)` (the event bus) may let the executor hand it an
    execution's events later, in bulk, and then drains the source before anything could tell
    (see `EventBus.add_deferred_source`)."""

    def drain(self) -> None:
        """Hand every pending execution to the consumers now (the sink included)."""
        ...

    def set_deferral(self, allowed: bool) -> None:
        """Whether the events may be handed over later (False: right after each execution;
        the sink drains what is pending itself)."""
        ...


class TransitionListener:
    """A BreakerListener (hookwire.runtime.breaker) told each transition as the payload of
    its event: subclasses implement `transitioned(hook_name, new, payload)`."""

    __slots__ = ()

    def breaker_transition(
        self, hook_name: str, old: BreakerState, new: BreakerState, *figures: Any
    ) -> None:
        """hookwire.runtime.breaker.BreakerListener; `figures` are the transition's
        (failure_rate, slow_rate, open_duration_ns), in the order the breaker gives them."""
        failure_rate, slow_rate, open_duration_ns = figures
        payload = {
            "hook": hook_name,
            "failure_rate": failure_rate,
            "slow_rate": slow_rate,
            "open_duration_ms": open_duration_ns / 1e6,
        }
        self.transitioned(hook_name, new, payload)

    def transitioned(self, hook_name: str, new: BreakerState, payload: dict[str, Any]) -> None:
        raise NotImplementedError


class BreakerEvents(TransitionListener):
    """A BreakerListener that publishes every transition on an EventSink."""

    __slots__ = ("sink",)

    def __init__(self, sink: EventSink) -> None:
        self.sink = sink

    def transitioned(self, hook_name: str, new: BreakerState, payload: dict[str, Any]) -> None:
        self.sink.emit(_TRANSITION_TYPES[new], payload)


_CONTINUE = Outcome.CONTINUE.value


class JsonPayloads:
    """Event payloads that are JSON by construction and built when read: what an
    `emit_batch` sink may keep unread (the event bus keeps them in an EventRun, unbuilt until
    a subscriber, a replay or an encoder reads the events). Subclasses define `__len__` and
    `__getitem__` (an index in range, each payload built when asked), and may define
    `times()`: each event's time (None: the time the sink gives the batch).

    Not a collections.abc.Sequence on purpose: telling one apart must stay a plain
    `isinstance` (an ABC check costs a tenth of the whole emission).
    """

    __slots__ = ()

    def __len__(self) -> int:
        raise NotImplementedError

    def __getitem__(self, i: int) -> dict[str, Any]:
        raise NotImplementedError

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return (self[i] for i in range(len(self)))

    def times(self) -> list[int] | None:
        """The wall-clock time (ns) of each event, or None for the sink's own."""
        return None


_raw = itemgetter(1)  # ExecutionRecord -> raw records


class ExecutedPayloads(JsonPayloads):
    """The `hookwire.hook.executed` payloads of executions (point, hook, outcome, duration_ns
    per hook considered, in execution then chain order), built from their records
    (hookwire.runtime.observer.ExecutionRecord) on the first read. An event's time is the end
    of its execution: the executor clock's monotonic end plus `wall_offset_ns` (its wall
    minus monotonic reading, taken when the records were drained).

    Example:
        >>> from types import SimpleNamespace
        >>> chain = (SimpleNamespace(name="a", point="session_start"),)
        >>> p = ExecutedPayloads([(chain, [1200], 100, 1500)], wall_offset_ns=10_000)
        >>> len(p), p.times()
        (1, [11500])
        >>> p[0]
        {'point': 'session_start', 'hook': 'a', 'outcome': 'CONTINUE', 'duration_ns': 1200}
    """

    __slots__ = ("_built", "n", "offset", "records")

    def __init__(self, records: Sequence[Any], wall_offset_ns: int) -> None:
        self.records = records
        self.offset = wall_offset_ns
        # How many events (records) the executions have, all told.
        self.n = len(records[0][1]) if len(records) == 1 else sum(map(len, map(_raw, records)))
        self._built: list[dict[str, Any]] | None = None

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict[str, Any]:
        built = self._built
        if built is None:
            built = self._built = self._build()
        return built[i]

    def _build(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for entries, raw, _started, _ended in self.records:
            out += [
                {
                    "point": e.point,
                    "hook": e.name,
                    "outcome": _CONTINUE if type(r) is int else r[0].value,
                    "duration_ns": r if type(r) is int else r[2],
                }
                for e, r in zip(entries, raw, strict=False)
            ]
        return out

    def times(self) -> list[int]:
        offset = self.offset
        out: list[int] = []
        for _entries, raw, _started, ended in self.records:
            out += [ended + offset] * len(raw)
        return out


class HookEvents:
    """The event sink's consumer of an executor's records: one `hookwire.hook.executed` per
    hook considered (payload: point, hook, outcome, duration_ns), in execution and chain
    order, timed at the end of its execution (on `clock`).

    A sink with `emit_batch(type, payloads)` gets each drained batch in one call, as
    `ExecutedPayloads` (built when read); any other sink gets the events one by one through
    `emit`.
    """

    __slots__ = ("_batch", "_monotonic", "_wall", "sink")

    def __init__(self, sink: EventSink, clock: Any) -> None:
        self.sink = sink
        self._wall = clock.time_ns
        self._monotonic = clock.monotonic_ns
        self._batch = getattr(sink, "emit_batch", None)

    def take(self, records: Sequence[Any]) -> None:
        payloads = ExecutedPayloads(records, self._wall() - self._monotonic())
        if not payloads.n:
            return
        if self._batch is not None:
            self._batch(HOOK_EXECUTED, payloads)
            return
        emit = self.sink.emit
        for i in range(payloads.n):
            emit(HOOK_EXECUTED, payloads[i])
