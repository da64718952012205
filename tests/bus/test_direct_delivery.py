"""The sole-callback-subscriber fast path of `publish`: an idle callback subscriber is handed
the event without queueing it. These pin the cases where it must behave exactly like queueing
and draining: re-entrant publishes, raising callbacks, interrupts, and other consumers."""

from __future__ import annotations

import asyncio
import threading

import pytest
from hookwire.runtime.bus import Event, EventBus


def test_callback_that_publishes_to_itself_sees_events_in_sequence_order(bus: EventBus) -> None:
    seen: list[tuple[int, str]] = []

    def on(ev: Event) -> None:
        seen.append((ev.sequence, ev.type))
        if ev.type == "a.root":
            # Queued while the first delivery runs; delivered after it, in order.
            assert bus.publish("a.child", 1) == 2
            assert bus.publish("a.child", 2) == 3
            assert [s for s, _ in seen] == [1]

    sub = bus.subscribe("a.>", callback=on)
    assert bus.publish("a.root") == 1
    assert seen == [(1, "a.root"), (2, "a.child"), (3, "a.child")]
    assert bus.publish("a.after") == 4
    assert seen[-1] == (4, "a.after")
    s = sub.stats()
    assert (s.received, s.delivered, s.queued) == (4, 4, 0)


def test_a_raising_callback_is_counted_and_the_next_event_still_delivered(
    bus: EventBus,
) -> None:
    got: list[int] = []

    def on(ev: Event) -> None:
        got.append(ev.payload)
        if ev.payload == 1:
            raise RuntimeError("subscriber bug")

    sub = bus.subscribe("x", callback=on)
    assert [bus.publish("x", i) for i in (1, 2, 3)] == [1, 2, 3]
    assert got == [1, 2, 3]
    s = sub.stats()
    assert (s.delivered, s.callback_errors, s.queued) == (3, 1, 0)


def test_a_base_exception_from_a_callback_reaches_the_publisher_and_does_not_wedge(
    bus: EventBus,
) -> None:
    got: list[int] = []

    def on(ev: Event) -> None:
        got.append(ev.payload)
        if ev.payload == 1:
            raise KeyboardInterrupt

    bus.subscribe("x", callback=on)
    with pytest.raises(KeyboardInterrupt):
        bus.publish("x", 1)
    # The subscription is not left "draining": later events reach the callback.
    bus.publish("x", 2)
    assert got == [1, 2]


def test_events_published_by_another_thread_during_a_callback_are_delivered_after_it(
    bus: EventBus,
) -> None:
    seen: list[int] = []
    entered = threading.Event()
    release = threading.Event()

    def on(ev: Event) -> None:
        seen.append(ev.sequence)
        if ev.sequence == 1:
            entered.set()
            assert release.wait(5)

    sub = bus.subscribe("x", callback=on)
    first = threading.Thread(target=bus.publish, args=("x",))
    first.start()
    assert entered.wait(5)
    # The first thread is inside the callback: this publish only queues (one drainer at a
    # time), and the first thread delivers it once its callback returns.
    assert bus.publish("x") == 2
    assert seen == [1]
    release.set()
    first.join(5)
    assert seen == [1, 2]
    assert sub.stats().queued == 0


def test_a_consumer_waiting_on_a_callback_subscription_keeps_the_queueing_path(
    bus: EventBus,
) -> None:
    seen: list[int] = []
    sub = bus.subscribe("x", callback=lambda ev: seen.append(ev.sequence))

    async def main() -> list[Event]:
        waiter = asyncio.ensure_future(sub.next_batch(10))
        await asyncio.sleep(0)
        assert sub.has_waiters
        # Published from another thread, as a sync publish from the loop's own thread would
        # be; the waiter is woken and whoever takes the event first gets it, exactly once.
        await asyncio.get_running_loop().run_in_executor(None, bus.publish, "x")
        done, _ = await asyncio.wait({waiter}, timeout=0.2)
        if not done:
            waiter.cancel()
            return []
        return waiter.result()

    taken = asyncio.run(main())
    assert len(taken) + len(seen) == 1
    s = sub.stats()
    assert (s.received, s.delivered, s.queued) == (1, 1, 0)
