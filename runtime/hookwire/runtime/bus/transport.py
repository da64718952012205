"""Where accepted events are ordered, retained and fanned out from.

The bus validates, rate-limits and fixes id and time; the transport gives the sequence (the
total order), keeps the retention log, and hands events back to the bus's local fan-out in
sequence order. Every event of a bus goes through here: there is no other path.

`InProcessTransport` does that in memory on the publisher's thread (`synchronous = True`).
A distributed transport (`hookwire.runtime.bus.jetstream.JetStreamTransport`: the stream
sequence is the event sequence, the stream is the retention log, a consumer per bus feeds
`deliver`) implements the same protocol with `synchronous = False`: its `publish` only queues
the events and returns an `Ack`, which the bus waits for outside its lock.

Example:
    >>> from hookwire.runtime.bus.event import Event
    >>> got = []
    >>> t = InProcessTransport(retention=100)
    >>> t.attach(got.extend)
    >>> t.publish([Event("a"), Event("b")])
    >>> [(e.type, e.sequence) for e in got], t.next_sequence
    ([('a', 1), ('b', 2)], 3)
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable, Sequence
from typing import Protocol, TypeAlias, runtime_checkable

from hookwire.runtime.bus.event import Event
from hookwire.runtime.bus.event_run import EventRun
from hookwire.runtime.bus.retention import DEFAULT_RETENTION, RetentionLog
from hookwire.runtime.errors import FailedPrecondition

__all__ = ["Ack", "Deliver", "InProcessTransport", "Transport"]

Deliver = Callable[[Sequence[Event]], None]
#: Completes with the sequences of the published events once the transport has stored them
#: (or with the error that prevented it).
Ack: TypeAlias = "concurrent.futures.Future[list[int]]"


@runtime_checkable
class Transport(Protocol):
    """The ordering and retention layer under an EventBus."""

    #: True when `publish` calls `deliver` before returning, on the caller's thread, while the
    #: bus holds its lock; False when deliveries arrive later from the transport's own thread
    #: (such a transport must never call `deliver` from inside `publish`: the bus lock is held,
    #: nor from an event loop's thread: `deliver` may wait for BACKPRESSURE room).
    synchronous: bool

    def attach(self, deliver: Deliver) -> None:
        """Called once by the bus: where to hand sequenced events, in sequence order."""
        ...

    def publish(self, events: Sequence[Event]) -> Ack | None:
        """Take events in commit order (bus lock held: never wait on the network here).

        Events are validated and carry their final id and time. A synchronous transport gives
        each the next sequence (`event.sequence`), retains and delivers them, and returns
        None. An asynchronous one returns an `Ack` that sets `event.sequence` and completes
        once they are stored; it delivers them later, like events from other publishers."""
        ...

    def replay(self, from_sequence: int) -> list[Event]:
        """Retained events with sequence >= from_sequence; OutOfRange naming the oldest
        available when from_sequence is no longer held."""
        ...

    @property
    def next_sequence(self) -> int:
        """The sequence the next accepted event will get."""
        ...

    @property
    def oldest_retained(self) -> int:
        """The oldest sequence `replay` accepts."""
        ...

    def close(self) -> None:
        """Release resources; later publishes fail."""
        ...


def _nowhere(events: Sequence[Event]) -> None:
    return None


class InProcessTransport:
    """The default transport: a counter and a bounded in-memory log (default 10,000 events).

    Not locked itself: the bus calls it under its own lock (`synchronous = True`).
    """

    synchronous = True

    __slots__ = ("_closed", "_deliver", "log", "next_sequence")

    def __init__(self, retention: int = DEFAULT_RETENTION) -> None:
        self.log = RetentionLog(retention)
        self.next_sequence = 1
        # Until a bus attaches, events are only sequenced and retained.
        self._deliver: Deliver = _nowhere
        self._closed = False

    def attach(self, deliver: Deliver) -> None:
        if self._deliver is not _nowhere:
            raise FailedPrecondition("transport", "is already attached to a bus")
        self._deliver = deliver

    def publish(self, events: Sequence[Event]) -> None:
        if self._closed:
            raise FailedPrecondition("transport", "is closed")
        if events.__class__ is EventRun:
            # Sequenced and retained whole; its events are built when read.
            self.next_sequence = events.sequence_from(self.next_sequence)
            self.log.append_run(events)
        elif len(events) == 1:  # most publishes: no loop
            ev = events[0]
            ev.sequence = seq = self.next_sequence
            self.next_sequence = seq + 1
            append = self.log.append  # a bound method in a slot: called from a local
            append(ev)
        else:
            seq = self.next_sequence
            append = self.log.append
            for ev in events:
                ev.sequence = seq
                seq += 1
                append(ev)
            self.next_sequence = seq
        deliver = self._deliver  # a local: a call through the slot is not specialized
        deliver(events)

    def replay(self, from_sequence: int) -> list[Event]:
        return self.log.since(from_sequence, self.next_sequence)

    @property
    def oldest_retained(self) -> int:
        return self.log.oldest(self.next_sequence)

    def close(self) -> None:
        self._closed = True
