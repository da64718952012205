from __future__ import annotations

from collections.abc import Callable

import pytest
from hookwire.runtime.bus import Backpressure, DropNewest, EventBus
from hookwire.runtime.clock import VirtualClock
from hookwire.runtime.errors import InvalidArgument, OutOfRange


def test_ttl_is_checked_at_delivery(bus: EventBus, clock: VirtualClock) -> None:
    sub = bus.subscribe("x")
    bus.publish("x", "short", ttl_ns=100)
    bus.publish("x", "long", ttl_ns=1000)
    bus.publish("x", "forever")
    clock.advance(99)
    assert [e.payload for e in sub.poll(1)] == ["short"]  # alive while now < time + ttl
    bus.publish("x", "short2", ttl_ns=100)  # time = start + 99
    clock.advance(1)  # "long" is still alive, "short2" too (published 1 ns ago)
    clock.advance(999)  # now = start + 1099: long expired (1000), short2 expired (199)
    assert [e.payload for e in sub.poll()] == ["forever"]
    s = sub.stats()
    assert (s.delivered, s.expired) == (2, 2)


def test_ttl_relative_to_given_time(bus: EventBus, clock: VirtualClock) -> None:
    sub = bus.subscribe("x")
    now = clock.time_ns()
    bus.publish("x", 1, time_ns=now - 100, ttl_ns=100)  # already expired when delivered
    bus.publish("x", 2, time_ns=now - 100, ttl_ns=101)
    assert [e.payload for e in sub.poll()] == [2]
    assert sub.stats().expired == 1


def test_expired_events_are_not_given_to_callbacks(bus: EventBus, clock: VirtualClock) -> None:
    seen: list[int] = []
    sub = bus.subscribe("x", callback=lambda e: seen.append(e.payload))
    bus.publish("x", 1, ttl_ns=0)
    bus.publish("x", 2, ttl_ns=1)
    assert seen == [2]
    assert sub.stats().expired == 1


def test_resume_from_a_sequence(make_bus: Callable[..., EventBus]) -> None:
    bus = make_bus(retention=5)
    for i in range(1, 9):
        bus.publish("a" if i % 2 else "b", i)
    # retained: 4..8
    sub = bus.subscribe("a", from_sequence=5)
    bus.publish("a", 9)
    assert [e.sequence for e in sub.poll()] == [5, 7, 9]
    every = bus.subscribe(">", from_sequence=5)
    assert [e.sequence for e in every.poll()] == [5, 6, 7, 8, 9]
    with pytest.raises(OutOfRange) as info:
        bus.subscribe(">", from_sequence=3)
    assert info.value.code == "OUT_OF_RANGE"
    assert info.value.field == "from_sequence"
    assert "oldest available is 5" in str(info.value)  # 9 published, 5 kept: 5..9
    assert bus.stats().oldest_retained == 5
    nothing_yet = bus.subscribe(">", from_sequence=10)
    assert nothing_yet.poll() == []
    with pytest.raises(OutOfRange):
        bus.subscribe(">", from_sequence=11)
    assert len(bus.subscriptions()) == 3  # the refused ones were not registered


def test_default_retention_is_ten_thousand(bus: EventBus) -> None:
    bus.publish_many("x", list(range(10_001)))
    with pytest.raises(OutOfRange) as info:
        bus.subscribe("x", from_sequence=1)
    assert "oldest available is 2" in str(info.value)
    sub = bus.subscribe("x", from_sequence=2, capacity=20_000)
    assert len(sub.poll()) == 10_000


def test_replay_applies_the_overflow_strategy(make_bus: Callable[..., EventBus]) -> None:
    bus = make_bus()
    for i in range(5):
        bus.publish("x", i)
    dn = bus.subscribe("x", from_sequence=1, capacity=2, overflow=DropNewest())
    assert [e.payload for e in dn.poll()] == [0, 1]
    assert dn.stats().dropped_newest == 3
    # BACKPRESSURE cannot make anybody wait at subscribe time: the replay is queued whole and
    # publishers wait until the queue is below capacity again.
    bp = bus.subscribe("x", from_sequence=1, capacity=2, overflow=Backpressure(timeout_ns=0))
    assert len(bp) == 5
    bus.publish("x", 5)
    assert bp.stats().timed_out == 1
    assert [e.payload for e in bp.poll()] == [0, 1, 2, 3, 4]


def test_replay_to_a_callback(bus: EventBus) -> None:
    bus.publish("x", 1)
    seen: list[int] = []
    bus.subscribe("x", from_sequence=1, callback=lambda e: seen.append(e.payload))
    assert seen == [1]


def test_retention_argument(clock: VirtualClock, make_bus: Callable[..., EventBus]) -> None:
    with pytest.raises(InvalidArgument) as info:
        EventBus(clock=clock, retention=-1)
    assert info.value.field == "retention"
    bus = make_bus(retention=0)
    bus.publish("x")
    with pytest.raises(OutOfRange):
        bus.subscribe("x", from_sequence=1)
    assert bus.subscribe("x", from_sequence=2).poll() == []
