from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from hookwire.runtime.bus import (
    Backpressure,
    DropNewest,
    DropOldest,
    Event,
    EventBus,
    OverflowStrategy,
    Sample,
)
from hookwire.runtime.clock import VirtualClock
from hookwire.runtime.errors import FailedPrecondition, InvalidArgument
from hookwire.runtime.wire.bus import overflow_from_proto, overflow_to_proto
from hookwire.v1 import event_service_pb2


def payloads(sub: Any) -> list[Any]:
    return [e.payload for e in sub.poll()]


def test_drop_oldest(bus: EventBus) -> None:
    sub = bus.subscribe("x", capacity=3, overflow=DropOldest())
    for i in range(5):
        bus.publish("x", i)
    s = sub.stats()
    assert (s.received, s.queued, s.dropped_oldest) == (5, 3, 2)
    assert payloads(sub) == [2, 3, 4]


def test_drop_oldest_is_the_default(bus: EventBus) -> None:
    sub = bus.subscribe("x", capacity=1)
    bus.publish("x", 1)
    bus.publish("x", 2)
    assert payloads(sub) == [2]
    assert sub.stats().dropped_oldest == 1


def test_drop_newest(bus: EventBus) -> None:
    sub = bus.subscribe("x", capacity=3, overflow=DropNewest())
    for i in range(5):
        bus.publish("x", i)
    assert sub.stats().dropped_newest == 2
    assert payloads(sub) == [0, 1, 2]


def test_one_slow_subscriber_does_not_affect_another(bus: EventBus) -> None:
    small = bus.subscribe("x", capacity=1, overflow=DropNewest())
    big = bus.subscribe("x", capacity=10)
    for i in range(4):
        bus.publish("x", i)
    assert payloads(small) == [0]
    assert payloads(big) == [0, 1, 2, 3]


