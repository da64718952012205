"""EventFrames.remember_encoded: the frames of a batch published from its bytes decode exactly
as the bus's published events (ids and times stamped only where the publisher gave none)."""

from __future__ import annotations

import asyncio

from hookwire.runtime.bus import Event, EventBus
from hookwire.runtime.clock import VirtualClock
from hookwire.runtime.server.event_frames import EventFrames
from hookwire.runtime.wire.bus_publish import read_batch
from hookwire.runtime.wire.event import event_to_proto
from hookwire.sdk import event
from hookwire.v1 import event_service_pb2 as bs


def test_encoded_frames_decode_as_the_published_events() -> None:
    bus = EventBus(clock=VirtualClock(start_unix_ns=1_700_000_000_000_000_123))
    sub = bus.subscribe(">")
    pbs = [event("a.b", {"i": i, "s": "x" * (i * 70)}) for i in range(4)]  # 1- and 2-byte lengths
    pbs += [event("c"), event("d", "y", metadata={"k": "v"}, ttl_s=60)]
    pbs[1].id = "given-id"
    pbs[2].time.seconds = 5
    encoded = bs.PublishRequest(events=pbs).SerializeToString()
    batch = asyncio.run(bus.apublish_read(lambda: read_batch(encoded)))
    # A callback (or anyone) may read an id before the frames are made: same frame.
    assert batch.events[3].id
    frames = EventFrames()
    frames.remember_encoded(batch)
    got = bs.EventBatch.FromString(frames.batch(list(sub), bs.SubscriptionStats(delivered=6)))
    assert list(got.events) == [event_to_proto(ev) for ev in batch.events]
    assert [e.sequence for e in got.events] == [1, 2, 3, 4, 5, 6]
    assert got.events[1].id == "given-id" and got.events[2].time.seconds == 5
    assert got.events[0].time.nanos == 123 and len(got.events[0].id) == 36
    assert got.stats.delivered == 6


def test_evicted_frames_are_converted_and_times_before_1970_frame_exactly() -> None:
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
        encoded = bs.PublishRequest(events=pbs).SerializeToString()
        batch = asyncio.run(bus.apublish_read(lambda e=encoded: read_batch(e)))  # type: ignore[misc]
        frames = EventFrames(capacity=2)  # the oldest frame is evicted: converted instead
        frames.remember_encoded(batch)
        assert len(frames) == 2
        stats = bs.SubscriptionStats(received=3, delivered=3)
        got = bs.EventBatch.FromString(frames.batch(list(sub), stats))
        assert list(got.events) == [event_to_proto(ev) for ev in batch.events]
        assert [e.sequence for e in got.events] == [1, 2, 3]
        assert got.events[1].id == "given-id" and got.events[1].time.seconds == 5
        assert got.stats == stats


def test_encoded_frames_at_sequences_of_every_varint_size() -> None:
    bus = EventBus(clock=VirtualClock(start_unix_ns=1_700_000_000_000_000_000))
    frames = EventFrames(capacity=4)
    for target in (127, 128, 16_384, 2**21):
        # Move the bus to `target` cheaply, then publish one encoded event there.
        bus.publish_many("skip", [None] * (target - bus.next_sequence))
        encoded = bs.PublishRequest(events=[event("a.b", {"t": target})]).SerializeToString()
        batch = asyncio.run(bus.apublish_read(lambda e=encoded: read_batch(e)))  # type: ignore[misc]
        frames.remember_encoded(batch)
        [ev] = batch.events
        assert ev.sequence == target
        decoded = bs.EventBatch.FromString(frames.batch([ev], bs.SubscriptionStats()))
        assert list(decoded.events) == [event_to_proto(ev)]
    assert len(frames) == 4


def test_a_plain_event_without_a_frame_is_converted() -> None:
    frames = EventFrames()
    ev = Event("a.b", {"x": 1}, sequence=3, id="e3", time_ns=0)
    got = bs.EventBatch.FromString(frames.batch([ev], bs.SubscriptionStats()))
    assert list(got.events) == [event_to_proto(ev)]
