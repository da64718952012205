"""The executor's `hookwire.hook.executed` events on an EventBus that nothing can tell them on
are committed in bulk, later; every guarantee a reader relies on still holds.

Each test reads the in-process transport directly (`transport.next_sequence`), which is not
an observation point of the bus, to see whether events were deferred or committed."""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Sequence
from typing import Any

import pytest
from hookwire.runtime.breaker import BreakerConfig
from hookwire.runtime.bus import EventBus
from hookwire.runtime.bus.event import Event
from hookwire.runtime.bus.transport import InProcessTransport
from hookwire.runtime.clock import VirtualClock
from hookwire.runtime.context import HookContext
from hookwire.runtime.executor import Executor
from hookwire.runtime.monitor import PerformanceMonitor
from hookwire.runtime.observer import DRAIN_EVERY
from hookwire.runtime.registry import Registry

P = "before_tool_execution"
EXECUTED = "hookwire.hook.executed"


def _setup(
    clock: VirtualClock | None = None, hooks: int = 2, **bus_args: Any
) -> tuple[Executor, EventBus, InProcessTransport]:
    clock = clock or VirtualClock()
    reg = Registry(clock=clock)
    for i in range(hooks):
        reg.register(lambda ctx: clock.advance(1000), name=f"h{i}", point=P, priority=i)
    transport = bus_args.pop("transport", None) or InProcessTransport()
    bus = EventBus(clock=clock, transport=transport, **bus_args)
    return Executor(reg, clock=clock, events=bus), bus, transport


def _run(ex: Executor, n: int = 1) -> None:
    for i in range(n):
        ex.execute(P, HookContext(P, {"i": i}))


def test_events_are_deferred_while_nothing_can_tell() -> None:
    ex, bus, transport = _setup()
    _run(ex, 3)
    assert transport.next_sequence == 1  # nothing committed yet
    assert bus.next_sequence == 7  # a read commits them first: 3 executions x 2 hooks


def test_sequence_order_is_execution_order_across_other_publishes() -> None:
    ex, bus, _t = _setup()
    _run(ex)
    assert bus.publish("app.step", {"n": 1}) == 3  # after the execution's two events
    _run(ex)
    bus.emit("app.emitted", {"n": 2})
    _run(ex)
    events = bus.retained(1)
    assert [(e.sequence, e.type) for e in events] == [
        (1, EXECUTED),
        (2, EXECUTED),
        (3, "app.step"),
        (4, EXECUTED),
        (5, EXECUTED),
        (6, "app.emitted"),
        (7, EXECUTED),
        (8, EXECUTED),
    ]
    assert [e.payload["hook"] for e in events if e.type == EXECUTED] == ["h0", "h1"] * 3


def test_an_event_published_inside_a_hook_comes_after_the_earlier_executions() -> None:
    clock = VirtualClock()
    reg = Registry(clock=clock)
    bus = EventBus(clock=clock)
    reg.register(lambda ctx: None, name="quiet", point=P, priority=1)
    reg.register(lambda ctx: bus.publish("app.inside"), name="talks", point=P, priority=2)
    ex = Executor(reg, clock=clock, events=bus)
    _run(ex, 2)
    types = [
        (e.type, e.payload.get("hook") if e.type == EXECUTED else None) for e in bus.retained(1)
    ]
    assert types == [
        ("app.inside", None),
        (EXECUTED, "quiet"),
        (EXECUTED, "talks"),
        ("app.inside", None),
        (EXECUTED, "quiet"),
        (EXECUTED, "talks"),
    ]


def test_breaker_transitions_keep_their_place_among_executions() -> None:
    clock = VirtualClock()
    reg = Registry(clock=clock)

    def boom(ctx: HookContext) -> None:
        raise RuntimeError("down")

    reg.register(boom, name="b", point=P, breaker=BreakerConfig(window_size=2, minimum_calls=2))
    bus = EventBus(clock=clock)
    ex = Executor(reg, clock=clock, events=bus)
    _run(ex, 3)
    assert [e.type for e in bus.retained(1)] == [
        EXECUTED,
        "hookwire.breaker.opened",  # during the second execution, before its event
        EXECUTED,
        EXECUTED,
    ]


@pytest.mark.parametrize(
    "read",
    [
        lambda bus: [e.sequence for e in bus.subscribe(">", from_sequence=1).poll()],
        lambda bus: [e.sequence for e in bus.retained(1)],
        lambda bus: list(range(1, bus.stats().published + 1)),
        lambda bus: list(range(1, bus.position + 1)),
        lambda bus: list(range(1, bus.next_sequence)),
    ],
    ids=["replay", "retained", "stats", "position", "next_sequence"],
)
def test_every_read_sees_every_event(read: Any) -> None:
    ex, bus, _t = _setup()
    _run(ex, 5)
    assert read(bus) == list(range(1, 11))


def test_close_commits_what_was_deferred_and_later_executions_count_as_sink_errors() -> None:
    ex, bus, transport = _setup()
    _run(ex, 2)
    bus.close()
    assert transport.next_sequence == 5
    assert [e.payload["hook"] for e in transport.replay(1)] == ["h0", "h1"] * 2
    _run(ex)
    assert ex.sink_errors == 1  # the closed bus refuses the next execution's events at once


def test_event_time_is_the_end_of_its_execution_not_the_commit() -> None:
    clock = VirtualClock()
    ex, bus, _t = _setup(clock)
    _run(ex)  # two hooks of 1 us each
    end_of_first = clock.time_ns()
    clock.advance(5_000_000_000)
    _run(ex)
    end_of_second = clock.time_ns()
    clock.advance(7_000_000_000)  # the commit happens at this read, much later
    times = [e.time_ns for e in bus.retained(1)]
    assert times == [end_of_first] * 2 + [end_of_second] * 2