def expected_sample(
    capacity: int, rate_num: int, rate_den: int, hwm_num: int, hwm_den: int, n: int
) -> tuple[list[int], int, int]:
    """The docs/semantics.md rule written out independently, for a consumer that never reads."""
    threshold = -(-hwm_num * capacity // hwm_den)  # ceil
    queued: list[int] = []
    sampled_out = dropped = 0
    for seq in range(1, n + 1):
        if len(queued) < threshold:
            queued.append(seq)
        elif not (seq * rate_num // rate_den > (seq - 1) * rate_num // rate_den):
            sampled_out += 1
        elif len(queued) >= capacity:
            dropped += 1
        else:
            queued.append(seq)
    return queued, sampled_out, dropped


@pytest.mark.parametrize(
    ("capacity", "rate", "num", "den", "hwm", "hn", "hd"),
    [
        (10, 0.5, 1, 2, 0.8, 4, 5),
        (10, 0.29, 29, 100, 0.8, 4, 5),  # 0.29 * 100 is 28.999999999999996 in binary
        (7, 0.1, 1, 10, 0.7, 7, 10),  # 0.7 * 10 is 7.000000000000001 in binary
        (5, 1, 1, 1, 0.8, 4, 5),
        (4, 0.25, 1, 4, 0.0, 0, 1),
        (4, 0.3, 3, 10, 1.0, 1, 1),
    ],
)
def test_sample_exactly_as_specified(
    bus: EventBus, capacity: int, rate: float, num: int, den: int, hwm: float, hn: int, hd: int
) -> None:
    sub = bus.subscribe("x", capacity=capacity, overflow=Sample(rate=rate, high_water_mark=hwm))
    n = 60
    for _ in range(n):
        bus.publish("x")
    queued, sampled_out, dropped = expected_sample(capacity, num, den, hn, hd, n)
    s = sub.stats()
    assert [e.sequence for e in sub.poll()] == queued
    assert (s.sampled_out, s.dropped_newest) == (sampled_out, dropped)


def test_sample_uses_the_bus_sequence_not_a_per_subscription_count(bus: EventBus) -> None:
    sub = bus.subscribe("x", capacity=2, overflow=Sample(rate=0.5, high_water_mark=0.5))
    for i in range(1, 9):
        bus.publish("x" if i % 2 else "y")  # x gets the odd sequences only
    # threshold 1: seq 1 queued; then odd seqs 3, 5, 7 all fail floor(seq/2) > floor((seq-1)/2)
    assert [e.sequence for e in sub.poll()] == [1]
    assert sub.stats().sampled_out == 3


def test_sample_when_consumer_keeps_up_queues_everything(bus: EventBus) -> None:
    sub = bus.subscribe("x", capacity=10, overflow=Sample(rate=0.1))
    got: list[int] = []
    for _ in range(50):
        bus.publish("x")
        got.extend(e.sequence for e in sub.poll())
    assert got == list(range(1, 51))


@pytest.mark.parametrize("rate", [0, -0.5, 1.5, math.nan, "0.5", True])
def test_sample_rate_outside_range(rate: Any) -> None:
    with pytest.raises(InvalidArgument) as info:
        Sample(rate=rate)
    assert info.value.field == "rate"


@pytest.mark.parametrize("hwm", [-0.1, 1.1, math.inf])
def test_sample_high_water_mark_outside_range(hwm: float) -> None:
    with pytest.raises(InvalidArgument) as info:
        Sample(rate=0.5, high_water_mark=hwm)
    assert info.value.field == "high_water_mark"


def test_backpressure_timeout_must_be_non_negative() -> None:
    with pytest.raises(InvalidArgument) as info:
        Backpressure(timeout_ns=-1)
    assert info.value.field == "timeout_ns"


def test_backpressure_sync_publisher_blocks_until_room(bus: EventBus) -> None:
    sub = bus.subscribe("x", capacity=2, overflow=Backpressure())
    other = bus.subscribe("x", capacity=1, overflow=DropNewest())
    done = threading.Event()
    sequences: list[int] = []

    def producer() -> None:
        for i in range(5):
            sequences.append(bus.publish("x", i))
        done.set()

    thread = threading.Thread(target=producer)
    thread.start()
    time.sleep(0.1)
    assert not done.is_set()  # blocked on the third event
    assert len(sub) == 2
    assert bus.next_sequence == 3  # the waiting event has no sequence yet
    got: list[int] = []
    while len(got) < 5:
        ev = sub.get(timeout=5)
        assert ev is not None
        got.append(ev.payload)
    thread.join(5)
    assert done.is_set()
    assert got == [0, 1, 2, 3, 4]
    assert sequences == [1, 2, 3, 4, 5]
    assert sub.stats().timed_out == 0
    assert other.stats().dropped_newest == 4


def test_backpressure_timeout_drops_for_that_subscriber_only(
    bus: EventBus, clock: VirtualClock
) -> None:
    slow = bus.subscribe("x", capacity=1, overflow=Backpressure(timeout_ns=50_000_000))
    fast = bus.subscribe("x", capacity=10)
    bus.publish("x", 1)
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(bus.publish("x", 2)))
    thread.start()
    time.sleep(0.05)
    assert result == []  # waiting: virtual time has not moved
    clock.advance_ms(49)
    time.sleep(0.05)
    assert result == []
    clock.advance_ms(1)
    thread.join(5)
    assert result == [2]
    assert slow.stats().timed_out == 1
    assert payloads(slow) == [1]
    assert payloads(fast) == [1, 2]


def test_backpressure_zero_timeout_drops_at_once(bus: EventBus) -> None:
    sub = bus.subscribe("x", capacity=1, overflow=Backpressure(timeout_ns=0))
    bus.publish("x", 1)
    bus.publish("x", 2)
    assert sub.stats().timed_out == 1
    assert payloads(sub) == [1]


def test_backpressure_async_publisher_awaits(bus: EventBus) -> None:
    sub = bus.subscribe("x", capacity=3, overflow=Backpressure())
    n = 200

    async def producer() -> list[int]:
        return [await bus.apublish("x", i) for i in range(n)]

    async def consumer() -> list[int]:
        out = []
        async for ev in sub:
            out.append(ev.payload)
            assert len(sub) <= 3
            if len(out) % 7 == 0:
                await asyncio.sleep(0)
            if len(out) == n:
                break
        return out

    async def main() -> tuple[list[int], list[int]]:
        return await asyncio.wait_for(asyncio.gather(producer(), consumer()), 10)

    seqs, got = asyncio.run(main())
    assert seqs == list(range(1, n + 1))
    assert got == list(range(n))
    assert sub.stats().timed_out == 0


def test_backpressure_async_timeout(bus: EventBus, clock: VirtualClock) -> None:
    slow = bus.subscribe("x", capacity=1, overflow=Backpressure(timeout_ns=10_000_000))

    async def main() -> int:
        await bus.apublish("x", 1)
        task = asyncio.create_task(bus.apublish("x", 2))
        await asyncio.sleep(0.03)
        assert not task.done()
        clock.advance_ms(10)
        return await asyncio.wait_for(task, 5)

    assert asyncio.run(main()) == 2
    assert slow.stats().timed_out == 1


def test_sync_publish_inside_a_running_loop_refuses_to_block(bus: EventBus) -> None:
    sub = bus.subscribe("x", capacity=1, overflow=Backpressure())
    bus.publish("x", 1)

    async def main() -> None:
        with pytest.raises(FailedPrecondition) as info:
            bus.publish("x", 2)
        assert "apublish" in str(info.value)

    asyncio.run(main())
    assert bus.next_sequence == 2  # nothing accepted
    assert payloads(sub) == [1]


def test_unsubscribing_releases_a_blocked_publisher(bus: EventBus) -> None:
    sub = bus.subscribe("x", capacity=1, overflow=Backpressure())
    bus.publish("x", 1)
    thread = threading.Thread(target=lambda: bus.publish("x", 2))
    thread.start()
    time.sleep(0.05)
    assert thread.is_alive()
    sub.close()
    thread.join(5)
    assert not thread.is_alive()
    assert bus.next_sequence == 3


def test_backpressure_batch_waits_between_events(make_bus: Callable[..., EventBus]) -> None:
    bus = make_bus()
    sub = bus.subscribe("x", capacity=2, overflow=Backpressure())
    result: list[list[int]] = []
    thread = threading.Thread(
        target=lambda: result.append(
            [e.sequence for e in bus.publish_batch([Event("x", i) for i in range(6)])]
        )
    )
    thread.start()
    got: list[int] = []
    while len(got) < 6:
        ev = sub.get(timeout=5)
        assert ev is not None
        got.append(ev.payload)
    thread.join(5)
    assert got == list(range(6))
    assert result == [[1, 2, 3, 4, 5, 6]]


def test_has_waiters_shows_a_blocked_publisher(bus: EventBus) -> None:
    sub = bus.subscribe("x", capacity=1, overflow=Backpressure())
    bus.publish("x", 1)
    assert not sub.has_waiters
    thread = threading.Thread(target=lambda: bus.publish("x", 2))
    thread.start()
    for _ in range(500):
        if sub.has_waiters:
            break
        time.sleep(0.001)
    assert sub.has_waiters
    assert payloads(sub) == [1]
    thread.join(5)
    assert not sub.has_waiters
    assert payloads(sub) == [2]


def test_batch_into_a_backpressure_callback_subscriber_does_not_deadlock(bus: EventBus) -> None:
    seen: list[int] = []
    bus.subscribe(
        "x", capacity=2, overflow=Backpressure(), callback=lambda e: seen.append(e.payload)
    )
    out = bus.publish_batch([Event("x", i) for i in range(7)])
    assert [e.sequence for e in out] == list(range(1, 8))
    assert seen == list(range(7))

    async def main() -> list[int]:
        return [e.sequence for e in await bus.apublish_batch([Event("x", i) for i in range(7, 12)])]

    assert asyncio.run(main()) == list(range(8, 13))
    assert seen == list(range(12))


def test_callback_publishing_into_its_own_full_backpressure_queue_is_refused(bus: EventBus) -> None:
    errors: list[str] = []

    seen: list[int] = []

    def cb(ev: Event) -> None:
        seen.append(ev.payload)
        if ev.payload == 0:
            try:
                bus.publish_batch([Event("x", 1), Event("x", 2)])  # capacity 1: would wait on us
            except FailedPrecondition as e:
                errors.append(str(e))
            bus.publish("x", 3)  # one fits: queued, delivered after this callback returns

    bus.subscribe("x", capacity=1, overflow=Backpressure(), callback=cb)
    bus.publish("x", 0)
    assert seen == [0, 3]
    assert len(errors) == 1 and "own full BACKPRESSURE" in errors[0]
    assert bus.next_sequence == 3  # the refused batch used no sequence


@pytest.mark.parametrize(
    "strategy",
    [
        DropOldest(),
        DropNewest(),
        Backpressure(),
        Backpressure(timeout_ns=1_500_000_001),
        Backpressure(timeout_ns=0),
        Sample(rate=0.25),
        Sample(rate=1, high_water_mark=0.5),
    ],
)
def test_overflow_proto_round_trip(strategy: OverflowStrategy) -> None:
    assert overflow_from_proto(overflow_to_proto(strategy)) == strategy


def test_overflow_proto_forms() -> None:
    assert (
        overflow_to_proto(Backpressure(timeout_ns=1_500_000_001)).backpressure.timeout.nanos
        == 500_000_001
    )
    assert not overflow_to_proto(Backpressure()).backpressure.HasField("timeout")
    assert overflow_from_proto(event_service_pb2.OverflowStrategy()) == DropOldest()
    pb = event_service_pb2.OverflowStrategy()
    pb.sample.rate = 0.5
    assert overflow_from_proto(pb) == Sample(rate=0.5, high_water_mark=0.8)
    pb.sample.rate = 0
    with pytest.raises(InvalidArgument) as info:
        overflow_from_proto(pb)
    assert info.value.field == "rate"
