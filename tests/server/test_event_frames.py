"""EventFrames: a stamped frame decodes exactly as the bus's published event."""

from __future__ import annotations

import asyncio

from hookwire.runtime.bus import Event, EventBus
from hookwire.runtime.clock import VirtualClock
from hookwire.runtime.server.event_frames import EventFrames
from hookwire.runtime.wire.event import WireEvents, event_from_proto, event_to_proto
from hookwire.sdk import event
from hookwire.v1 import event_service_pb2 as bs


def _publish(bus: EventBus, pbs: list) -> list[Event]:  # type: ignore[type-arg]
    return asyncio.run(bus.apublish_batch([event_from_proto(pb) for pb in pbs]))


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
        assert list(batch.events) == [event_to_proto(ev) for ev in published]
        assert [e.sequence for e in batch.events] == [1, 2, 3]
        assert batch.events[1].id == "given-id" and batch.events[1].time.seconds == 5
        assert batch.stats == stats


def test_frames_of_events_published_over_the_wire_at_high_sequences() -> None:
    # Sequences whose varints take 1 to 5 bytes, events with and without payload/id/time.
    sequences = [1, 127, 128, 16_383, 16_384, 2**21 - 1, 2**21, 2**28 - 1, 2**28, 2**35]
    pbs = [event("a.b", {"i": s}) for s in sequences]
    published = [
        event_from_proto(pb).replace(sequence=s, id=f"id-{s}", time_ns=1_700_000_000_123 + s)
        for pb, s in zip(pbs, sequences, strict=True)
    ]
    frames = EventFrames(capacity=len(sequences))
    frames.remember(pbs, published)
    batch = bs.EventBatch.FromString(frames.batch(published, bs.SubscriptionStats()))
    assert list(batch.events) == [event_to_proto(ev) for ev in published]
    assert batch.events[-1].sequence == 2**35 and batch.events[4].id == "id-16384"


def test_events_published_with_apublish_read_frame_like_the_bus_copy() -> None:
    bus = EventBus(clock=VirtualClock(start_unix_ns=1_700_000_000_000_000_000))
    sub = bus.subscribe(">")
    pbs = [event("a.b", {"i": i, "s": "x" * i}) for i in range(3)] + [event("c")]
    published = asyncio.run(bus.apublish_read(lambda: WireEvents().read(pbs)))
    frames = EventFrames()
    frames.remember(pbs, published)
    batch = bs.EventBatch.FromString(frames.batch(list(sub), bs.SubscriptionStats()))
    assert list(batch.events) == [event_to_proto(ev) for ev in published]
    assert [e.payload.object_value.fields["i"].int_value for e in batch.events[:3]] == [0, 1, 2]
