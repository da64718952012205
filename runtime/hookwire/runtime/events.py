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
    "HookEvents",
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


class BreakerEvents:
    """A BreakerListener that publishes every transition on an EventSink."""

    __slots__ = ("sink",)

    def __init__(self, sink: EventSink) -> None:
        self.sink = sink

    def breaker_transition(
        self,
        hook_name: str,
        old: BreakerState,
        new: BreakerState,
        failure_rate: float,
        slow_rate: float,
        open_duration_ns: int,
    ) -> None:
        self.sink.emit(
            _TRANSITION_TYPES[new],
            {
                "hook": hook_name,
                "failure_rate": failure_rate,
                "slow_rate": slow_rate,
                "open_duration_ms": open_duration_ns / 1e6,
            },
        )


_CONTINUE = Outcome.CONTINUE.value


class HookEvents:
    """An execution observer publishing one `hookwire.hook.executed` per hook considered
    (payload: point, hook, outcome, duration_ns), in chain order, after the execution.

    A sink with `emit_batch(type, payloads)` gets an execution's events in one call.
    """

    __slots__ = ("_batch", "sink")

    def __init__(self, sink: EventSink) -> None:
        self.sink = sink
        self._batch = getattr(sink, "emit_batch", None)

    def executed(self, point: str, execution: Any, started_ns: int, ended_ns: int) -> None:
        entries, raw = execution.raw_records()
        payloads = [
            {"point": point, "hook": e.name, "outcome": _CONTINUE, "duration_ns": r}
            if type(r) is int
            else {"point": point, "hook": e.name, "outcome": r[0].value, "duration_ns": r[2]}
            for e, r in zip(entries, raw, strict=False)
        ]
        if self._batch is not None:
            self._batch(HOOK_EXECUTED, payloads)
            return
        emit = self.sink.emit
        for payload in payloads:
            emit(HOOK_EXECUTED, payload)
