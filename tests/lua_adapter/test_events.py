"""hookwire.publish / hookwire.subscribe wired to the event bus (or an EventSink)."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from hookwire.runtime.adapter import HookFailed
from hookwire.runtime.bus import EventBus
from hookwire.runtime.context import HookContext
from hookwire.runtime.lua import LuaHookAdapter, LuaSandbox
from hookwire.runtime.results import Replace


def hook(sb: LuaSandbox, body: str) -> LuaHookAdapter:
    [reg] = sb.load_source(
        f'hookwire.register("session_start", function(ctx) {body} end)', "ev.lua"
    )
    return LuaHookAdapter(sb, reg.fn)


def call(sb: LuaSandbox, body: str, data: dict[str, Any] | None = None) -> Any:
    return hook(sb, body).call(HookContext("session_start", data or {}), 10**8)


def test_publish_reaches_bus_subscribers_with_sequence_and_language() -> None:
    bus = EventBus()
    sub = bus.subscribe("tool.>")
    sb = LuaSandbox(bus=bus)
    bus.publish("other.event", {})
    result = call(
        sb,
        "local seq = hookwire.publish('tool.invoked', {tool = ctx.data.tool, args = ctx.data.args, "
        "none = hookwire.null, empty = hookwire.array{}}) return hookwire.replace(seq)",
        {"tool": "search", "args": {"q": "x", "n": [1, 2]}},
    )
    assert result == Replace(2)
    [event] = sub.poll()
    assert (event.type, event.sequence, event.source_language) == ("tool.invoked", 2, "lua")
    assert event.payload == {
        "tool": "search",
        "args": {"q": "x", "n": [1, 2]},
        "none": None,
        "empty": [],
    }


def test_lua_subscriber_sees_events_and_state_is_shared_with_its_file_hooks() -> None:
    bus = EventBus()
    sb = LuaSandbox(bus=bus)
    [reg] = sb.load_source(
        "local seen = {}\n"
        "hookwire.subscribe('tool.*', function(ev) seen[#seen + 1] = "
        "ev.type .. '#' .. ev.sequence .. '=' .. tostring(ev.payload.n) end)\n"
        "hookwire.register('session_start', function(ctx) return hookwire.replace(seen) end)\n",
        "sub.lua",
    )
    for n in range(3):
        bus.publish("tool.invoked", {"n": n})
    bus.publish("session.started", {"n": 99})
    result = LuaHookAdapter(sb, reg.fn).call(HookContext("session_start"), 10**8)
    assert result == Replace(["tool.invoked#1=0", "tool.invoked#2=1", "tool.invoked#3=2"])


def test_failing_lua_subscriber_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    bus = EventBus()
    sb = LuaSandbox(bus=bus, subscriber_timeout_ms=20)
    sb.load_source(
        "hookwire.subscribe('a.*', function(ev) error('sub broke') end)\n"
        "hookwire.subscribe('b.*', function(ev) while true do end end)\n",
        "s.lua",
    )
    with caplog.at_level(logging.WARNING, logger="hookwire.lua"):
        assert bus.publish("a.x", {}) == 1
        assert bus.publish("b.x", {}) == 2
    assert [r.getMessage() for r in caplog.records] == [
        "Lua subscriber failed on a.x: s.lua:1: sub broke",
        "Lua subscriber failed on b.x: timeout (stopped by the instruction budget)",
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "hookwire.publish('bad type!', {})",
            "ev.lua:1: hookwire.publish: type: invalid event type 'bad type!': "
            "expected dot-separated tokens of [A-Za-z0-9_-]+",
        ),
        (
            "hookwire.publish('ok.type', {f = print})",
            "ev.lua:1: payload.f: is a function, not a JSON value",
        ),
        (
            "hookwire.subscribe('a.>.b', function() end)",
            "ev.lua:1: hookwire.subscribe: patterns[0]: invalid pattern 'a.>.b': "
            "'>' is allowed only as the last token",
        ),
    ],
)
def test_bad_publish_and_subscribe_fail_in_the_hook(body: str, message: str) -> None:
    sb = LuaSandbox(bus=EventBus())
    with pytest.raises(HookFailed) as info:
        call(sb, body)
    assert str(info.value) == message


def test_publish_to_an_event_sink_and_without_any() -> None:
    class Sink:
        def __init__(self) -> None:
            self.events: list[tuple[str, dict[str, Any]]] = []

        def emit(self, type: str, payload: dict[str, Any]) -> None:
            self.events.append((type, payload))

    sink = Sink()
    call(LuaSandbox(events=sink), "hookwire.publish('a.b', {x = 1}) hookwire.publish('a.c', {1})")
    assert sink.events == [("a.b", {"x": 1}), ("a.c", [1])]
    with pytest.raises(HookFailed) as info:
        call(LuaSandbox(), "hookwire.publish('a.b', {x = 1})")
    assert str(info.value) == (
        "ev.lua:1: hookwire.publish: no event bus or sink is bound to this Lua sandbox"
    )
    with pytest.raises(HookFailed) as info:
        call(LuaSandbox(events=sink), "hookwire.subscribe('a.b', print)")
    assert str(info.value) == (
        "ev.lua:1: hookwire.subscribe: no event bus is bound to this Lua sandbox"
    )


def test_exposed_host_function_errors_become_lua_errors() -> None:
    sb = LuaSandbox()

    def fail(*args: Any) -> None:
        raise ValueError("nope")

    sb.expose("host_fail", fail)
    with pytest.raises(HookFailed) as info:
        call(sb, "host_fail(1)")
    assert str(info.value) == "ev.lua:1: host_fail: nope"
