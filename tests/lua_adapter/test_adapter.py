"""Lua conventions mapped to results, and JSON values crossing both ways."""

from __future__ import annotations

from typing import Any

import pytest
from hookwire.runtime.adapter import HookAdapter, HookFailed, InvalidResult
from hookwire.runtime.clock import VirtualClock
from hookwire.runtime.context import ComponentId, HookContext, Operation
from hookwire.runtime.errors import InvalidArgument
from hookwire.runtime.lua import LuaHookAdapter, LuaSandbox
from hookwire.runtime.results import (
    Cache,
    Cancel,
    Continue,
    Fork,
    ForkOperation,
    Modified,
    Redirect,
    Replace,
    Retry,
    Skipped,
)


def test_adapter_satisfies_the_protocol(make_hook: Any) -> None:
    hook = make_hook("return nil")
    assert isinstance(hook, HookAdapter)
    assert (hook.language, hook.is_async) == ("lua", False)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("return nil", Continue()),
        ("", Continue()),
        ("return hookwire.continue()", Continue()),
        ("return hookwire.cancel('quota exceeded')", Cancel("quota exceeded")),
        ("return hookwire.redirect('search_v2')", Redirect("search_v2")),
        ("return hookwire.replace({1, 'two', hookwire.null})", Replace([1, "two", None])),
        ("return hookwire.replace(hookwire.null)", Replace(None)),
        ("return hookwire.replace(2.5)", Replace(2.5)),
        ("return hookwire.retry(60, 3)", Retry(60_000_000, 3)),
        ("return hookwire.retry(0.5, 1)", Retry(500_000, 1)),
        ("return hookwire.cache('k1', 30000)", Cache("k1", 30_000_000_000)),
        ("return hookwire.skipped('not mine')", Skipped("not mine")),
        ("return hookwire.skipped()", Skipped("")),
        (
            "return hookwire.fork{ {operation = 'audit', parameters = {level = 2}}, "
            "{operation = 'notify'} }",
            Fork((ForkOperation("audit", {"level": 2}), ForkOperation("notify", {}))),
        ),
        ("return hookwire.modified{n = 1, s = 'é'}", Modified({"n": 1, "s": "é"})),
    ],
)
def test_native_results(run: Any, body: str, expected: Any) -> None:
    assert run(body) == expected


def test_error_string_gives_message_with_file_and_line(sb: LuaSandbox) -> None:
    [reg] = sb.load_source(
        'hookwire.register("session_start", function(ctx)\n  local x = 1\n  error("boom")\nend)',
        "hooks/fail.lua",
    )
    with pytest.raises(HookFailed) as info:
        LuaHookAdapter(sb, reg.fn).call(HookContext("session_start"), 10**8)
    assert str(info.value) == "hooks/fail.lua:3: boom"


def test_error_with_a_table_uses_its_message(run: Any) -> None:
    with pytest.raises(HookFailed) as info:
        run("error({code = 'E42', message = 'bad input'})")
    assert str(info.value) == "h.lua:1: bad input"


def test_error_with_a_table_without_message_is_dumped(run: Any) -> None:
    with pytest.raises(HookFailed) as info:
        run("error({code = 'E42', detail = {retry = false}})")
    assert str(info.value) == 'h.lua:1: {code = "E42", detail = {retry = false}}'


def test_runtime_errors_carry_the_line(run: Any) -> None:
    with pytest.raises(HookFailed) as info:
        run("return ctx.data.missing.field")
    assert str(info.value) == "h.lua:1: attempt to index a nil value (field 'missing')"


