"""The conformance runner's event-bus side: bundled bus and cross-language event scenarios pass,
wrong expectations fail with the difference, blocking publishes are handled without hanging,
and invalid bus scenarios are rejected naming the field."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hookwire.conformance.driver import HookEnv
from hookwire.conformance.engine import run_scenario
from hookwire.conformance.loader import DEFAULT_SCENARIO_DIR, ScenarioError, load_scenarios
from hookwire.conformance.py_async import PyAsyncDriver
from hookwire.conformance.py_sync import PySyncDriver, PySyncSession
from hookwire.conformance.scenario import HookDef, Scenario
from hookwire.runtime.context import HookContext

BUS = [s for s in load_scenarios([DEFAULT_SCENARIO_DIR]) if s.id.startswith(("bus.", "events."))]


def test_there_are_enough_bus_scenarios() -> None:
    assert len([s for s in BUS if s.id.startswith("bus.")]) >= 20
    assert len([s for s in BUS if s.id.startswith("events.")]) >= 5


@pytest.mark.parametrize("scenario", BUS, ids=[s.id for s in BUS])
def test_bus_scenario_passes_on_py_sync(scenario: Scenario) -> None:
    result = run_scenario(scenario, PySyncDriver())
    assert result.failures == []


@pytest.mark.parametrize(
    "scenario", [s for s in BUS if s.id.startswith("bus.")], ids=lambda s: s.id
)
def test_bus_scenario_passes_on_py_async(scenario: Scenario) -> None:
    result = run_scenario(scenario, PyAsyncDriver())
    assert result.failures == []


def _write(tmp_path: Path, body: dict[str, Any]) -> Path:
    raw = {"id": "t.bus", "description": "d", "spec": "SEMANTICS 8", **body}
    (tmp_path / "s.json").write_text(json.dumps(raw))
    return tmp_path


def _load(tmp_path: Path, body: dict[str, Any]) -> Scenario:
    [sc] = load_scenarios([_write(tmp_path, body)])
    return sc


def _run(tmp_path: Path, body: dict[str, Any]) -> list[str]:
    return run_scenario(_load(tmp_path, body), PySyncDriver()).failures


def _rejected(tmp_path: Path, body: dict[str, Any]) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        load_scenarios([_write(tmp_path, body)])
    return info.value


def test_unknown_overflow_is_rejected_naming_the_field(tmp_path: Path) -> None:
    err = _rejected(
        tmp_path,
        {
            "subscriptions": [{"id": "s", "pattern": ">", "overflow": "DROP_ALL"}],
            "steps": [{"advanceMs": 1}],
        },
    )
    assert err.json_path == "$.subscriptions[0].overflow"
    assert "DROP_ALL" in err.reason


def test_misspelt_subscription_member_is_rejected(tmp_path: Path) -> None:
    err = _rejected(
        tmp_path,
        {"subscriptions": [{"id": "s", "pattern": ">", "capacty": 2}], "steps": [{"advanceMs": 1}]},
    )
    assert err.json_path == "$.subscriptions[0]"
    assert "capacty" in err.reason


def test_sample_rate_outside_range_is_rejected(tmp_path: Path) -> None:
    err = _rejected(
        tmp_path,
        {
            "subscriptions": [{"id": "s", "pattern": ">", "overflow": "SAMPLE", "sampleRate": 1.5}],
            "steps": [{"advanceMs": 1}],
        },
    )
    assert err.json_path == "$.subscriptions[0].sampleRate"


def test_expectation_on_unknown_subscription_is_rejected(tmp_path: Path) -> None:
    err = _rejected(
        tmp_path,
        {"steps": [{"expectDelivered": {"subscription": "ghost", "events": []}}]},
    )
    assert err.json_path == "$.steps[0].expectDelivered.subscription"
    assert "ghost" in err.reason


def test_rate_limit_needs_burst(tmp_path: Path) -> None:
    err = _rejected(tmp_path, {"bus": {"rateLimit": {"rate": 1}}, "steps": [{"advanceMs": 1}]})
    assert err.json_path == "$.bus.rateLimit"
    assert "burst" in err.reason


def test_wrong_sequence_fails_with_both_values(tmp_path: Path) -> None:
    failures = _run(tmp_path, {"steps": [{"publish": {"type": "a"}, "expectSequence": 2}]})
    assert "sequence: expected 2, got 1" in "\n".join(failures)


def test_wrong_delivery_fails_naming_the_subscription(tmp_path: Path) -> None:
    failures = _run(
        tmp_path,
        {
            "subscriptions": [{"id": "s", "pattern": "a"}],
            "steps": [
                {"publish": {"type": "a", "payload": 1}},
                {"expectDelivered": {"subscription": "s", "events": [{"payload": 2}]}},
            ],
        },
    )
    text = "\n".join(failures)
    assert "expectDelivered.s (python consumer)[0].payload" in text


def test_wrong_stats_fail(tmp_path: Path) -> None:
    failures = _run(
        tmp_path,
        {
            "subscriptions": [
                {"id": "s", "pattern": "a", "capacity": 1, "overflow": "DROP_NEWEST"}
            ],
            "steps": [
                {"publish": {"type": "a"}},
                {"publish": {"type": "a"}},
                {"expectBusStats": {"s": {"droppedNewest": 0}}},
            ],
        },
    )
    assert "expectBusStats.s.droppedNewest" in "\n".join(failures)


BLOCKING = {"id": "s", "pattern": "a", "capacity": 1, "overflow": "BACKPRESSURE"}


def test_a_publish_that_would_wait_fails_instead_of_hanging(tmp_path: Path) -> None:
    failures = _run(
        tmp_path,
        {
            "subscriptions": [BLOCKING],
            "steps": [{"publish": {"type": "a"}}, {"publish": {"type": "a"}}],
        },
    )
    assert "would wait for room" in "\n".join(failures)


def test_a_publish_still_waiting_at_the_end_fails(tmp_path: Path) -> None:
    failures = _run(
        tmp_path,
        {
            "subscriptions": [BLOCKING],
            "steps": [{"publish": {"type": "a"}}, {"publish": {"type": "a"}, "blocks": True}],
        },
    )
    assert "still waits for room" in "\n".join(failures)


def test_blocks_on_a_queue_with_room_fails(tmp_path: Path) -> None:
    failures = _run(
        tmp_path,
        {"subscriptions": [BLOCKING], "steps": [{"publish": {"type": "a"}, "blocks": True}]},
    )
    assert "no BACKPRESSURE queue is full" in "\n".join(failures)


def test_a_hook_publish_that_would_wait_fails_the_scenario(tmp_path: Path) -> None:
    failures = _run(
        tmp_path,
        {
            "hooks": [
                {
                    "name": "h",
                    "point": "before_tool_execution",
                    "behaviour": [{"publish": [{"type": "a"}, {"type": "a"}]}],
                }
            ],
            "subscriptions": [BLOCKING],
            "steps": [{"execute": {"point": "before_tool_execution"}}],
        },
    )
    assert "hook 'h' publishes 'a', which would wait" in "\n".join(failures)


class _MislabellingSession(PySyncSession):
    """py-sync hooks that claim to be Lua when they publish: the runner must notice."""

    def build_hook(self, hook: HookDef) -> Callable[[HookContext], Any]:
        env, behaviour = self.env, hook.behaviour
        assert behaviour is not None

        def call(ctx: HookContext) -> None:
            for event in behaviour.step_for(env.log.begin(hook.name)).publish:
                env.publish(hook.name, event, "lua")

        return call


class _MislabellingDriver:
    name = "mislabelling"

    def open(self, env: HookEnv) -> PySyncSession:
        return _MislabellingSession(env)


HOOK_PUBLISHES = {
    "hooks": [
        {"name": "h", "point": "before_tool_execution", "behaviour": [{"publish": [{"type": "a"}]}]}
    ],
    "subscriptions": [{"id": "s", "pattern": "a"}],
    "steps": [{"execute": {"point": "before_tool_execution"}}],
}


def test_hook_events_carry_the_hooks_language(tmp_path: Path) -> None:
    sc = _load(tmp_path, HOOK_PUBLISHES)
    assert run_scenario(sc, PySyncDriver()).failures == []
    failures = run_scenario(sc, _MislabellingDriver()).failures
    assert "says source language 'lua', but the hook is written in 'python'" in "\n".join(failures)


def test_unknown_consumer_language_is_rejected(tmp_path: Path) -> None:
    err = _rejected(
        tmp_path,
        {
            "subscriptions": [{"id": "s", "pattern": ">", "consumer": "ruby"}],
            "steps": [{"advanceMs": 1}],
        },
    )
    assert err.json_path == "$.subscriptions[0].consumer"
    assert "ruby" in err.reason
