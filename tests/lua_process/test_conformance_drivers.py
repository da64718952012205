"""The `lua` and `lua-process` conformance drivers: behaviours become real Lua, identically."""

from __future__ import annotations

from typing import Any

import pytest
from hookwire.conformance.driver import CallLog, HookEnv
from hookwire.conformance.engine import breaker_config, run_scenario
from hookwire.conformance.loader import DEFAULT_SCENARIO_DIR, load_scenarios
from hookwire.conformance.lua_behaviour import BEHAVIOURS_DIR, lua_string, lua_value
from hookwire.conformance.lua_embedded import LuaEmbeddedDriver
from hookwire.conformance.lua_process import LuaProcessDriver
from hookwire.conformance.scenario import HookDef
from hookwire.runtime.clock import VirtualClock
from hookwire.runtime.context import HookContext
from hookwire.runtime.executor import Executor
from hookwire.runtime.registry import Registry
from hookwire.runtime.results import CONTINUE, Retry

DRIVERS = [LuaEmbeddedDriver, LuaProcessDriver]
# Where behaviours.lua raises its table error (the reason names the line).
TABLE_ERROR_LINE = next(
    i
    for i, line in enumerate((BEHAVIOURS_DIR / "behaviours.lua").read_text().splitlines(), 1)
    if "error({ message = step.message })" in line
)
BEHAVIOUR = [
    {"raises": "one"},
    {"raises": "two"},
    {"returnsInvalid": True},
    {"returnsInvalid": True},
    {"advanceMs": 60, "returns": {"retry": {"delay": "0.25s", "maxAttempts": 3}}},
    {"returnsNothing": True},
]


@pytest.mark.parametrize("driver", DRIVERS, ids=lambda d: d.name)
def test_native_forms_in_order(driver: Any) -> None:
    clock, reg = VirtualClock(), Registry()
    session = driver().open(HookEnv(clock, CallLog(), Executor(reg, clock=clock)))
    try:
        hook = HookDef.parse({"name": "b", "point": "custom:x", "behaviour": BEHAVIOUR})
        reg.register(
            session.build_hook(hook),
            name="b",
            point="custom:x",
            language="lua",
            breaker=breaker_config(
                {"windowSize": 100, "minimumCalls": 100}
            ),  # keep it closed throughout
        )
        seen = []
        for _ in BEHAVIOUR:
            e = session.execute("custom:x", HookContext("custom:x"))
            [entry] = e.trace
            seen.append((entry.outcome.value, entry.reason, entry.duration_ns, e.result))
    finally:
        session.close()
    assert seen == [
        ("ERROR", "one", 0, CONTINUE),  # error("one", 0)
        (
            "ERROR",
            f"behaviours.lua:{TABLE_ERROR_LINE}: two",
            0,
            CONTINUE,
        ),  # error({message = "two"})
        ("ERROR", "invalid_result", 0, CONTINUE),  # the string "continue"
        ("ERROR", "invalid_result", 0, CONTINUE),  # a forged result table
        ("RETRY", "", 60_000_000, Retry(250_000_000, 3)),  # hookwire.retry(250.0, 3), 60 ms
        ("CONTINUE", "", 0, CONTINUE),  # return nil
    ]


@pytest.mark.parametrize("driver", DRIVERS, ids=lambda d: d.name)
def test_native_scenarios_pass(driver: Any) -> None:
    scenarios = [s for s in load_scenarios([DEFAULT_SCENARIO_DIR]) if s.id.startswith("native.")]
    assert len(scenarios) >= 4
    for sc in scenarios:
        result = run_scenario(sc, driver())
        assert result.passed, (sc.id, result.failures)


def test_lua_literals() -> None:
    assert lua_string('a"b\\c\n€') == '"a\\034b\\092c\\010\\226\\130\\172"'
    assert lua_value({"x": [], "y": {}, "z": [None, 1.5, -3, True]}) == (
        '{["x"] = hookwire.array{}, ["y"] = {}, '
        '["z"] = hookwire.array{hookwire.null, 1.5, -3, true}}'
    )
    with pytest.raises(ValueError, match="not a JSON number"):
        lua_value(float("nan"))
