"""Every built-in is an ordinary hook: registered with Registry.register, run by the Executor."""

from __future__ import annotations

import asyncio
import logging
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hookwire.runtime.builtins.caching import CachingHook
from hookwire.runtime.builtins.cost_tracking import CostTracker, ModelPrice, PriceTable
from hookwire.runtime.builtins.logging_hook import LoggingHook
from hookwire.runtime.builtins.metrics import MetricsHook
from hookwire.runtime.builtins.rate_limit import RateLimitHook
from hookwire.runtime.builtins.retry import RetryHook, RetryPolicy
from hookwire.runtime.clock import VirtualClock
from hookwire.runtime.context import HookContext
from hookwire.runtime.errors import OperationCancelled
from hookwire.runtime.executor import Executor
from hookwire.runtime.registry import Registry
from hookwire.runtime.results import Cancel, Outcome
from hookwire.runtime.run import Runner, RunPoints

MS = 1_000_000


def test_all_builtins_in_one_executor_through_run(caplog: pytest.LogCaptureFixture) -> None:
    clock = VirtualClock()
    reg = Registry()
    points = RunPoints.agent()
    metrics = MetricsHook(clock)
    costs = CostTracker(
        PriceTable("v1", date(2023, 1, 1), {"m": ModelPrice("1.00", "2.00", "0.50")}), clock
    )
    cache = CachingHook(clock, ttl_ns=10_000 * MS)
    reg.register(LoggingHook(clock, logger="it.log"), name="log", point=points.before, priority=-10)
    reg.register(metrics, name="metrics.before", point=points.before, priority=-5)
    reg.register(metrics, name="metrics.after", point=points.after)
    reg.register(metrics, name="metrics.error", point=points.error, priority=-5)
    reg.register(
        RateLimitHook(clock, rate=1, burst=2, key_path="data.params.user"),
        name="limit",
        point=points.before,
    )
    reg.register(cache.before, name="cache.before", point=points.before, priority=5)
    reg.register(cache.after, name="cache.after", point=points.after, priority=5)
    reg.register(costs, name="costs", point=points.after, priority=10)
    reg.register(
        RetryHook(RetryPolicy(max_attempts=2, base_delay_ns=40 * MS), clock),
        name="retry",
        point=points.error,
    )
    runner = Runner(Executor(reg, clock=clock), points=points)

    calls = [0]

    def llm(params: dict[str, Any]) -> dict[str, Any]:
        calls[0] += 1
        if calls[0] == 1:
            raise TimeoutError("upstream slow")
        return {
            "text": "hi",
            "model": "m",
            "usage": {"prompt_tokens": 1000, "completion_tokens": 10},
        }

    ctx = HookContext("session_start", correlation_id="conv-1")
    with caplog.at_level(logging.INFO, logger="it.log"):
        first = runner.run("llm", {"user": "ann", "prompt": "hello"}, llm, context=ctx)
    assert first.attempts == 2 and clock.monotonic_ns() == 40 * MS
    # (1000 * 1.00 + 10 * 2.00) / 1e6
    assert costs.totals("conv-1").cost == Decimal("0.00102")
    assert metrics.count(points.error, "error:TimeoutError") == 1
    assert metrics.count(points.after, "ok") == 1
    assert len([r for r in caplog.records if r.name == "it.log"]) == 2  # one per attempt

    # Both attempts took a token (burst 2); wait 1 s for one more.
    clock.advance_ms(1000)
    # Same params: served by the cache (REPLACE), the operation does not run, nothing is priced.
    second = runner.run("llm", {"user": "ann", "prompt": "hello"}, llm, context=ctx)
    assert (second.source, second.output["text"], calls[0]) == ("replace", "hi", 2)
    assert costs.totals("conv-1").calls == 1

    # The bucket is empty again: CANCEL.
    with pytest.raises(OperationCancelled, match=r"rate limit exceeded for data\.params\.user="):
        runner.run("llm", {"user": "ann", "prompt": "other"}, llm, context=ctx)


def test_builtins_run_under_aexecute_and_are_traced_like_user_hooks() -> None:
    clock = VirtualClock()
    reg = Registry()
    reg.register(RateLimitHook(clock, rate=1, burst=1), name="limit", point="session_start")
    ex = Executor(reg, clock=clock)
    ctx = HookContext("session_start", correlation_id="c")
    first = asyncio.run(ex.aexecute("session_start", ctx))
    second = asyncio.run(ex.aexecute("session_start", ctx))
    assert [t.outcome for t in first.trace] == [Outcome.CONTINUE]
    assert [(t.hook_name, t.outcome) for t in second.trace] == [("limit", Outcome.CANCEL)]
    assert isinstance(second.result, Cancel)
