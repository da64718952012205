"""Units of the runner: per-call behaviour steps, strict JSON comparison, result normalising,
and the drivers' native conventions."""

from __future__ import annotations

import asyncio
import inspect

import pytest
from hookwire.conformance.compare import Difference, json_diff, json_equal, normalize_result
from hookwire.conformance.driver import CallLog, HookEnv
from hookwire.conformance.py_async import PyAsyncDriver
from hookwire.conformance.py_sync import INVALID_VALUE, HookRaised, PySyncDriver
from hookwire.conformance.scenario import Behaviour, HookDef
from hookwire.runtime.clock import VirtualClock
from hookwire.runtime.context import HookContext
from hookwire.runtime.executor import Executor
from hookwire.runtime.registry import Registry
from hookwire.runtime.results import Cancel, Modified


def test_behaviour_repeats_last_step_by_default() -> None:
    b = Behaviour.parse([{"raises": "one"}, {"raises": "two"}])
    assert [b.step_for(n).raises for n in range(4)] == ["one", "two", "two", "two"]


def test_behaviour_cycle_starts_over() -> None:
    b = Behaviour.parse({"calls": [{"raises": "one"}, {"raises": "two"}], "repeat": "cycle"})
    assert [b.step_for(n).raises for n in range(5)] == ["one", "two", "one", "two", "one"]


def test_json_equal_is_strict_about_bools_ints_floats_and_zero_signs() -> None:
    assert not json_equal(1, 1.0)
    assert not json_equal(1.0, 1)
    assert not json_equal(-0.0, 0.0)
    assert not json_equal([2**53 + 1], [float(2**53 + 1)])
    assert json_equal({"a": [1.5, 2]}, {"a": [1.5, 2]})
    assert not json_equal(True, 1)
    assert not json_equal({"a": [1]}, {"a": [1], "b": None})
    assert not json_equal("1", 1)


def test_json_diff_paths() -> None:
    out: list[Difference] = []
    json_diff({"a": {"b": 1, "c": 2}}, {"a": {"b": 1, "d": 3}}, "data", out)
    assert [str(d) for d in out] == [
        "data.a.c: expected 2, got '<absent>'",
        "data.a.d: expected '<absent>', got 3",
    ]


def test_normalize_result_fills_defaults_and_reads_durations() -> None:
    assert normalize_result({"retry": {"delay": "0.06s", "maxAttempts": 2}}) == normalize_result(
        {"retry": {"delay": "0.060000000s", "maxAttempts": 2}}
    )
    assert normalize_result({"cancel": {}}) == {"cancel": {"reason": ""}}
    assert normalize_result({"cache": {"key": "k", "ttl": "1.5s"}}) == {
        "cache": {"key": "k", "ttl": 1_500_000_000}
    }
    assert normalize_result({"retry": {"delay": "1s"}}) != normalize_result(
        {"retry": {"delay": "2s"}}
    )


def _env() -> HookEnv:
    clock = VirtualClock()
    return HookEnv(clock, CallLog(), Executor(Registry(), clock=clock))


def test_py_sync_hook_follows_its_behaviour() -> None:
    env = _env()
    hook = (
        PySyncDriver()
        .open(env)
        .build_hook(
            HookDef.parse(
                {
                    "name": "h",
                    "point": "before_tool_execution",
                    "behaviour": [
                        {"advanceMs": 60, "record": True, "returns": {"cancel": {"reason": "r"}}},
                        {"returnsInvalid": True},
                        {"raises": "boom"},
                        {},
                    ],
                }
            )
        )
    )
    assert not inspect.iscoroutinefunction(hook)
    ctx = HookContext(point="before_tool_execution", data={"k": 1})
    assert hook(ctx) == Cancel("r")
    assert env.clock.monotonic_ns() == 60_000_000
    assert env.log.seen[0].data == {"k": 1}
    assert hook(ctx) == INVALID_VALUE
    with pytest.raises(HookRaised, match="boom"):
        hook(ctx)
    assert hook(ctx) is None
    assert env.log.calls == {"h": 4}


def test_py_async_hook_is_a_coroutine_that_advances_virtual_time() -> None:
    env = _env()
    session = PyAsyncDriver().open(env)
    hook = session.build_hook(
        HookDef.parse(
            {
                "name": "h",
                "point": "before_tool_execution",
                "behaviour": [{"advanceMs": 15, "returns": {"modified": {"data": {"a": 1}}}}],
            }
        )
    )
    assert inspect.iscoroutinefunction(hook)
    ctx = HookContext(point="before_tool_execution")
    assert asyncio.run(hook(ctx)) == Modified({"a": 1})
    assert env.clock.monotonic_ns() == 15_000_000
    session.close()


def test_by_value_comparison_still_exact_and_signed() -> None:
    # What JS observed (one number type): int and float compare by value, never rounded.
    assert json_equal(1, 1.0, strict=False)
    assert not json_equal(2**53 + 1, float(2**53), strict=False)
    assert not json_equal(0, -0.0, strict=False)
    assert json_equal(-0.0, -0.0, strict=False)
    assert not json_equal(True, 1, strict=False)
