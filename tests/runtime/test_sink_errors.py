"""A broken event sink or breaker listener never breaks hook execution.

Its exceptions are caught, counted (`Executor.sink_errors`, `CircuitBreaker.listener_errors`)
and logged once; execution, traces and breaker transitions go on as without a sink.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from hookwire.runtime.breaker import BreakerConfig, BreakerState, CircuitBreaker
from hookwire.runtime.clock import VirtualClock
from hookwire.runtime.context import HookContext
from hookwire.runtime.executor import Executor
from hookwire.runtime.registry import Registry
from hookwire.runtime.results import Cancel

P = "before_tool_execution"
CONFIG = BreakerConfig(window_size=2, minimum_calls=2)


class BrokenSink:
    """Raises on every emit after keeping what it was given."""

    def __init__(self) -> None:
        self.tried: list[str] = []

    def emit(self, type: str, payload: dict[str, Any]) -> None:
        self.tried.append(type)
        raise RuntimeError("sink down")


def failing(ctx: HookContext) -> None:
    raise ValueError("boom")


def build(sink: BrokenSink) -> Executor:
    reg = Registry()
    reg.register(failing, name="bad", point=P, breaker=CONFIG)
    reg.register(lambda ctx: Cancel("stop"), name="last", point=P)
    return Executor(reg, clock=VirtualClock(), events=sink)


def test_execute_survives_a_raising_sink_and_counts_every_failure(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sink = BrokenSink()
    ex = build(sink)
    with caplog.at_level(logging.ERROR, logger="hookwire.runtime"):
        first = ex.execute(P, HookContext(P))
        second = ex.execute(P, HookContext(P))
    for run in (first, second):
        assert run.result == Cancel("stop")
        assert [(t.hook_name, t.outcome.value) for t in run.trace] == [
            ("bad", "ERROR"),
            ("last", "CANCEL"),
        ]
    # The second failure of "bad" opened its breaker although the sink raised on it.
    assert ex.breaker("bad").state is BreakerState.OPEN
    assert sink.tried.count("hookwire.breaker.opened") == 1
    assert sink.tried.count("hookwire.hook.executed") == 4
    assert ex.sink_errors == 5
    assert ex.breaker("bad").listener_errors == 0  # the executor's guard caught them first
    logged = [r for r in caplog.records if r.name == "hookwire.runtime.executor"]
    assert len(logged) == 1
    assert "sink down" in (logged[0].exc_text or "")


def test_aexecute_survives_a_raising_sink() -> None:
    sink = BrokenSink()
    ex = build(sink)
    run = asyncio.run(ex.aexecute(P, HookContext(P)))
    assert run.result == Cancel("stop")
    assert ex.sink_errors == 2


def test_no_sink_means_no_sink_errors() -> None:
    reg = Registry()
    reg.register(failing, name="bad", point=P)
    ex = Executor(reg, clock=VirtualClock())
    ex.execute(P, HookContext(P))
    assert ex.sink_errors == 0


class BrokenListener:
    def __init__(self) -> None:
        self.calls = 0

    def breaker_transition(self, *args: Any) -> None:
        self.calls += 1
        raise KeyError("listener down")


def test_breaker_transitions_despite_a_raising_listener(caplog: pytest.LogCaptureFixture) -> None:
    clock = VirtualClock()
    listener = BrokenListener()
    b = CircuitBreaker("h", CONFIG, clock, listener)
    with caplog.at_level(logging.ERROR, logger="hookwire.runtime.breaker"):
        b.record(failed=True, slow=False)
        b.record(failed=True, slow=False)
        assert b.state is BreakerState.OPEN
        clock.advance(CONFIG.open_duration_ns)
        assert b.acquire()
        assert b.status().state is BreakerState.HALF_OPEN
    assert listener.calls == 2
    assert b.listener_errors == 2
    logged = [r for r in caplog.records if r.name == "hookwire.runtime.breaker"]
    assert len(logged) == 1
    assert "'h'" in logged[0].getMessage()


def test_registry_listener_failures_do_not_break_execute() -> None:
    listener = BrokenListener()
    reg = Registry(listener=listener)
    reg.register(failing, name="bad", point=P, breaker=CONFIG)
    ex = Executor(reg, clock=VirtualClock())
    for _ in range(3):
        run = ex.execute(P, HookContext(P))
    assert [t.outcome.value for t in run.trace] == ["SKIPPED"]
    assert ex.breaker("bad").listener_errors == 1