def test_helper_argument_errors_blame_the_hook_line(run: Any) -> None:
    # (Not `return hookwire.cancel(42)`: a Lua tail call leaves no line to blame.)
    with pytest.raises(HookFailed) as info:
        run("local r = hookwire.cancel(42) return r")
    assert str(info.value) == "h.lua:1: hookwire.cancel: reason must be a string, got number"
    with pytest.raises(HookFailed) as info:
        run("local r = hookwire.retry(-1, 3) return r")
    assert str(info.value) == (
        "h.lua:1: hookwire.retry: delay_ms must be a non-negative finite number of"
        " milliseconds, got number"
    )
    with pytest.raises(HookFailed) as info:
        run("local r = hookwire.retry(1, 1.5) return r")
    assert (
        str(info.value)
        == "h.lua:1: hookwire.retry: max_attempts must be an integer >= 1, got number"
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "return 'ok'",
            'returned the string "ok"; expected nil or a result from hookwire.continue(), '
            "hookwire.modified{...}, hookwire.cancel(reason), ...",
        ),
        (
            "return 42",
            "returned the number 42; expected nil or a result from hookwire.continue(), "
            "hookwire.modified{...}, hookwire.cancel(reason), ...",
        ),
        (
            "return {kind = 'cancel', reason = 'x'}",
            "returned a table not built by a hookwire.* helper; expected nil or a result from "
            "hookwire.continue(), hookwire.modified{...}, hookwire.cancel(reason), ...",
        ),
        (
            "return print",
            "returned function; expected nil or a result from hookwire.continue(), "
            "hookwire.modified{...}, hookwire.cancel(reason), ...",
        ),
        ("return hookwire.modified{f = print}", "modified.data.f: is a function, not a JSON value"),
        (
            "return hookwire.modified{a = {1, 2, x = 3}}",
            'modified.data.a: mixes array items with the key "x"'
            " (a JSON array has only items 1..2)",
        ),
        (
            "return hookwire.modified{a = {[1.5] = true}}",
            "modified.data.a: has the key 1.5 of type number; JSON object keys are strings",
        ),
        (
            "local t = {} t.self = t return hookwire.modified{t = t}",
            "modified.data.t.self: contains itself (a cycle), which JSON cannot hold",
        ),
        ("return hookwire.replace(0/0)", "replace.value: is not a finite number (NaN)"),
        (
            "return hookwire.replace({-math.huge})",
            "replace.value[0]: is not a finite number (-inf)",
        ),
        (
            "return hookwire.modified{r = hookwire.cancel('x')}",
            "modified.data.r: is a table with a metatable of its own, not a JSON value"
            " (results cannot be nested)",
        ),
        (
            "return hookwire.replace({s = '\\255'})",
            'replace.value.s: the string "\\xff" is not valid UTF-8',
        ),
        (
            "return hookwire.replace({['k\\128'] = 1})",
            'replace.value.k\\x80: the string "k\\x80" is not valid UTF-8',
        ),
        (
            "local a, b = {}, {} a.b = b b.a = a return hookwire.replace({x = a})",
            "replace.value.x.b.a: contains itself (a cycle), which JSON cannot hold",
        ),
    ],
)
def test_invalid_results(run: Any, body: str, message: str) -> None:
    with pytest.raises(InvalidResult) as info:
        run(body)
    assert str(info.value) == message


# -- values crossing ---------------------------------------------------------------------------

ROUND_TRIP = {
    "s": "héllo",
    "i": -(2**63),
    "imax": 2**63 - 1,
    "f": 2.5,
    "f_int": 3.0,
    "t": True,
    "n": False,
    "null": None,
    "empty_obj": {},
    "empty_arr": [],
    "arr": [1, [], {}, None, "x", [[]]],
    "deep": {"a": {"b": {"c": [{"d": []}]}}},
}


def test_values_round_trip_exactly_through_a_materialized_copy(run: Any) -> None:
    # `pairs` forces every level to be converted to real Lua tables, then back.
    body = (
        "local function copy(v) if type(v) ~= 'table' or v == hookwire.null then return v end "
        "local c = hookwire.is_array(v) and hookwire.array{} or {} "
        "for k, x in pairs(v) do c[k] = copy(x) end return c end "
        "return hookwire.replace(copy(ctx.data))"
    )
    result = run(body, ROUND_TRIP)
    assert result == Replace(ROUND_TRIP)
    assert type(result.value["f_int"]) is float
    assert type(result.value["i"]) is int


def test_untouched_values_pass_back_as_is(run: Any) -> None:
    assert run("return hookwire.replace(ctx.data)", ROUND_TRIP) == Replace(ROUND_TRIP)


def test_lua_sees_types_and_markers(run: Any) -> None:
    body = (
        "local d = ctx.data return hookwire.replace({math.type(d.i), math.type(d.f_int), "
        "d.null == hookwire.null, hookwire.is_array(d.empty_arr), hookwire.is_array(d.empty_obj), "
        "#d.arr, d.arr[5], d.deep.a.b.c[1].d ~= nil, d.missing == nil})"
    )
    assert run(body, ROUND_TRIP) == Replace(
        ["integer", "float", True, True, False, 6, "x", True, True]
    )


def test_empty_table_is_an_object_unless_marked(run: Any) -> None:
    assert run("return hookwire.modified{o = {}, a = hookwire.array{}, m = hookwire.object{}}") == (
        Modified({"o": {}, "a": [], "m": {}})
    )


