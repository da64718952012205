"""Logging and metrics built-ins."""

from __future__ import annotations

import json
import logging

import pytest
from hookwire.runtime.builtins.logging_hook import LoggingHook
from hookwire.runtime.builtins.metrics import LatencyStats, MetricsHook
from hookwire.runtime.clock import VirtualClock
from hookwire.runtime.context import ComponentId, HookContext, Operation, OperationError
from hookwire.runtime.errors import InvalidArgument


def test_logging_writes_one_structured_line_at_the_configured_level(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = VirtualClock(start_unix_ns=5)
    hook = LoggingHook(clock, logger="t.log", level=logging.DEBUG)
    ctx = HookContext(
        "tool_error",
        {"b": 1, "a": 2},
        correlation_id="c1",
        component=ComponentId("t1", "tool", "search"),
        operation=Operation("search", "op1", error=OperationError("timeout", "slow")),
    )
    with caplog.at_level(logging.DEBUG, logger="t.log"):
        hook(ctx)
    assert len(caplog.records) == 1
    rec = caplog.records[0]
    assert rec.levelno == logging.DEBUG
    prefix, _, body = rec.getMessage().partition(" ")
    assert prefix == "hookwire.call"
    assert json.loads(body) == {
        "point": "tool_error",
        "time_ns": 5,
        "correlation_id": "c1",
        "component": {"id": "t1", "type": "tool"},
        "operation": {"type": "search", "id": "op1"},
        "error": {"code": "timeout", "message": "slow"},
        "data_keys": ["a", "b"],
    }
    assert rec.hookwire["point"] == "tool_error"  # type: ignore[attr-defined]


def test_logging_below_level_logs_nothing_and_data_can_be_included(
    caplog: pytest.LogCaptureFixture,
) -> None:
    quiet = LoggingHook(VirtualClock(), logger="t.quiet", level=logging.DEBUG)
    with caplog.at_level(logging.INFO, logger="t.quiet"):
        quiet(HookContext("session_start"))
    assert caplog.records == []
    loud = LoggingHook(VirtualClock(), logger="t.loud", include_data=True)
    with caplog.at_level(logging.INFO, logger="t.loud"):
        loud(HookContext("session_start", {"x": [1]}))
    assert json.loads(caplog.records[0].getMessage().split(" ", 1)[1])["data"] == {"x": [1]}
    with pytest.raises(InvalidArgument, match="level"):
        LoggingHook(VirtualClock(), level=-1)


def test_metrics_counts_outcomes_and_times_operations() -> None:
    clock = VirtualClock()
    m = MetricsHook(clock)
    m(HookContext("before_tool_execution", correlation_id="c", operation=Operation("s", "1")))
    clock.advance_ms(20)
    m(
        HookContext(
            "tool_error",
            correlation_id="c",
            operation=Operation("s", "1", error=OperationError("timeout")),
        )
    )
    m(HookContext("before_tool_execution", correlation_id="c", operation=Operation("s", "2")))
    clock.advance_ms(50)
    m(
        HookContext(
            "after_tool_execution",
            correlation_id="c",
            operation=Operation("s", "2", result={"ok": 1}),
        )
    )
    m(HookContext("session_start"))
    assert m.count("before_tool_execution") == 2
    assert m.count("tool_error", "error:timeout") == 1
    assert m.count("after_tool_execution", "ok") == 1
    assert m.count("session_start", "call") == 1
    assert m.latency("s") == LatencyStats(2, 70_000_000, 20_000_000, 50_000_000)
    assert m.snapshot()["calls"] == {
        "after_tool_execution": {"ok": 1},
        "before_tool_execution": {"call": 2},
        "session_start": {"call": 1},
        "tool_error": {"error:timeout": 1},
    }
    m.reset()
    assert m.counts() == {}
