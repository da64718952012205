"""The js-remote conformance driver: JS hooks in one node worker, exact virtual time, what the
hooks saw coming back intact, nested executions, one process for many scenario runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hookwire.conformance.engine import run_scenario
from hookwire.conformance.js_remote import JsRemoteDriver, _Harness, behaviour_to_json
from hookwire.conformance.loader import parse
from hookwire.conformance.scenario import Behaviour


def scenario(raw: dict[str, Any]) -> Any:
    return parse(raw, Path("inline.json"))


def run(raw: dict[str, Any]) -> list[str]:
    return run_scenario(scenario(raw), JsRemoteDriver()).failures


def test_behaviour_json_round_trips_every_member() -> None:
    raw = {
        "calls": [
            {
                "advanceMs": 1.5,
                "record": True,
                "returns": {"retry": {"delay": "0.250s", "maxAttempts": 3}},
            },
            {"raises": "boom"},
            {"returnsInvalid": True},
            {"execute": {"point": "custom:n", "context": {"data": {"a": 1}}, "expect": {}}},
            {"publish": [{"type": "a.b", "payload": 1}]},
            {},
        ],
        "repeat": "cycle",
    }
    b = Behaviour.parse(raw)
    assert Behaviour.parse(behaviour_to_json(b)).calls[:3] == b.calls[:3]
    again = Behaviour.parse(behaviour_to_json(b))
    assert again.repeat == "cycle"
    assert again.calls[3].execute is not None
    assert again.calls[3].execute.point == "custom:n"
    assert again.calls[4].publish == ({"type": "a.b", "payload": 1},)


def test_remote_hook_takes_exactly_its_virtual_time() -> None:
    failures = run(
        {
            "id": "jsr.virtual-time",
            "description": "60 ms and 0.5 ms of virtual time, measured exactly across processes",
            "spec": "SEMANTICS 3",
            "hooks": [
                {"name": "slow", "point": "custom:vt", "behaviour": [{"advanceMs": 60}]},
                {
                    "name": "frac",
                    "point": "custom:vt",
                    "priority": 1,
                    "behaviour": [{"advanceMs": 0.5, "returns": {"modified": {"data": {"x": 1}}}}],
                },
                {
                    "name": "late",
                    "point": "custom:vt2",
                    "timeoutMs": 100,
                    "behaviour": [{"advanceMs": 100.001, "returns": {"cancel": {"reason": "x"}}}],
                },
            ],
            "steps": [
                {
                    "execute": {"point": "custom:vt"},
                    "expect": {
                        "trace": [
                            {"hook": "slow", "outcome": "CONTINUE", "durationMs": 60, "slow": True},
                            {
                                "hook": "frac",
                                "outcome": "MODIFIED",
                                "durationMs": 0.5,
                                "slow": False,
                            },
                        ]
                    },
                },
                {
                    "execute": {"point": "custom:vt2"},
                    "expect": {
                        "result": {"continue": {}},
                        "trace": [{"hook": "late", "outcome": "TIMEOUT", "durationMs": 100.001}],
                    },
                },
            ],
        }
    )
    assert failures == []


def test_recorded_context_comes_back_exactly_as_js_saw_it() -> None:
    failures = run(
        {
            "id": "jsr.seen",
            "description": "a JS hook records big integers, nulls and nested data",
            "spec": "SEMANTICS 4",
            "hooks": [{"name": "rec", "point": "custom:seen", "behaviour": [{"record": True}]}],
            "steps": [
                {
                    "execute": {
                        "point": "custom:seen",
                        "context": {
                            "data": {
                                "big": 9007199254740993,
                                "n": None,
                                "deep": {"l": [1, 2.5, "s"]},
                            },
                            "metadata": {"k": "v"},
                            "correlationId": "c-1",
                        },
                    },
                    "expect": {
                        "seen": {
                            "rec": [
                                {
                                    "point": "custom:seen",
                                    "data": {
                                        "big": 9007199254740993,
                                        "n": None,
                                        "deep": {"l": [1, 2.5, "s"]},
                                    },
                                    "metadata": {"k": "v"},
                                    "correlationId": "c-1",
                                }
                            ]
                        }
                    },
                }
            ],
        }
    )
    assert failures == []


def test_a_wrong_expectation_is_reported_not_passed() -> None:
    failures = run(
        {
            "id": "jsr.negative",
            "description": "the driver really runs the JS hook: a wrong expectation fails",
            "spec": "SEMANTICS 4",
            "hooks": [
                {
                    "name": "c",
                    "point": "custom:neg",
                    "behaviour": [{"returns": {"cancel": {"reason": "js"}}}],
                }
            ],
            "steps": [
                {
                    "execute": {"point": "custom:neg"},
                    "expect": {"result": {"cancel": {"reason": "py"}}},
                }
            ],
        }
    )
    assert any("expected 'py', got 'js'" in f for f in failures), failures


def test_invalid_values_and_throws_are_classified() -> None:
    failures = run(
        {
            "id": "jsr.native",
            "description": "throw is ERROR with the message; a non-result is invalid_result",
            "spec": "SEMANTICS 4",
            "hooks": [
                {"name": "t", "point": "custom:nat", "behaviour": [{"raises": "kaput"}]},
                {
                    "name": "i",
                    "point": "custom:nat",
                    "priority": 1,
                    "behaviour": [{"returnsInvalid": True}],
                },
                {
                    "name": "u",
                    "point": "custom:nat",
                    "priority": 2,
                    "behaviour": [{"returnsNothing": True}],
                },
            ],
            "steps": [
                {
                    "execute": {"point": "custom:nat"},
                    "repeat": 2,
                    "expect": {
                        "result": {"continue": {}},
                        "trace": [
                            {"hook": "t", "outcome": "ERROR", "reasonContains": "kaput"},
                            {"hook": "i", "outcome": "ERROR", "reason": "invalid_result"},
                            {"hook": "u", "outcome": "CONTINUE"},
                        ],
                        "calls": {"t": 2, "i": 2, "u": 2},
                    },
                }
            ],
        }
    )
    assert failures == []


def test_one_node_process_serves_many_runs() -> None:
    raw = {
        "id": "jsr.reuse",
        "description": "same hook name in consecutive runs: fresh call counts each run",
        "spec": "SEMANTICS 4",
        "hooks": [
            {
                "name": "h",
                "point": "custom:reuse",
                "behaviour": [
                    {"returns": {"cancel": {"reason": "first"}}},
                    {"returnsNothing": True},
                ],
            }
        ],
        "steps": [
            {
                "execute": {"point": "custom:reuse"},
                "expect": {"result": {"cancel": {"reason": "first"}}},
            }
        ],
    }
    assert run(raw) == []
    pid = _Harness.get().proc.pid
    assert run(raw) == []
    assert _Harness.get().proc.pid == pid


def test_nested_execution_from_a_js_hook() -> None:
    n = 3
    failures = run(
        {
            "id": "jsr.nested",
            "description": "a JS hook runs a nested execution through the driver's executor",
            "spec": "SEMANTICS 3",
            "hooks": [
                {
                    "name": "outer",
                    "point": "custom:outer",
                    "behaviour": [
                        {
                            "execute": {
                                "point": "custom:inner",
                                "context": {"data": {"k": 1}},
                                "expect": {
                                    "result": {"modified": {"data": {"k": 1, "inner": True}}},
                                    "trace": [{"hook": "inner", "outcome": "MODIFIED"}],
                                },
                            },
                            "returns": {"skipped": {"reason": "after nested"}},
                        }
                    ],
                },
                {
                    "name": "inner",
                    "point": "custom:inner",
                    "behaviour": [{"returns": {"modified": {"data": {"inner": True}}}}],
                },
            ],
            "steps": [
                {
                    "execute": {"point": "custom:outer"},
                    "repeat": n,
                    "expect": {
                        "trace": [
                            {"hook": "outer", "outcome": "SKIPPED", "reason": "after nested"}
                        ],
                        "calls": {"outer": n, "inner": n},
                    },
                }
            ],
        }
    )
    assert failures == []


def test_a_bus_error_is_raised_into_the_js_hook() -> None:
    failures = run(
        {
            "id": "jsr.publish-error",
            "description": "an invalid event type fails the JS hook with the bus's error",
            "spec": "SEMANTICS 8",
            "hooks": [
                {
                    "name": "pub",
                    "point": "custom:pub",
                    "behaviour": [
                        {"publish": [{"type": "ok.event", "payload": 1}]},
                        {"publish": [{"type": "bad..type", "payload": 2}]},
                    ],
                }
            ],
            "subscriptions": [{"id": "all", "pattern": "ok.*"}],
            "steps": [
                {
                    "execute": {"point": "custom:pub"},
                    "expect": {"trace": [{"hook": "pub", "outcome": "CONTINUE"}]},
                },
                {
                    "execute": {"point": "custom:pub"},
                    "expect": {
                        "trace": [{"hook": "pub", "outcome": "ERROR", "reasonContains": "type"}]
                    },
                },
                {
                    "expectDelivered": {
                        "subscription": "all",
                        "events": [{"type": "ok.event", "sequence": 1, "payload": 1}],
                    }
                },
            ],
        }
    )
    assert failures == []


def test_js_hook_events_come_from_the_sdk_at_the_hooks_time() -> None:
    from hookwire.conformance.driver import CallLog, HookEnv
    from hookwire.conformance.scenario import HookDef
    from hookwire.runtime.bus import NO_DATA, EventBus
    from hookwire.runtime.bus.event import Event
    from hookwire.runtime.clock import VirtualClock
    from hookwire.runtime.context import HookContext
    from hookwire.runtime.executor import Executor
    from hookwire.runtime.registry import Registry

    clock, reg = VirtualClock(), Registry()
    start = clock.time_ns()
    bus = EventBus(clock=clock)
    got: list[Event] = []
    bus.subscribe("app.>", callback=got.append)
    env = HookEnv(clock, CallLog(), Executor(reg, clock=clock), bus=bus)
    session = JsRemoteDriver().open(env)
    try:
        behaviour = [
            {
                "advanceMs": 60,
                "publish": [{"type": "app.a", "payload": {"n": 1}, "ttlMs": 7}, {"type": "app.b"}],
            }
        ]
        hook = HookDef.parse({"name": "pub", "point": "custom:pub", "behaviour": behaviour})
        reg.register(
            session.build_hook(hook), name="pub", point="custom:pub", language="javascript"
        )
        [entry] = session.execute("custom:pub", HookContext("custom:pub")).trace
    finally:
        session.close()
    assert (entry.outcome.value, entry.duration_ns) == ("CONTINUE", 60_000_000)
    assert [(e.type, e.sequence, e.source_language, e.time_ns) for e in got] == [
        ("app.a", 1, "javascript", start + 60_000_000),
        ("app.b", 2, "javascript", start + 60_000_000),
    ]
    assert (got[0].payload, got[0].ttl_ns, got[1].payload) == ({"n": 1}, 7_000_000, NO_DATA)
    # Noted for the runner's source-language check from the events themselves.
    assert env.log.published == [("pub", "javascript", 1), ("pub", "javascript", 2)]