def test_modified_with_null_deletes_a_key_through_the_executor() -> None:
    from hookwire.runtime.executor import Executor
    from hookwire.runtime.registry import Registry

    sb = LuaSandbox()
    [reg] = sb.load_source(
        'hookwire.register("session_start", function(ctx) return hookwire.modified{'
        "secret = hookwire.null, user = {token = hookwire.null, seen = true}} end)",
        "scrub.lua",
    )
    registry = Registry()
    registry.register(LuaHookAdapter(sb, reg.fn), name="scrub", point="session_start")
    ex = Executor(registry, clock=VirtualClock()).execute(
        "session_start",
        HookContext("session_start", {"secret": "s", "keep": 1, "user": {"token": "t", "id": 7}}),
    )
    assert ex.context.data == {"keep": 1, "user": {"id": 7, "seen": True}}


def test_lua_writes_to_the_context_do_not_change_python_data(run: Any) -> None:
    data = {"a": {"b": 1}, "l": [1]}
    result = run(
        "ctx.data.a.b = 2 table.insert(ctx.data.l, 2) ctx.data.new = 1 "
        "return hookwire.replace({ctx.data.a.b, #ctx.data.l, ctx.data.new})",
        data,
    )
    assert result == Replace([2, 2, 1])
    assert data == {"a": {"b": 1}, "l": [1]}


def test_context_fields(sb: LuaSandbox, make_hook: Any) -> None:
    hook = make_hook(
        "return hookwire.replace({ctx.point, ctx.language, ctx.correlation_id, ctx.timestamp_ns, "
        "ctx.metadata.k, ctx.operation.type, ctx.operation.parameters.q})"
    )
    ctx = HookContext(
        "session_start",
        {},
        {"k": "v"},
        language="python",
        correlation_id="c-1",
        timestamp_ns=123,
        operation=Operation("tool", "op1", {"q": "x"}),
    )
    assert hook.call(ctx, 10**8) == Replace(
        ["session_start", "python", "c-1", 123, "v", "tool", "x"]
    )


def test_whole_context_as_a_value(make_hook: Any) -> None:
    hook = make_hook(
        "local keys = {} for k in pairs(ctx) do keys[#keys + 1] = k end table.sort(keys) "
        "return hookwire.modified{keys = keys, ctx = ctx}"
    )
    ctx = HookContext(
        "session_start",
        {"a": [1]},
        {},
        component=ComponentId("c1", "tool", "search"),
        language="lua",
        correlation_id="c-2",
        timestamp_ns=5,
    )
    expected_ctx = {
        "point": "session_start",
        "data": {"a": [1]},
        "metadata": {},
        "language": "lua",
        "correlation_id": "c-2",
        "timestamp_ns": 5,
        "component": {"id": "c1", "type": "tool", "name": "search"},
    }
    assert hook.call(ctx, 10**9) == Modified({"keys": sorted(expected_ctx), "ctx": expected_ctx})


def test_integer_beyond_int64_in_the_context_fails_naming_the_value(run: Any) -> None:
    with pytest.raises(HookFailed) as info:
        run("return hookwire.replace(ctx.data.big)", {"big": 2**64})
    assert str(info.value) == (
        "context value 'big': the integer 18446744073709551616 does not fit a Lua integer (64-bit)"
    )
    with pytest.raises(HookFailed) as info:
        run("return hookwire.replace(#ctx.data.l)", {"l": [1, -(2**70)]})
    assert str(info.value) == (
        "[1]: the integer -1180591620717411303424 does not fit a Lua integer (64-bit)"
    )


def test_large_values_cross_in_chunks(run: Any) -> None:
    data = {"l": list(range(10_000)), "o": {f"k{i}": i for i in range(5000)}}
    body = (
        "local s = 0 for _, v in ipairs(ctx.data.l) do s = s + v end "
        "local n = 0 for k, v in pairs(ctx.data.o) do n = n + 1 end "
        "local big = {} for i = 1, 9000 do big[i] = i end "
        "return hookwire.modified{sum = s, n = n, big = big}"
    )
    result = run(body, data)
    assert result == Modified({"sum": sum(range(10_000)), "n": 5000, "big": list(range(1, 9001))})


def test_adapter_rejects_bad_arguments(sb: LuaSandbox) -> None:
    with pytest.raises(InvalidArgument, match="sandbox: must be a LuaSandbox, got str"):
        LuaHookAdapter("x", None)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="fn: must be a Lua function of this sandbox"):
        LuaHookAdapter(sb, 42)
