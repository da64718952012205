"""Executor, asynchronous path: coroutine hooks, first-step fast path, deadlines."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from hookwire.runtime.adapter import HookTimedOut, PythonAsyncAdapter
from hookwire.runtime.breaker import BreakerConfig
from hookwire.runtime.clock import SystemClock, VirtualClock
from hookwire.runtime.context import HookContext
from hookwire.runtime.errors import AsyncHookNotAllowed
from hookwire.runtime.executor import Executor
from hookwire.runtime.registry import Registry
from hookwire.runtime.results import CONTINUE, Cancel, HookResult, Modified
from hookwire.runtime.trace import Execution

P = "before_tool_execution"
MS = 1_000_000


def ctx() -> HookContext:
    return HookContext(P, {"n": 0})


def outcomes(run: Execution) -> list[tuple[str, str, str]]:
    return [(t.hook_name, t.outcome.value, t.reason) for t in run.trace]


@pytest.fixture
def timeouts(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Records every asyncio.timeout the adapter machinery creates."""
    made: list[float] = []
    real = asyncio.timeout

    def spy(delay: float | None) -> asyncio.Timeout:
        made.append(delay if delay is not None else -1.0)
        return real(delay)

    monkeypatch.setattr(asyncio, "timeout", spy)
    return made


def test_mixed_chain_same_semantics_as_sync(clock: VirtualClock, timeouts: list[float]) -> None:
    async def a(c: HookContext) -> HookResult:
        clock.advance_ms(60)
        return Modified({"n": c.data["n"] + 1})

    def b(c: HookContext) -> HookResult:
        return Modified({"n": c.data["n"] + 10})

    async def d(c: HookContext) -> None:
        return None

    reg = Registry()
    for name, fn in (("a", a), ("b", b), ("d", d)):
        reg.register(fn, name=name, point=P)
    run = asyncio.run(Executor(reg, clock=clock).aexecute(P, ctx()))
    assert [(t.hook_name, t.outcome.value, t.duration_ns, t.slow) for t in run.trace] == [
        ("a", "MODIFIED", 60 * MS, True),
        ("b", "MODIFIED", 0, False),
        ("d", "CONTINUE", 0, False),
    ]
    assert run.result == Modified({"n": 11})
    assert timeouts == []  # nothing suspended: no timer was paid


def test_suspending_hook_gets_a_timer_and_its_result(timeouts: list[float]) -> None:
    async def waits(c: HookContext) -> HookResult:
        await asyncio.sleep(0)
        await asyncio.sleep(0.001)
        return Cancel("after waiting")

    reg = Registry()
    reg.register(waits, name="w", point=P, timeout_ms=5_000)
    run = asyncio.run(Executor(reg).aexecute(P, ctx()))
    assert outcomes(run) == [("w", "CANCEL", "")]
    assert run.result == Cancel("after waiting")
    assert len(timeouts) == 1 and 4.9 < timeouts[0] <= 5.0


def test_async_hook_cancelled_at_its_deadline() -> None:
    seen: list[str] = []

    async def stuck(c: HookContext) -> HookResult:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise
        return Cancel("never")

    async def after(c: HookContext) -> HookResult:
        return Modified({"after": True})

    reg = Registry()
    reg.register(stuck, name="stuck", point=P, timeout_ms=30)
    reg.register(after, name="after", point=P)
    started = time.perf_counter()
    run = asyncio.run(Executor(reg, clock=SystemClock()).aexecute(P, ctx()))
    elapsed = time.perf_counter() - started
    assert elapsed < 2.0
    assert seen == ["cancelled"]
    assert outcomes(run) == [("stuck", "TIMEOUT", "timeout"), ("after", "MODIFIED", "")]
    assert run.trace[0].duration_ns >= 30 * MS
    assert run.result == Modified({"n": 0, "after": True})


def test_hook_swallowing_cancellation_is_still_timeout() -> None:
    async def stubborn(c: HookContext) -> HookResult:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            return Cancel("I refuse")
        return CONTINUE

    reg = Registry()
    reg.register(stubborn, name="s", point=P, timeout_ms=20, failure_policy="FAIL_CLOSED")
    run = asyncio.run(Executor(reg).aexecute(P, ctx()))
    assert outcomes(run) == [("s", "TIMEOUT", "timeout")]
    assert run.result == Cancel("hook s failed: timeout")


def test_virtual_time_timeout_discards_result(clock: VirtualClock) -> None:
    async def slow(c: HookContext) -> HookResult:
        await clock.asleep(0.2)
        return Cancel("late")

    reg = Registry()
    reg.register(slow, name="slow", point=P)
    run = asyncio.run(Executor(reg, clock=clock).aexecute(P, ctx()))
    assert [(t.outcome.value, t.duration_ns, t.slow) for t in run.trace] == [
        ("TIMEOUT", 200 * MS, True)
    ]
    assert run.result == CONTINUE


