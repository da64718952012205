from __future__ import annotations

from collections.abc import Callable

from hookwire.runtime.bus import Backpressure, DropNewest, EventBus, Sample, SubscriptionStats
from hookwire.runtime.clock import VirtualClock
from hookwire.runtime.wire.bus import stats_to_proto


def test_every_counter_and_the_bus_totals(
    bus: EventBus, clock: VirtualClock, balanced: Callable[[EventBus], None]
) -> None:
    old = bus.subscribe("x", capacity=2)
    new = bus.subscribe("x", capacity=2, overflow=DropNewest())
    smp = bus.subscribe("x", capacity=2, overflow=Sample(rate=0.5, high_water_mark=0.5))
    bp = bus.subscribe("x", capacity=2, overflow=Backpressure(timeout_ns=0))
    for i in range(4):
        bus.publish("x", i, ttl_ns=10)
    balanced(bus)
    clock.advance(10)
    assert old.poll(1) == []  # both queued events expired: nothing to deliver
    bus.publish("x", 99)
    assert old.stats() == SubscriptionStats(
        received=5, delivered=0, queued=1, dropped_oldest=2, expired=2
    )
    assert new.stats() == SubscriptionStats(received=5, delivered=0, queued=2, dropped_newest=3)
    # smp: seq 1 queued (threshold 1), seq 2 admitted, 3 sampled out, 4 full, 5 sampled out
    assert smp.stats() == SubscriptionStats(received=5, queued=2, sampled_out=2, dropped_newest=1)
    assert bp.stats() == SubscriptionStats(received=5, queued=2, timed_out=3)
    assert [e.payload for e in old.poll()] == [99]
    old.close()
    stats = bus.stats()
    assert stats.published == 5
    assert stats.subscriptions == 3
    assert stats.totals.received == 20
    assert stats.totals.delivered == 1
    assert stats.totals.dropped == (2 + 2) + 3 + (2 + 1) + 3
    balanced(bus)


def test_closed_subscriptions_stay_in_the_bus_totals(bus: EventBus) -> None:
    sub = bus.subscribe("x")
    bus.publish("x")
    bus.publish("x")
    sub.close()
    before = bus.stats().totals
    assert (before.received, before.queued) == (2, 2)
    sub.poll()
    after = bus.stats().totals
    assert (after.received, after.delivered, after.queued) == (2, 2, 0)
    bus.subscribe("x")
    bus.publish("x")
    assert bus.stats().totals.received == 3


def test_stats_proto(bus: EventBus) -> None:
    sub = bus.subscribe("x", capacity=1)
    bus.publish("x")
    bus.publish("x")
    pb = stats_to_proto(sub.stats())
    assert (pb.received, pb.queued, pb.dropped_oldest) == (2, 1, 1)
