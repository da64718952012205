"""Read-ahead: a hook's adapter learns the data paths it reads and passes them with the next
calls. Values must always be this call's, and every edge must behave as a lazy lookup does."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import pytest
from hookwire.runtime.adapter import HookFailed
from hookwire.runtime.context import HookContext
from hookwire.runtime.lua import LuaHookAdapter, LuaSandbox
from hookwire.runtime.lua.convert import MAX_READ_AHEAD
from hookwire.runtime.results import Replace

NS = 2_000_000_000


def hook(sb: LuaSandbox, body: str) -> LuaHookAdapter:
    [reg] = sb.load_source(
        f'hookwire.register("session_start", function(ctx) {body} end)', "ra.lua"
    )
    return LuaHookAdapter(sb, reg.fn, name=reg.name)


def call(adapter: LuaHookAdapter, data: dict[str, Any]) -> Any:
    return adapter.call(HookContext("session_start", data), NS)


READ = (
    "local a = ctx.data.args "
    "return hookwire.replace({tool = ctx.data.tool, "
    "limit = type(a) == 'table' and a.limit or type(a) == 'string' and a or nil, "
    "null = hookwire.is_null(ctx.data.n), l = ctx.data.l})"
)


def test_learned_paths_carry_each_calls_own_values() -> None:
    sb = LuaSandbox()
    h = hook(sb, READ)
    runs: list[tuple[dict[str, Any], list[Any]]] = [
        ({"tool": "a", "args": {"limit": 1}, "n": None, "l": []}, ["a", 1, True, []]),
        ({"tool": "b", "args": {"limit": 2}, "n": 0, "l": [1]}, ["b", 2, False, [1]]),
        # A learned parent that is no longer an object, learned keys that are missing.
        ({"tool": "c", "args": "text"}, ["c", "text", False, None]),
        ({"args": [5]}, [None, None, False, None]),
        ({"tool": "d", "args": {"limit": 2.5}, "n": None, "l": {}}, ["d", 2.5, True, {}]),
        ({"tool": "e", "args": {}, "l": [{"x": None}]}, ["e", None, False, [{"x": None}]]),
    ]
    for data, (tool, limit, null, items) in runs:
        expected = {"tool": tool, "limit": limit, "null": null, "l": items}
        assert call(h, data) == Replace({k: v for k, v in expected.items() if v is not None})
    assert set(h._paths) == {("tool",), ("args",), ("args", "limit"), ("n",), ("l",)}


def test_a_learned_value_that_cannot_cross_fails_when_read_with_its_name() -> None:
    sb = LuaSandbox()
    h = hook(sb, "if ctx.data.flag then return hookwire.replace(ctx.data.big) end")
    call(h, {"flag": True, "big": 1})
    call(h, {"flag": True, "big": 2})
    with pytest.raises(HookFailed) as info:
        call(h, {"flag": True, "big": 2**70})
    assert "context value 'big': the integer 1180591620717411303424 does not fit" in str(info.value)
    # Not read, not converted: no failure.
    assert call(h, {"flag": False, "big": 2**70}) is not None


def test_writes_over_read_ahead_values_are_returned() -> None:
    sb = LuaSandbox()
    h = hook(sb, "local _ = ctx.data.a.b; ctx.data.a.b = 7 return hookwire.replace(ctx.data)")
    for _ in range(3):
        data = {"a": {"b": 1, "c": [2]}, "d": "x"}
        assert call(h, data) == Replace({"a": {"b": 7, "c": [2]}, "d": "x"})
        assert data == {"a": {"b": 1, "c": [2]}, "d": "x"}


def test_learning_stops_at_the_limit() -> None:
    sb = LuaSandbox()
    n = MAX_READ_AHEAD + 10
    body = (
        f"local s = 0 for i = 1, {n} do s = s + ctx.data['k' .. i] end return hookwire.replace(s)"
    )
    h = hook(sb, body)
    data = {f"k{i}": i for i in range(1, n + 1)}
    for _ in range(3):
        assert call(h, data) == Replace(n * (n + 1) // 2)
    assert len(h._paths) == MAX_READ_AHEAD


def test_each_adapter_learns_its_own_paths() -> None:
    sb = LuaSandbox()
    a = hook(sb, "local _ = ctx.data.x")
    b = hook(sb, "local _ = ctx.data.y.z")
    for _ in range(2):
        call(a, {"x": 1, "y": {"z": 2}})
        call(b, {"x": 1, "y": {"z": 2}})
    assert list(a._paths) == [("x",)]
    assert list(b._paths) == [("y",), ("y", "z")]


def test_data_of_another_mapping_type_is_read_lazily_after_learning() -> None:
    sb = LuaSandbox()
    h = hook(sb, "return hookwire.replace({ctx.data.a, ctx.data.b.c})")
    assert call(h, {"a": 1, "b": {"c": 2}}) == Replace([1, 2])
    assert call(h, {"a": 3, "b": {"c": 4}}) == Replace([3, 4])
    assert call(h, OrderedDict(a=5, b={"c": 6})) == Replace([5, 6])


def test_keys_of_any_text_are_read_ahead_exactly() -> None:
    keys = ['a"b', "x\ny", "]]--", "ü€", "\\", "end", "0", " "]
    sb = LuaSandbox()
    body = "local out = {} " + " ".join(
        f"out[{i}] = ctx.data.o[{lua_string(k)}]" for i, k in enumerate(keys, 1)
    )
    h = hook(sb, body + " return hookwire.replace(out)")
    for n in range(3):
        data = {"o": {k: f"{k}-{n}" for k in keys}}
        assert call(h, data) == Replace([f"{k}-{n}" for k in keys])
    assert len(h._paths) == len(keys) + 1


def lua_string(s: str) -> str:
    """`s` as a Lua string literal (decimal escapes for every byte)."""
    return '"' + "".join(f"\\{b}" for b in s.encode()) + '"'
