"""Events in the `lua` and `lua-process` drivers come from the Lua code's own
`hookwire.publish`, at the hook's virtual time, checked against the step by LuaStepEvents."""

from __future__ import annotations

from typing import Any

import pytest
from hookwire.conformance.driver import CallLog, HookEnv
from hookwire.conformance.lua_behaviour import LuaStepEvents
from hookwire.conformance.lua_embedded import LuaEmbeddedDriver
from hookwire.conformance.lua_process import LuaProcessDriver
from hookwire.conformance.scenario import HookDef
from hookwire.runtime.bus import NO_DATA, EventBus
from hookwire.runtime.bus.event import Event
from hookwire.runtime.clock import VirtualClock
from hookwire.runtime.context import HookContext
from hookwire.runtime.errors import FailedPrecondition
from hookwire.runtime.executor import Executor
from hookwire.runtime.registry import Registry

DRIVERS = [LuaEmbeddedDriver, LuaProcessDriver]
START = VirtualClock().time_ns()


def env_with_bus() -> tuple[HookEnv, Registry]:
    clock, reg = VirtualClock(), Registry()
    env = HookEnv(clock, CallLog(), Executor(reg, clock=clock), bus=EventBus(clock=clock))
    env.language_of = lambda hook: "lua"
    return env, reg


@pytest.mark.parametrize("driver", DRIVERS, ids=lambda d: d.name)
def test_lua_hook_publishes_through_the_sdk_at_its_own_time(driver: Any) -> None:
    env, reg = env_with_bus()
    assert env.bus is not None
    got: list[Event] = []
    env.bus.subscribe("app.>", callback=got.append)
    session = driver().open(env)
    try:
        behaviour = [
            {
                "advanceMs": 60,
                "publish": [
                    {"type": "app.a", "payload": {"n": [1, None]}, "ttlMs": 5},
                    {"type": "app.b"},
                ],
                "returns": {"cancel": {"reason": "no"}},
            }
        ]
        hook = HookDef.parse({"name": "p", "point": "custom:x", "behaviour": behaviour})
        reg.register(session.build_hook(hook), name="p", point="custom:x", language="lua")
        [entry] = session.execute("custom:x", HookContext("custom:x")).trace
    finally:
        session.close()
    assert (entry.outcome.value, entry.duration_ns) == ("CANCEL", 60_000_000)
    assert env.log.problems == []
    assert [(e.type, e.sequence, e.source_language, e.time_ns) for e in got] == [
        ("app.a", 1, "lua", START + 60_000_000),
        ("app.b", 2, "lua", START + 60_000_000),
    ]
    assert (got[0].payload, got[0].ttl_ns, got[1].payload) == ({"n": [1, None]}, 5_000_000, NO_DATA)
    assert env.log.published == [("p", "lua", 1), ("p", "lua", 2)]


def test_step_events_flag_what_the_lua_code_got_wrong() -> None:
    env, _ = env_with_bus()
    events = LuaStepEvents(env)
    events.expect("h", [{"type": "app.a", "payload": 1}, {"type": "app.b"}])
    with pytest.raises(
        FailedPrecondition, match=r"published 'app\.z' where its step publishes app\.a"
    ):
        events.publish("app.z", 1, source_language="lua")
    assert events.publish("app.a", 2, source_language="lua") == 1  # published, payload flagged
    events.finish()
    assert env.log.problems == [
        "Lua hook 'h' published 'app.z' where its step publishes app.a",
        "Lua hook 'h' published 'app.a' with payload 2, expected 1",
        "Lua hook 'h' did not publish its step's 'app.b' event",
    ]