def test_errors_before_and_after_suspension_and_from_awaited_futures() -> None:
    async def early(c: HookContext) -> None:
        raise ValueError("early")

    async def late(c: HookContext) -> None:
        await asyncio.sleep(0)
        raise ValueError("late")

    async def via_future(c: HookContext) -> None:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_soon(fut.set_exception, KeyError("k"))
        await fut

    async def invalid(c: HookContext) -> Any:
        await asyncio.sleep(0)
        return 3

    reg = Registry()
    for name, fn in (("early", early), ("late", late), ("fut", via_future), ("inv", invalid)):
        reg.register(fn, name=name, point=P, timeout_ms=5_000)
    run = asyncio.run(Executor(reg).aexecute(P, ctx()))
    assert outcomes(run) == [
        ("early", "ERROR", "early"),
        ("late", "ERROR", "late"),
        ("fut", "ERROR", "'k'"),
        ("inv", "ERROR", "invalid_result"),
    ]


def test_hook_awaiting_a_future_gets_its_value() -> None:
    async def reads(c: HookContext) -> HookResult:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[int] = loop.create_future()
        loop.call_later(0.001, fut.set_result, 41)
        value = await fut
        return Modified({"value": value + 1})

    reg = Registry()
    reg.register(reads, name="r", point=P, timeout_ms=5_000)
    run = asyncio.run(Executor(reg).aexecute(P, ctx()))
    assert run.result == Modified({"n": 0, "value": 42})


def test_outer_cancellation_propagates() -> None:
    async def stuck(c: HookContext) -> None:
        await asyncio.sleep(10)

    reg = Registry()
    reg.register(stuck, name="s", point=P, timeout_ms=60_000)
    ex = Executor(reg)

    async def main() -> None:
        task = asyncio.create_task(ex.aexecute(P, ctx()))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())


def test_lazy_async_hook_under_aexecute(clock: VirtualClock) -> None:
    async def real(c: HookContext) -> HookResult:
        await asyncio.sleep(0)
        return Modified({"lazy": 1})

    built: list[int] = []

    def factory() -> Any:
        built.append(1)
        return real

    reg = Registry()
    reg.register(factory, name="lz", point=P, lazy=True)
    ex = Executor(reg, clock=clock)
    runs = [asyncio.run(ex.aexecute(P, ctx())) for _ in range(2)]
    assert [r.result for r in runs] == [Modified({"n": 0, "lazy": 1})] * 2
    assert built == [1]


def test_python_async_adapter_directly() -> None:
    async def fn(c: HookContext) -> HookResult:
        await asyncio.sleep(1)
        return CONTINUE

    adapter = PythonAsyncAdapter(fn)
    with pytest.raises(AsyncHookNotAllowed):
        adapter.call(ctx(), 1)

    async def main() -> None:
        with pytest.raises(HookTimedOut):
            await adapter.acall(ctx(), 5 * MS)

    asyncio.run(main())


def test_virtual_time_exactly_at_timeout_is_in_time(clock: VirtualClock) -> None:
    async def edge(c: HookContext) -> HookResult:
        await clock.asleep(0.1)  # suspends once, then returns at exactly 100 ms
        return Modified({"edge": True})

    reg = Registry()
    reg.register(edge, name="edge", point=P)
    run = asyncio.run(Executor(reg, clock=clock).aexecute(P, ctx()))
    assert [(t.outcome.value, t.duration_ns) for t in run.trace] == [("MODIFIED", 100 * MS)]


def test_half_open_probe_limit_across_concurrent_executions(clock: VirtualClock) -> None:
    fail = [True]
    gate: list[asyncio.Event] = []

    async def probe(c: HookContext) -> None:
        if fail[0]:
            raise ValueError("down")
        await gate[0].wait()

    reg = Registry()
    config = BreakerConfig(minimum_calls=1, window_size=1, half_open_probes=1)
    reg.register(probe, name="p", point=P, timeout_ms=60_000, breaker=config)
    ex = Executor(reg, clock=clock)

    async def main() -> tuple[Execution, Execution]:
        gate.append(asyncio.Event())
        first = await ex.aexecute(P, ctx())
        assert [t.breaker_state.value for t in first.trace] == ["OPEN"]
        fail[0] = False
        clock.advance(15_000 * MS)
        running = asyncio.create_task(ex.aexecute(P, ctx()))
        await asyncio.sleep(0.01)  # the probe is in flight, waiting on the gate
        refused = await ex.aexecute(P, ctx())
        gate[0].set()
        return refused, await running

    refused, probed = asyncio.run(main())
    assert [(t.outcome.value, t.reason, t.breaker_state.value) for t in refused.trace] == [
        ("SKIPPED", "circuit_open", "HALF_OPEN")
    ]
    assert [(t.outcome.value, t.breaker_state.value) for t in probed.trace] == [
        ("CONTINUE", "CLOSED")
    ]
