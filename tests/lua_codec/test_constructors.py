"""Constructors (`M.Msg.new{...}`) check names and types and name the offending field; instances
read unset fields as their defaults; which_<oneof> tells the member set; uint64 keeps its bit
pattern."""

from __future__ import annotations

from typing import Any

import pytest
from hookwire.v1 import event_pb2, hook_pb2

PRELUDE = 'local H = require("hookwire.v1.hook"); local E = require("hookwire.v1.event"); '


def _error(lua: Any, code: str) -> str:
    ok, err = lua.eval(PRELUDE + f"return pcall(function() {code} end)")
    assert ok is False, "expected an error"
    return str(err.decode())


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("H.HookContext.new{ dat = {} }", "hookwire.v1.HookContext: unknown field 'dat'"),
        (
            "H.HookResult.new{ cancel = { reason = 5 } }",
            "hookwire.v1.HookResult.cancel.reason: expected string, got integer 5",
        ),
        (
            'H.HookContext.new{ point = "HOOK_POINT_NOPE" }',
            'hookwire.v1.HookContext.point: unknown hookwire.v1.HookPoint value "HOOK_POINT_NOPE"',
        ),
        (
            "H.HookRegistration.new{ priority = 1 << 31 }",
            "hookwire.v1.HookRegistration.priority: 2147483648 is out of range for int32",
        ),
        (
            "H.HookRegistration.new{ priority = 1.5 }",
            "hookwire.v1.HookRegistration.priority: expected int32, got float 1.5",
        ),
        (
            'H.ForkResult.new{ operations = { { operation = "a" }, { operation = true } } }',
            "hookwire.v1.ForkResult.operations[2].operation: expected string, got boolean",
        ),
        (
            "H.HookContext.new{ metadata = { k = false } }",
            'hookwire.v1.HookContext.metadata["k"]: expected string, got boolean',
        ),
        (
            'H.HookContext.new{ metadata = { "x" } }',
            "hookwire.v1.HookContext.metadata: map key must be string, got integer 1",
        ),
        (
            "H.HookResult.new{ continue = {}, cancel = {} }",
            "hookwire.v1.HookResult: oneof 'kind' has both 'continue' and 'cancel' set",
        ),
        (
            'H.HookContext.new{ parent = { parent = { custom_point = "\\xc3" } } }',
            "hookwire.v1.HookContext.parent.parent.custom_point: invalid UTF-8 in string field",
        ),
        (
            'H.HookContext.new{ component = "tool" }',
            "hookwire.v1.HookContext.component: expected hookwire.v1.ComponentId table,"
            ' got string "tool"',
        ),
        (
            "H.HookContext.new{ parent = H.CancelResult.new{} }",
            "hookwire.v1.HookContext.parent: expected hookwire.v1.HookContext, got a table of"
            " another kind (hookwire.v1.CancelResult)",
        ),
        (
            "H.HookRegistration.new{ tags = { a = 1 } }",
            'hookwire.v1.HookRegistration.tags: expected a list, found key string "a"',
        ),
        (
            'H.HookContext.new("x")',
            'hookwire.v1.HookContext.new: expected a table of fields, got string "x"',
        ),
        (
            "local c = H.HookContext.new{}; c.dat = 1",
            "hookwire.v1.HookContext: unknown field 'dat'",
        ),
    ],
)
def test_constructor_errors_name_the_field(lua: Any, code: str, message: str) -> None:
    assert _error(lua, code) == message


def test_defaults_and_conversions(lua: Any) -> None:
    point, custom, n_meta, component, prio_type, prio = lua.eval(
        PRELUDE
        + """
        local c = H.HookContext.new{ point = "HOOK_POINT_CUSTOM" }
        local r = H.HookRegistration.new{ priority = 5.0 }
        local n = 0
        for _ in pairs(c.metadata) do n = n + 1 end
        return c.point, c.custom_point, n, c.component, math.type(r.priority), r.priority
        """
    )
    assert (point, custom, n_meta, component) == (100, b"", 0, None)
    assert (prio_type, prio) == (b"integer", 5)


def test_enum_tables_map_both_ways(lua: Any) -> None:
    by_name, by_number, negative = lua.eval(
        PRELUDE
        + "return H.HookPoint.HOOK_POINT_CUSTOM, H.HookPoint[10], H.Priority.PRIORITY_HIGHEST"
    )
    assert by_name == hook_pb2.HOOK_POINT_CUSTOM
    assert by_number == b"HOOK_POINT_BEFORE_TOOL_EXECUTION"
    assert negative == hook_pb2.PRIORITY_HIGHEST


def test_which_oneof(lua: Any) -> None:
    which, none = lua.eval(
        PRELUDE
        + """
        local R = H.HookResult
        local r = R.decode(R.encode(R.new{ cancel = { reason = "x" } }))
        return H.HookResult.which_kind(r), H.HookResult.which_kind(H.HookResult.new{})
        """
    )
    assert which == b"cancel"
    assert none is None


def test_constructed_message_encodes_like_python(lua: Any) -> None:
    data = lua.eval(
        PRELUDE
        + """
        return H.HookContext.encode(H.HookContext.new{
          point = "HOOK_POINT_BEFORE_TOOL_EXECUTION",
          metadata = { b = "2", a = "1" },
          data = { fields = { n = { int_value = -3 } } },
          timestamp = { seconds = 10, nanos = 5 },
          parent = { custom_point = "outer" },
        })
        """
    )
    expected = hook_pb2.HookContext(
        point=hook_pb2.HOOK_POINT_BEFORE_TOOL_EXECUTION,
        metadata={"b": "2", "a": "1"},
        parent=hook_pb2.HookContext(custom_point="outer"),
    )
    expected.data.fields["n"].int_value = -3
    expected.timestamp.seconds, expected.timestamp.nanos = 10, 5
    assert data == expected.SerializeToString(deterministic=True)


def test_uint64_keeps_the_bit_pattern(lua: Any) -> None:
    max_u64 = event_pb2.UniversalEvent(sequence=2**64 - 1).SerializeToString()
    seq, text, json, back = lua.eval(
        PRELUDE
        + """
        local pb = require("hookwire.pb")
        local bytes = ...
        local ev = E.UniversalEvent.decode(bytes)
        return ev.sequence, pb.uint64_tostring(ev.sequence), E.UniversalEvent.to_json(ev),
          E.UniversalEvent.encode(E.UniversalEvent.new{
            sequence = pb.uint64_fromstring("18446744073709551615") })
        """,
        max_u64,
    )
    assert seq == -1
    assert text == b"18446744073709551615"
    assert json == b'{"sequence":"18446744073709551615"}'
    assert back == max_u64
