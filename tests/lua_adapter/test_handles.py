"""Context values cross to Lua as handles: kept tables stay readable, dead ones are swept,
and the extra context fields (component, parent, distributed) are there."""

from __future__ import annotations

from typing import Any

import pytest
from hookwire.runtime.context import ComponentId, DistributedContext, HookContext
from hookwire.runtime.lua import LuaHookAdapter, LuaSandbox
from hookwire.runtime.results import Replace

NS = 2_000_000_000


def sweeping(sb: LuaSandbox) -> LuaSandbox:
    """`sb` sweeping its handles every few hundred (as it does every few thousand)."""
    sb.converter.sweep_min = sb.converter.sweep_at = 300
    return sb


def hooks(sb: LuaSandbox, source: str) -> list[LuaHookAdapter]:
    return [LuaHookAdapter(sb, r.fn, name=r.name) for r in sb.load_source(source, "k.lua")]


KEEPER = """
local kept = {}
local first_ctx
hookwire.register("session_start", function(ctx)
  kept[#kept + 1] = ctx.data.item
  if first_ctx == nil then first_ctx = ctx end
end)
hookwire.register("session_start", function(ctx)
  local out = hookwire.array{}
  for i = 1, #kept, 997 do out[#out + 1] = kept[i].name end
  return hookwire.replace({out, kept[#kept], first_ctx.correlation_id, first_ctx.data.extra})
end)
"""


def test_tables_kept_beyond_their_call_stay_readable_across_sweeps() -> None:
    sb = sweeping(LuaSandbox())
    keep, read = hooks(sb, KEEPER)
    n = 10_000  # enough handles for several sweeps
    for i in range(n):
        data = {"item": {"name": f"n{i}", "tags": [i]}, "extra": [i]}
        keep.call(HookContext("session_start", data, correlation_id=f"c{i}"), NS)
    result = read.call(HookContext("session_start"), NS)
    # `kept[i].name` was never read during its own call: it crosses now, from the kept handle.
    assert result == Replace(
        [
            [f"n{i}" for i in range(0, n, 997)],
            {"name": f"n{n - 1}", "tags": [n - 1]},
            "c0",  # the first call's ctx, kept by the file, still answers lazily
            [0],
        ]
    )


def test_handles_of_dead_tables_are_dropped() -> None:
    sb = sweeping(LuaSandbox())
    [hook] = hooks(
        sb, 'hookwire.register("session_start", function(ctx) local x = ctx.data.a.b end)'
    )
    for i in range(20_000):
        hook.call(HookContext("session_start", {"a": {"b": i}}), NS)
    # Three handles per call (data, ctx, data.a): 60 000 given out, only the live ones kept.
    assert sb.converter.next_handle > 60_000
    assert len(sb.converter.objects) < 20_000


def test_an_event_payload_kept_by_a_subscriber_is_read_later() -> None:
    sb = LuaSandbox()
    recv, back = sb.load_source(
        "local got = hookwire.array{} "
        'hookwire.register("custom:recv", function(ev) got[#got + 1] = ev.payload end) '
        'hookwire.register("custom:back", function() return hookwire.replace(got) end)',
        "s.lua",
    )
    for i in range(3):
        sb.deliver_event(recv.fn, {"type": "t", "payload": {"i": i, "l": []}})
    result = LuaHookAdapter(sb, back.fn).call(HookContext("custom:back"), NS)
    assert result == Replace([{"i": 0, "l": []}, {"i": 1, "l": []}, {"i": 2, "l": []}])


def test_parent_distributed_and_component_fields() -> None:
    sb = LuaSandbox()
    [hook] = hooks(
        sb,
        'hookwire.register("session_start", function(ctx) return hookwire.replace({'
        "ctx.parent.point, ctx.parent.data.x, ctx.parent.parent.correlation_id, "
        "ctx.distributed.remote_agent_id, ctx.distributed.propagate_events, "
        "ctx.distributed.traceparent, ctx.component.type, ctx.parent.component == nil}) end)",
    )
    grand = HookContext("session_start", {}, correlation_id="root")
    parent = HookContext("agent_start", {"x": [1, {}]}, parent=grand)
    ctx = HookContext(
        "session_start",
        {},
        component=ComponentId("c1", "agent", "planner"),
        parent=parent,
        distributed=DistributedContext(
            remote_agent_id="agent-9", propagate_events=True, traceparent="00-ab-cd-01"
        ),
    )
    assert hook.call(ctx, NS) == Replace(
        ["agent_start", [1, {}], "root", "agent-9", True, "00-ab-cd-01", "agent", True]
    )


def test_absent_parent_and_distributed_are_nil() -> None:
    sb = LuaSandbox()
    [hook] = hooks(
        sb,
        'hookwire.register("session_start", function(ctx) return hookwire.replace({'
        "ctx.parent == nil, ctx.distributed == nil, ctx.component == nil}) end)",
    )
    assert hook.call(HookContext("session_start"), NS) == Replace([True, True, True])


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # A write to a key read before (a raw write: no metamethod sees it).
        ("local _ = ctx.data.a; ctx.data.a = 5", {"a": 5, "args": {"y": 1}}),
        # A write inside a child proxy of an otherwise untouched parent.
        ("ctx.data.args.x = 1", {"a": 1, "args": {"y": 1, "x": 1}}),
        (
            "local _ = ctx.data.args.y; ctx.data.args.y = hookwire.null",
            {"a": 1, "args": {"y": None}},
        ),
        # Reads only: the same values.
        ("local _ = ctx.data.args.y + ctx.data.a", {"a": 1, "args": {"y": 1}}),
        ("", {"a": 1, "args": {"y": 1}}),
    ],
)
def test_writes_to_context_tables_are_in_a_returned_context_table(
    body: str, expected: dict[str, Any]
) -> None:
    sb = LuaSandbox()
    [hook] = hooks(
        sb,
        f'hookwire.register("session_start", function(ctx) {body} '
        "return hookwire.replace(ctx.data) end)",
    )
    data = {"a": 1, "args": {"y": 1}}
    assert hook.call(HookContext("session_start", data), NS) == Replace(expected)
    assert data == {"a": 1, "args": {"y": 1}}  # the caller's data is never changed


def test_nested_calls_through_a_python_subscriber_keep_their_handles_across_sweeps() -> None:
    """A Lua hook publishes; a Python subscriber runs another Lua hook of the same sandbox
    (allocating handles, maybe sweeping) while the first hook's ctx is still in use."""
    sb = sweeping(LuaSandbox())
    outer, inner = hooks(
        sb,
        'hookwire.register("session_start", function(ctx) '
        "  local before = ctx.data.a.b "
        "  hookwire.publish('t', {}) "
        "  return hookwire.replace({before, ctx.data.a.c, ctx.data.n, ctx.correlation_id}) "
        "end) "
        'hookwire.register("session_start", function(ctx) '
        "  return hookwire.replace(ctx.data.x.y) "
        "end)",
    )
    seen: list[Any] = []

    class Sink:
        def emit(self, type: str, payload: Any) -> None:
            data = {"x": {"y": len(seen)}, "pad": {"p": 1}}
            seen.append(inner.call(HookContext("session_start", data), NS))

    sb.events = Sink()
    for i in range(3000):  # several sweeps' worth of handles
        data = {"a": {"b": i, "c": -i}, "n": [i]}
        result = outer.call(HookContext("session_start", data, correlation_id=f"c{i}"), NS)
        assert result == Replace([i, -i, [i], f"c{i}"])
    assert seen[-1] == Replace(2999)
