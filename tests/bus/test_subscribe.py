from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

import pytest
from hookwire.runtime.bus import Event, EventBus, Subscription
from hookwire.runtime.errors import InvalidArgument


def test_fan_out_to_every_matching_subscription(bus: EventBus) -> None:
    a = bus.subscribe("tool.*")
    b = bus.subscribe("tool.>", "agent.*")  # several patterns: an event matching any of them
    c = bus.subscribe("agent.started")
    both = bus.subscribe("tool.*", "tool.invoked")  # matching twice still delivers once
    bus.publish("tool.invoked")
    bus.publish("agent.started")
    bus.publish("tool.x.y")
    bus.publish("other")
    assert [e.sequence for e in a] == [1]
    assert [e.sequence for e in b] == [1, 2, 3]
    assert [e.sequence for e in c] == [2]
    assert [e.sequence for e in both] == [1]


def test_callback_iterator_and_async_iterator(bus: EventBus) -> None:
    seen: list[int] = []
    bus.subscribe("x", callback=lambda e: seen.append(e.payload))
    it = bus.subscribe("x")
    aio = bus.subscribe("x")
    for i in range(3):
        bus.publish("x", i)
    assert seen == [0, 1, 2]
    assert [e.payload for e in it] == [0, 1, 2]
    assert list(it) == []  # drained

    async def consume() -> list[int]:
        out = []
        async for ev in aio:
            out.append(ev.payload)
            if ev.payload == 4:
                aio.close()
        return out

    async def main() -> list[int]:
        task = asyncio.create_task(consume())
        await asyncio.sleep(0)
        bus.publish("x", 3)
        await asyncio.sleep(0)
        bus.publish("x", 4)
        return await asyncio.wait_for(task, 5)

    assert asyncio.run(main()) == [0, 1, 2, 3, 4]


def test_async_iteration_ends_when_unsubscribed(bus: EventBus) -> None:
    sub = bus.subscribe("x")

    async def main() -> list[Event]:
        async def consume() -> list[Event]:
            return [ev async for ev in sub]

        task = asyncio.create_task(consume())
        await asyncio.sleep(0)
        bus.publish("x", 1)
        bus.unsubscribe(sub)
        bus.publish("x", 2)  # not queued any more
        return await asyncio.wait_for(task, 5)

    assert [e.payload for e in asyncio.run(main())] == [1]
    assert sub.closed


def test_unsubscribe_keeps_queued_events_readable(bus: EventBus) -> None:
    sub = bus.subscribe("x")
    bus.publish("x", 1)
    sub.close()
    sub.close()  # idempotent
    bus.publish("x", 2)
    assert [e.payload for e in sub.poll()] == [1]
    assert sub.stats().received == 1
    assert bus.stats().subscriptions == 0
    other = EventBus()
    with pytest.raises(InvalidArgument):
        other.unsubscribe(sub)


def test_order_is_the_same_for_every_subscriber_even_when_callbacks_publish(bus: EventBus) -> None:
    orders: dict[str, list[int]] = {"a": [], "b": [], "c": []}

    def a(ev: Event) -> None:
        orders["a"].append(ev.sequence)
        if ev.type == "root":
            bus.publish("child", 1)  # re-entrant publish from inside a delivery
            bus.publish("child", 2)

    bus.subscribe(">", callback=a)
    bus.subscribe(">", callback=lambda ev: orders["b"].append(ev.sequence))
    c = bus.subscribe(">")
    bus.publish("root")
    bus.publish("after")
    orders["c"] = [e.sequence for e in c]
    assert orders["a"] == orders["b"] == orders["c"] == [1, 2, 3, 4]


def test_callback_errors_are_counted_and_reported_not_raised(
    make_bus: Callable[..., EventBus],
) -> None:
    reported: list[tuple[Subscription, Event, Exception]] = []
    bus = make_bus(on_callback_error=lambda s, e, x: reported.append((s, e, x)))

    def boom(ev: Event) -> None:
        if ev.payload == 1:
            raise ValueError("subscriber bug")

    sub = bus.subscribe("x", callback=boom)
    assert bus.publish("x", 1) == 1
    assert bus.publish("x", 2) == 2
    s = sub.stats()
    assert (s.delivered, s.callback_errors) == (2, 1)
    assert len(reported) == 1 and reported[0][1].payload == 1
    assert isinstance(reported[0][2], ValueError)


def test_bad_subscribe_arguments(bus: EventBus) -> None:
    for capacity in (0, -1, 1.5, True):
        with pytest.raises(InvalidArgument) as info:
            bus.subscribe("x", capacity=capacity)  # type: ignore[arg-type]
        assert info.value.field == "capacity"

    async def coro(ev: Event) -> None:
        return None

    with pytest.raises(InvalidArgument) as info:
        bus.subscribe("x", callback=coro)
    assert info.value.field == "callback"
    with pytest.raises(InvalidArgument) as info:
        bus.subscribe("x", overflow="drop")  # type: ignore[arg-type]
    assert info.value.field == "overflow"
    with pytest.raises(InvalidArgument) as info:
        bus.subscribe("x", from_sequence=-1)
    assert info.value.field == "from_sequence"
    with pytest.raises(InvalidArgument) as info:
        bus.subscribe("x").poll(0)
    assert info.value.field == "max_events"
    assert len(bus.subscriptions()) == 1


def test_blocking_get_from_another_thread(bus: EventBus) -> None:
    sub = bus.subscribe("x")
    got: list[int] = []

    def consumer() -> None:
        for ev in sub.events():
            got.append(ev.payload)

    thread = threading.Thread(target=consumer)
    thread.start()
    for i in range(100):
        bus.publish("x", i)
    deadline = 0
    while len(got) < 100 and deadline < 500:
        threading.Event().wait(0.01)
        deadline += 1
    sub.close()
    thread.join(5)
    assert not thread.is_alive()
    assert got == list(range(100))


def test_get_times_out_on_the_bus_clock(bus: EventBus) -> None:
    sub = bus.subscribe("x")
    assert sub.get(timeout=0) is None
    with pytest.raises(InvalidArgument) as info:
        sub.get(timeout=-1)
    assert info.value.field == "timeout"


def test_next_batch(bus: EventBus) -> None:
    sub = bus.subscribe("x")
    for i in range(5):
        bus.publish("x", i)

    async def main() -> tuple[list[int], list[int], list[Event]]:
        a = [e.payload for e in await sub.next_batch(3)]
        b = [e.payload for e in await sub.next_batch(3)]
        c = await sub.next_batch(3, timeout=0)
        return a, b, c

    assert asyncio.run(main()) == ([0, 1, 2], [3, 4], [])


def test_next_batch_timeout_runs_on_the_bus_clock(
    make_bus: Callable[..., EventBus],
) -> None:
    from hookwire.runtime.clock import VirtualClock

    clock = VirtualClock()
    bus = make_bus(clock=clock)
    sub = bus.subscribe("x")

    async def main() -> list[Event]:
        task = asyncio.create_task(sub.next_batch(10, timeout=0.05))
        await asyncio.sleep(0.05)  # several real wait slices, virtual time still
        assert not task.done()
        clock.advance_ms(50)
        return await asyncio.wait_for(task, 5)

    assert asyncio.run(main()) == []
    assert sub._afuts == []
    assert not sub.has_waiters
