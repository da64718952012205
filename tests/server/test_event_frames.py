"""EventFrames: a stamped frame decodes exactly as the bus's published event."""

from __future__ import annotations

import asyncio

from hookwire.runtime.bus import Event, EventBus
from hookwire.runtime.clock import VirtualClock
from hookwire.runtime.server.event_frames import EventFrames
from hookwire.sdk import event
from hookwire.v1 import event_service_pb2 as bs


def _publish(bus: EventBus, pbs: list) -> list[Event]:  # type: ignore[type-arg]
    return asyncio.run(bus.apublish_batch([Event.from_proto(pb) for pb in pbs]))


def test_frames_decode_as_the_published_events() -> None:
    for clock in (VirtualClock(), VirtualClock(start_unix_ns=-5_500_000_000)):
        bus = EventBus(clock=clock)
        sub = bus.subscribe(">")
        pbs = [
            event("a.b", {"x": [1, 2.5, None, "s"], "big": 2**70}, metadata={"k": "v"}, ttl_s=5),
            event("c"),
            event("d", "x"),
        ]
        pbs[1].id = "given-id"
        pbs[1].time.seconds = 5
        published = _publish(bus, pbs)
        frames = EventFrames(capacity=2)  # the oldest frame is evicted: converted instead
        frames.remember(pbs, published)
        assert len(frames) == 2
        stats = bs.SubscriptionStats(received=3, delivered=3)
        batch = bs.EventBatch.FromString(frames.batch(list(sub), stats))
        assert list(batch.events) == [ev.to_proto() for ev in published]
        assert [e.sequence for e in batch.events] == [1, 2, 3]
        assert batch.events[1].id == "given-id" and batch.events[1].time.seconds == 5
        assert batch.stats == stats
