"""Events the bus builds when it publishes (every publish path) behave as Event instances:
equal to the Event made from the same fields, copyable, picklable, and `replace` works."""

from __future__ import annotations

import copy
import pickle

from hookwire.runtime.bus import Event, EventBus
from hookwire.runtime.clock import VirtualClock


def _published(bus: EventBus) -> list[Event]:
    sub = bus.subscribe("a.>")
    bus.publish("a.one", {"k": 1})  # the per-bus fast path (route not yet cached: general)
    bus.publish("a.one", {"k": 2})  # cached route: the fast path
    bus.publish("a.one", [1], ttl_ns=5)  # keyword fields: the general path
    bus.publish_many("a.many", [3, 4])
    bus.publish_event(Event("a.ev", "x", id="given"))
    return sub.poll()


def test_published_events_are_events_with_their_fields() -> None:
    clock = VirtualClock()
    bus = EventBus(clock=clock)
    events = _published(bus)
    assert [(e.type, e.payload, e.sequence) for e in events] == [
        ("a.one", {"k": 1}, 1),
        ("a.one", {"k": 2}, 2),
        ("a.one", [1], 3),
        ("a.many", 3, 4),
        ("a.many", 4, 5),
        ("a.ev", "x", 6),
    ]
    for ev in events:
        assert isinstance(ev, Event)
        same = Event(
            ev.type,
            ev.payload,
            id=ev.id,
            time_ns=ev.time_ns,
            sequence=ev.sequence,
            ttl_ns=ev.ttl_ns,
            attrs=ev.attrs,
        )
        assert ev == same and same == ev
        assert repr(ev).startswith("Event(type=")
    assert events[2].ttl_ns == 5
    assert events[5].id == "given"


def test_published_events_copy_pickle_and_replace() -> None:
    events = _published(EventBus(clock=VirtualClock()))
    for ev in events:
        assert copy.copy(ev) == ev
        assert copy.deepcopy(ev) == ev
        back = pickle.loads(pickle.dumps(ev))
        assert back == ev and back.id == ev.id and back.sequence == ev.sequence
        changed = ev.replace(payload="new")
        assert changed.payload == "new" and changed.type == ev.type
        assert changed.sequence == ev.sequence
