"""The real Executor, given an EventBus as its EventSink, publishes hook executions and breaker
transitions on it."""

from __future__ import annotations

import asyncio

from hookwire.runtime.breaker import BreakerConfig
from hookwire.runtime.bus import Backpressure, EventBus
from hookwire.runtime.clock import VirtualClock
from hookwire.runtime.context import HookContext
from hookwire.runtime.events import EventSink
from hookwire.runtime.executor import Executor
from hookwire.runtime.registry import Registry

POINT = "before_tool_execution"


def test_bus_is_an_event_sink() -> None:
    assert isinstance(EventBus(), EventSink)


def test_executor_publishes_executions_and_breaker_transitions(
    bus: EventBus, clock: VirtualClock
) -> None:
    executed = bus.subscribe("hookwire.hook.executed")
    breaker = bus.subscribe("hookwire.breaker.*")
    failing = {"on": True}

    def flaky(ctx: HookContext) -> None:
        clock.advance_ms(1)
        if failing["on"]:
            raise RuntimeError("down")

    registry = Registry()
    registry.register(
        flaky,
        name="flaky",
        point=POINT,
        breaker=BreakerConfig(
            minimum_calls=2, window_size=2, open_duration_ns=1_000_000_000, half_open_probes=1
        ),
    )
    executor = Executor(registry, clock=clock, events=bus)
    for _ in range(2):
        executor.execute(POINT, HookContext(point=POINT))
    runs = executed.poll()
    assert [(e.payload["hook"], e.payload["outcome"], e.payload["duration_ns"]) for e in runs] == [
        ("flaky", "ERROR", 1_000_000),
        ("flaky", "ERROR", 1_000_000),
    ]
    assert all(e.payload["point"] == POINT and e.source_language == "native" for e in runs)
    (opened,) = breaker.poll()
    assert opened.type == "hookwire.breaker.opened"
    assert opened.payload["hook"] == "flaky"
    assert opened.payload["failure_rate"] == 1.0
    assert opened.payload["open_duration_ms"] == 1000.0

    clock.advance(1_000_000_000)
    failing["on"] = False
    executor.execute(POINT, HookContext(point=POINT))
    assert [e.type for e in breaker.poll()] == [
        "hookwire.breaker.half_opened",
        "hookwire.breaker.closed",
    ]
    # one total order: sequences interleave executions and transitions without gaps
    all_seqs = sorted(e.sequence for e in bus.subscribe(">", from_sequence=1).poll())
    assert all_seqs == list(range(1, bus.next_sequence))


def test_async_executor_publishes_too(bus: EventBus, clock: VirtualClock) -> None:
    executed = bus.subscribe("hookwire.hook.*")

    async def hook(ctx: HookContext) -> None:
        await asyncio.sleep(0)

    registry = Registry()
    registry.register(hook, name="async-hook", point=POINT)
    executor = Executor(registry, clock=clock, events=bus)
    asyncio.run(executor.aexecute(POINT, HookContext(point=POINT)))
    (ev,) = executed.poll()
    assert (ev.payload["hook"], ev.payload["outcome"]) == ("async-hook", "CONTINUE")


def test_emit_on_an_event_loop_never_waits(bus: EventBus) -> None:
    slow = bus.subscribe("hookwire.>", capacity=1, overflow=Backpressure())
    other = bus.subscribe("hookwire.>")

    async def hook(ctx: HookContext) -> None:
        return None

    registry = Registry()
    registry.register(hook, name="h", point=POINT)
    executor = Executor(registry, clock=bus.clock, events=bus)

    async def main() -> None:
        for _ in range(3):
            await executor.aexecute(POINT, HookContext(point=POINT))

    asyncio.run(main())  # a full BACKPRESSURE subscriber must not break or stall execution
    assert slow.stats().timed_out == 2
    assert [e.sequence for e in slow.poll()] == [1]
    assert [e.sequence for e in other.poll()] == [1, 2, 3]
