"""EventRun: events of one type published together, whose Event objects are built when read.

The executor tells the bus about every execution: one `hookwire.hook.executed` event per hook
(`EventBus.emit_batch`). Most of them are never read one by one: nobody subscribes to them, or
only a replay after a reconnect does. An `EventRun` carries such a batch through the bus's one
commit path as one object: it is admitted, stamped (ids and time), sequenced, retained and
fanned out whole, and its events exist once something reads them (a subscription taking them,
a replay, an encoder). They are then ordinary Events, equal to what `EventBus.emit` publishes:
event `i` has sequence `sequence + i`, id number `idn + i`, the run's attributes, payload
`payloads[i]` (a sequence that may itself build each payload on first read), and the run's
time, unless its payloads are `JsonPayloads` giving each event a time of its own (`times()`:
the executor's events are timed at the end of their execution).

Invariants the bus keeps (pinned by tests/bus/test_event_run.py): sequences and ids are
consecutive and the same as for events published one by one; the retention log counts every
event of a run; stats count a run as `len(run)` events; a resume from inside a run replays
exactly its remaining events.

Example:
    >>> from hookwire.runtime.bus.event import NO_ATTRS
    >>> run = EventRun("a.b", [{"n": 1}, {"n": 2}], NO_ATTRS)
    >>> run.sequence_from(7)
    9
    >>> [(e.sequence, e.payload) for e in run]
    [(7, {'n': 1}), (8, {'n': 2})]
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, overload

from hookwire.runtime.bus.event import Event, EventAttrs, IdSource
from hookwire.runtime.events import JsonPayloads

__all__ = ["EventRun"]


class EventRun(Sequence[Event]):
    """A batch of events of one type sharing attributes, built on first read (see the module
    docstring). Not thread-safe by itself: the bus stamps, sequences and reads it under its
    lock, and hands out only the built events."""

    __slots__ = (
        "_events",
        "_idn",
        "_ids",
        "_payloads",
        "attrs",
        "built",
        "n",
        "sequence",
        "time_ns",
        "type",
    )

    def __init__(
        self, type: str, payloads: Sequence[Any] | JsonPayloads, attrs: EventAttrs
    ) -> None:
        self.type = type
        self.attrs = attrs
        self.n = len(payloads)
        self.sequence = 0
        self.time_ns: int | None = None
        self._payloads: Sequence[Any] | JsonPayloads | None = payloads
        self._ids: IdSource | None = None
        self._idn = 0
        self._events: list[Event] | None = None
        # Whether its events exist (something read them).
        self.built = False

    def __len__(self) -> int:
        return self.n

    def stamp(self, ids: IdSource, idn: int, now: int) -> int:
        """Give the unbuilt events the id numbers idn, idn+1, ... and the time `now`, as the
        bus's commit gives each event (a built run's events are stamped one by one there);
        returns the next id number."""
        assert not self.built
        self._ids = ids
        self._idn = idn
        self.time_ns = now
        return idn + self.n

    def sequence_from(self, sequence: int) -> int:
        """Give the events the sequences from `sequence` on; returns the next one."""
        self.sequence = sequence
        events = self._events
        if events is not None:
            for ev in events:
                ev.sequence = sequence
                sequence += 1
            return sequence
        return sequence + self.n

    def events(self) -> list[Event]:
        """The run's events (built on the first call, the same objects afterwards)."""
        events = self._events
        if events is None:
            payloads = self._payloads
            assert payloads is not None
            events = []
            append = events.append
            unsequenced = Event.unsequenced
            ids: IdSource | str = "" if self._ids is None else self._ids
            idn = self._idn
            seq = self.sequence
            etype, attrs, time_ns = self.type, self.attrs, self.time_ns
            times = payloads.times() if isinstance(payloads, JsonPayloads) else None
            for i in range(self.n):
                ev = unsequenced(
                    etype,
                    payloads[i],
                    attrs,
                    ids,
                    time_ns if times is None else times[i],
                    None,
                    idn + i,
                )
                if seq:
                    ev.sequence = seq + i
                append(ev)
            self._events = events
            self.built = True
            self._payloads = None
        return events

    def event_at(self, sequence: int) -> Event:
        """The run's event with `sequence` (the run is sequenced)."""
        return self.events()[sequence - self.sequence]

    @overload
    def __getitem__(self, i: int) -> Event: ...

    @overload
    def __getitem__(self, i: slice) -> list[Event]: ...

    def __getitem__(self, i: int | slice) -> Event | list[Event]:
        return self.events()[i]

    def __iter__(self) -> Iterator[Event]:
        return iter(self.events())

    def __repr__(self) -> str:
        return f"EventRun({self.type!r}, {self.n} events from sequence {self.sequence})"
