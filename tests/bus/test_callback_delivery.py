"""Callback subscribers lose nothing by default: a synchronous callback is run by the
publishers, which make room in its queue by running it (Backpressure by default), and a
callback that raises affects only its own subscription."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

import pytest
from hookwire.runtime.bus import Backpressure, DropOldest, Event, EventBus


def test_a_publish_many_larger_than_the_capacity_reaches_the_callback_whole(
    make_bus: Callable[..., EventBus],
) -> None:
    bus = make_bus()
    seen: list[int] = []
    sub = bus.subscribe("m.*", callback=lambda ev: seen.append(ev.payload))
    assert sub.capacity == 1024
    sequences = bus.publish_many("m.x", list(range(5000)))
    assert seen == list(range(5000))
    assert sequences == list(range(1, 5001))  # one batch: consecutive sequences
    s = sub.stats()
    assert s.dropped == 0 and s.delivered == 5000


def test_batches_larger_than_the_capacity_reach_the_callback_whole(
    make_bus: Callable[..., EventBus],
) -> None:
    bus = make_bus()
    seen: list[int] = []
    bus.subscribe("m.*", capacity=8, callback=lambda ev: seen.append(ev.payload))
    bus.publish_batch([Event("m.x", i) for i in range(50)])

    async def main() -> None:
        await bus.apublish_batch([Event("m.y", i) for i in range(50, 100)])

    asyncio.run(main())
    assert seen == list(range(100))


def test_a_sync_batch_from_async_code_is_not_refused_for_a_callback_subscriber(
    make_bus: Callable[..., EventBus],
) -> None:
    # The publisher empties the callback subscription itself: it never waits for it.
    bus = make_bus()
    seen: list[int] = []
    bus.subscribe("m.*", capacity=4, callback=lambda ev: seen.append(ev.payload))

    async def main() -> None:
        bus.publish_many("m.x", list(range(20)))

    asyncio.run(main())
    assert seen == list(range(20))


def test_a_raising_callback_does_not_make_other_callbacks_lose_events(
    make_bus: Callable[..., EventBus],
) -> None:
    threads, per_thread = 4, 3000
    errors = [0]

    def slow_report(sub: object, ev: Event, exc: Exception) -> None:
        errors[0] += 1  # reporting takes time (a logged traceback does)
        for _ in range(200):
            pass

    bus = make_bus(on_callback_error=slow_report)

    def bad(ev: Event) -> None:
        raise RuntimeError("subscriber bug")

    counts = [0, 0]

    def good(i: int) -> Callable[[Event], None]:
        def cb(ev: Event) -> None:
            counts[i] += 1

        return cb

    bus.subscribe("t.*", callback=bad, capacity=16)
    first = bus.subscribe("t.*", callback=good(0), capacity=16)
    second = bus.subscribe("t.>", callback=good(1), capacity=16)
    start = threading.Barrier(threads)

    def publisher() -> None:
        start.wait()
        for i in range(per_thread):
            bus.publish("t.x", i)

    workers = [threading.Thread(target=publisher) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    total = threads * per_thread
    assert counts == [total, total]
    assert first.stats().dropped == 0 and second.stats().dropped == 0
    assert errors[0] == total


def test_an_explicit_strategy_is_kept(make_bus: Callable[..., EventBus]) -> None:
    bus = make_bus()
    sub = bus.subscribe("m.*", capacity=4, overflow=DropOldest(), callback=print)
    assert sub.overflow == DropOldest()
    default = bus.subscribe("m.*", callback=print)
    assert default.overflow == Backpressure()
    assert bus.subscribe("m.*").overflow == DropOldest()


def test_a_callback_that_raises_a_base_exception_releases_the_others(
    make_bus: Callable[..., EventBus],
) -> None:
    bus = make_bus()
    seen: list[int] = []

    def stop(ev: Event) -> None:
        if ev.payload == 0:
            raise KeyboardInterrupt

    bus.subscribe("k", callback=stop)
    bus.subscribe("k", callback=lambda ev: seen.append(ev.payload))
    with pytest.raises(KeyboardInterrupt):
        bus.publish("k", 0)
    bus.publish("k", 1)
    # The interrupted delivery left event 0 queued for the second subscriber; it comes first.
    assert seen == [0, 1]
