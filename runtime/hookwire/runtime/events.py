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
from typing import Any, Protocol, runtime_checkable

from hookwire.runtime.breaker import BreakerState
from hookwire.runtime.results import Outcome

__all__ = [
    "BREAKER_CLOSED",
    "BREAKER_HALF_OPENED",
    "BREAKER_OPENED",
    "HOOK_EXECUTED",
    "BreakerEvents",
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


class TransitionListener:
    """A BreakerListener (hookwire.runtime.breaker) told each transition as the payload of
    its event: subclasses implement `transitioned(hook_name, new, payload)`."""

    __slots__ = ()

    def breaker_transition(
        self,
        hook_name: str,
        old: BreakerState,
        new: BreakerState,
        failure_rate: float,
        slow_rate: float,
        open_duration_ns: int,
    ) -> None:
        self.transitioned(
            hook_name,
            new,
            {
                "hook": hook_name,
                "failure_rate": failure_rate,
                "slow_rate": slow_rate,
                "open_duration_ms": open_duration_ns / 1e6,
            },
        )

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
    `__getitem__` (an index in range, each payload built when asked).

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


class ExecutedPayloads(JsonPayloads):
    """The `hookwire.hook.executed` payloads of one execution (point, hook, outcome,
    duration_ns per hook considered, in chain order), built from its raw records when read.

    Example:
        >>> from types import SimpleNamespace
        >>> p = ExecutedPayloads("session_start", [SimpleNamespace(name="a")], [1200])
        >>> len(p), p[0]
        (1, {'point': 'session_start', 'hook': 'a', 'outcome': 'CONTINUE', 'duration_ns': 1200})
    """

    __slots__ = ("entries", "point", "raw")

    def __init__(self, point: str, entries: Sequence[Any], raw: Sequence[Any]) -> None:
        self.point = point
        self.entries = entries
        self.raw = raw

    def __len__(self) -> int:
        return len(self.raw)

    def __getitem__(self, i: int) -> dict[str, Any]:
        r = self.raw[i]
        if type(r) is int:
            outcome, duration = _CONTINUE, r
        else:
            outcome, duration = r[0].value, r[2]
        return {
            "point": self.point,
            "hook": self.entries[i].name,
            "outcome": outcome,
            "duration_ns": duration,
        }


class HookEvents:
    """An execution observer publishing one `hookwire.hook.executed` per hook considered
    (payload: point, hook, outcome, duration_ns), in chain order, after the execution.

    A sink with `emit_batch(type, payloads)` gets an execution's events in one call, as
    `ExecutedPayloads` (built when read); any other sink gets them one by one through `emit`.
    """

    __slots__ = ("_batch", "sink")

    def __init__(self, sink: EventSink) -> None:
        self.sink = sink
        self._batch = getattr(sink, "emit_batch", None)

    def executed(self, point: str, execution: Any, started_ns: int, ended_ns: int) -> None:
        payloads = ExecutedPayloads(point, *execution.raw_records())
        if self._batch is not None:
            self._batch(HOOK_EXECUTED, payloads)
            return
        emit = self.sink.emit
        for i in range(len(payloads)):
            emit(HOOK_EXECUTED, payloads[i])