def test_a_matching_subscription_means_immediate_commit() -> None:
    ex, bus, transport = _setup()
    _run(ex)
    seen: list[int] = []
    bus.subscribe("hookwire.hook.*", callback=lambda ev: seen.append(ev.sequence))
    assert transport.next_sequence == 3  # subscribing committed the pending execution first
    assert seen == []  # ... before the subscription existed
    _run(ex)
    assert transport.next_sequence == 5 and seen == [3, 4]  # right after the execution


def test_a_polled_matching_subscription_gets_events_without_any_bus_read() -> None:
    ex, bus, _t = _setup()
    sub = bus.subscribe(EXECUTED)
    _run(ex)
    assert [e.payload["hook"] for e in sub.poll()] == ["h0", "h1"]


def test_deferral_resumes_when_the_matching_subscription_goes() -> None:
    ex, bus, transport = _setup()
    sub = bus.subscribe(">")
    _run(ex)
    assert transport.next_sequence == 3
    bus.unsubscribe(sub)
    _run(ex)
    assert transport.next_sequence == 3  # deferred again
    assert bus.next_sequence == 5


def test_a_subscription_to_other_events_does_not_stop_deferral() -> None:
    ex, bus, transport = _setup()
    other = bus.subscribe("app.*")
    _run(ex)
    assert transport.next_sequence == 1
    bus.publish("app.x")
    assert [e.sequence for e in other.poll()] == [3]  # after the deferred execution's events


def test_a_rate_limited_bus_commits_at_once() -> None:
    ex, _bus, transport = _setup(rate_limit=(1_000.0, 100))
    _run(ex)
    assert transport.next_sequence == 3


class _AsyncTransport:
    """An asynchronous transport (as NATS JetStream is): acknowledges later, delivers from
    its own side. Stores what it is given."""

    synchronous = False

    def __init__(self) -> None:
        self.stored: list[Event] = []
        self.next_sequence = 1

    def attach(self, deliver: Any) -> None:
        self.deliver = deliver

    def publish(self, events: Sequence[Event]) -> concurrent.futures.Future[list[int]]:
        seqs = []
        for ev in events:
            ev.sequence = self.next_sequence
            self.next_sequence += 1
            self.stored.append(ev)
            seqs.append(ev.sequence)
        ack: concurrent.futures.Future[list[int]] = concurrent.futures.Future()
        ack.set_result(seqs)
        return ack

    def replay(self, from_sequence: int) -> list[Event]:
        return [e for e in self.stored if e.sequence >= from_sequence]

    @property
    def oldest_retained(self) -> int:
        return 1

    def close(self) -> None:
        pass


def test_an_asynchronous_transport_gets_each_execution_at_once() -> None:
    transport = _AsyncTransport()
    ex, _bus, _t = _setup(transport=transport)
    _run(ex)
    assert [e.payload["hook"] for e in transport.stored] == ["h0", "h1"]


def test_two_executors_on_one_bus_commit_each_execution_at_once() -> None:
    ex, bus, transport = _setup()
    _run(ex)
    other = Executor(ex.registry, clock=ex.clock, events=bus)
    assert transport.next_sequence == 3  # the first one's pending execution went first
    other.execute(P, HookContext(P))
    ex.execute(P, HookContext(P))
    assert transport.next_sequence == 7


def test_the_buffer_is_bounded() -> None:
    ex, bus, transport = _setup(hooks=1)
    _run(ex, DRAIN_EVERY - 1)
    assert transport.next_sequence == 1
    _run(ex)
    assert transport.next_sequence == DRAIN_EVERY + 1  # committed without any read
    _run(ex)
    assert transport.next_sequence == DRAIN_EVERY + 1
    assert bus.next_sequence == DRAIN_EVERY + 2


def test_the_monitor_sees_every_execution_the_bus_holds_back() -> None:
    monitor = PerformanceMonitor()
    clock = VirtualClock()
    reg = Registry(clock=clock)
    reg.register(lambda ctx: clock.advance(1000), name="a", point=P)
    bus = EventBus(clock=clock)
    ex = Executor(reg, clock=clock, monitor=monitor, events=bus)
    _run(ex, 3)
    assert monitor.stats("a").count == 3
    assert bus.next_sequence == 4  # and the bus still commits them, once each


def test_async_executions_are_deferred_and_ordered_too() -> None:
    import asyncio

    ex, bus, _t = _setup()

    async def main() -> None:
        for _ in range(2):
            await ex.aexecute(P, HookContext(P))
            await bus.apublish("app.step")

    asyncio.run(main())
    assert [e.type for e in bus.retained(1)] == [EXECUTED, EXECUTED, "app.step"] * 2


def test_threads_lose_nothing_and_keep_each_execution_together() -> None:
    ex, bus, _t = _setup(hooks=3)
    per_thread = 400

    def work() -> None:
        for i in range(per_thread):
            ex.execute(P, HookContext(P, {"i": i}))
            if i % 50 == 0:
                bus.stats()  # readers drain from other threads meanwhile

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    events = bus.retained(1)
    assert len(events) == 4 * per_thread * 3
    assert [e.sequence for e in events] == list(range(1, len(events) + 1))
    hooks = [e.payload["hook"] for e in events]
    assert hooks == ["h0", "h1", "h2"] * (4 * per_thread)  # each execution's events adjacent
