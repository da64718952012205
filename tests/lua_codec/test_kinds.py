"""Every scalar kind, packed/unpacked repeated, maps of every key kind, keyword field names and
the proto3 JSON details, on the test-only kitchen schema (tests/lua_codec/protos)."""

from __future__ import annotations

import math
from typing import Any

from google.protobuf import json_format
from hookwire.v1 import hook_pb2
from hypothesis import given, settings
from hypothesis import strategies as st

KITCHEN = "hookwire.testing.v1.Kitchen"
SCALARS = "hookwire.testing.v1.Scalars"


def test_unpacked_input_is_accepted_and_packed_on_output(kitchen: Any) -> None:
    cls = kitchen.cls(KITCHEN)
    descriptor = cls.DESCRIPTOR
    unpacked = bytes([0x30, 0x01, 0x30, 0x02])  # r_int32 = [1, 2], one tag per element
    out = kitchen.lua.ok("bin2bin", descriptor, unpacked)
    assert out == bytes([0x32, 0x02, 0x01, 0x02])
    assert out == cls(r_int32=[1, 2]).SerializeToString()


def test_packed_input_is_accepted_for_an_unpacked_field(kitchen: Any) -> None:
    cls = kitchen.cls(KITCHEN)
    packed = bytes([0x92, 0x01, 0x02, 0x07, 0x08])  # unpacked_int32 (18) = [7, 8], packed
    out = kitchen.lua.ok("bin2bin", cls.DESCRIPTOR, packed)
    assert out == bytes([0x90, 0x01, 0x07, 0x90, 0x01, 0x08])
    assert out == cls(unpacked_int32=[7, 8]).SerializeToString()


def test_keyword_field_name_and_largest_field_number(kitchen: Any) -> None:
    cls = kitchen.cls(KITCHEN)
    msg = cls(big_number_field=-1)
    setattr(msg, "end", "fin")  # noqa: B010  (`end` is not a Python keyword either way)
    data = msg.SerializeToString()
    assert kitchen.lua.ok("bin2bin", cls.DESCRIPTOR, data) == data
    text = kitchen.lua.ok("bin2json", cls.DESCRIPTOR, data)
    assert text == b'{"end":"fin","bigNumberField":-1}'


def test_scalar_json_forms(kitchen: Any) -> None:
    cls = kitchen.cls(SCALARS)
    msg = cls(
        f_int64=-(2**63),
        f_uint64=2**64 - 1,
        f_fixed64=2**63,
        f_sint32=-(2**31),
        f_uint32=2**32 - 1,
        f_bytes=b"\xff\x00",
        f_double=float("nan"),
        f_float=float("-inf"),
        f_color=-7,
        f_bool=True,
    )
    text = kitchen.lua.ok("bin2json", cls.DESCRIPTOR, msg.SerializeToString())
    assert text == (
        b'{"fDouble":"NaN","fFloat":"-Infinity","fInt64":"-9223372036854775808",'
        b'"fUint32":4294967295,"fUint64":"18446744073709551615","fSint32":-2147483648,'
        b'"fFixed64":"9223372036854775808","fBool":true,"fBytes":"/wA=","fColor":"COLOR_MINUS"}'
    )
    # NaN never equals itself, so compare bytes for this one
    assert kitchen.lua.ok("bin2bin", cls.DESCRIPTOR, msg.SerializeToString()) == (
        msg.SerializeToString(deterministic=True)
    )


def test_json_input_forms(kitchen: Any) -> None:
    cls = kitchen.cls(SCALARS)
    text = (
        b'{"f_int64": 9007199254740993, "fUint64": "18446744073709551615", "fInt32": "-5",'
        b' "fUint32": 1e3, "fDouble": "-Infinity", "fColor": 1, "fBytes": "_-8",'
        b' "fString": "\\u00e9\\ud83d\\ude00", "fFloat": 0.1}'
    )
    msg = cls.FromString(kitchen.lua.ok("json2bin", cls.DESCRIPTOR, text))
    assert msg.f_int64 == 9007199254740993
    assert msg.f_uint64 == 2**64 - 1
    assert msg.f_int32 == -5
    assert msg.f_uint32 == 1000
    assert msg.f_double == -math.inf
    assert msg.f_color == 1
    assert msg.f_bytes == b"\xff\xef"
    assert msg.f_string == "é😀"
    assert abs(msg.f_float - 0.1) < 1e-7


def test_timestamp_and_duration_json(kitchen: Any) -> None:
    cls = kitchen.cls(KITCHEN)
    cases = [
        ((0, 0), (1, 500_000_000), b'{"when":"1970-01-01T00:00:00Z","howLong":"1.500s"}'),
        (
            (-1, 999_999_999),
            (-1, -1000),
            b'{"when":"1969-12-31T23:59:59.999999999Z","howLong":"-1.000001s"}',
        ),
        (
            (253_402_300_799, 1000),
            (0, -500_000_000),
            b'{"when":"9999-12-31T23:59:59.000001Z","howLong":"-0.500s"}',
        ),
        (
            (951_782_400, 0),
            (315_576_000_000, 0),
            b'{"when":"2000-02-29T00:00:00Z","howLong":"315576000000s"}',
        ),
    ]
    for (ts, tn), (ds, dn), expected in cases:
        msg = cls()
        msg.when.seconds, msg.when.nanos = ts, tn
        msg.how_long.seconds, msg.how_long.nanos = ds, dn
        assert kitchen.lua.ok("bin2json", cls.DESCRIPTOR, msg.SerializeToString()) == expected
        back = kitchen.lua.ok("json2bin", cls.DESCRIPTOR, expected)
        assert cls.FromString(back) == msg


def test_timestamp_with_offset_parses_to_utc(kitchen: Any) -> None:
    cls = kitchen.cls(KITCHEN)
    out = kitchen.lua.ok("json2bin", cls.DESCRIPTOR, b'{"when": "2024-01-01T02:30:00.5+02:30"}')
    expected = json_format.Parse('{"when": "2024-01-01T00:00:00.5Z"}', cls())
    assert cls.FromString(out) == expected


def test_maps_of_every_key_kind_match_python_bytes(kitchen: Any) -> None:
    cls = kitchen.cls(KITCHEN)
    msg = cls()
    for k in (5, -3, 0, 2**31 - 1, -(2**31)):
        msg.m_int32[k] = str(k)
        msg.m_sint32[k] = 1
    for k in (2**64 - 1, 1, 2**63, 0):
        msg.m_uint64[k] = b"v"
        msg.m_fixed64[k] = 7
    msg.m_bool[True] = 1.5
    msg.m_bool[False] = -2.5
    for key in ("abc", "ab", "a", "ba", "b", "", "é"):
        msg.m_string[key] = key
    msg.m_int64[-(2**63)].f_string = "min"
    data = msg.SerializeToString(deterministic=True)
    assert kitchen.lua.ok("bin2bin", cls.DESCRIPTOR, data) == data
    text = kitchen.lua.ok("bin2json", cls.DESCRIPTOR, data)
    assert json_format.Parse(text.decode(), cls()) == msg


@settings(max_examples=150, deadline=None)
@given(
    st.dictionaries(
        st.text(alphabet="ab\u00e9\U0001f600", max_size=4), st.text(max_size=2), max_size=12
    )
)
def test_string_map_order_matches_python(lua: Any, entries: dict[str, str]) -> None:
    msg = hook_pb2.HookContext(metadata=entries)
    data = msg.SerializeToString(deterministic=True)
    assert lua.ok("bin2bin", msg.DESCRIPTOR, data) == data
    # the comparator used when strcoll is not bytewise gives the same order
    same = lua.eval(
        """
        local pb = require("hookwire.pb")
        local t = require("hookwire.v1.hook").HookContext.decode(...).metadata
        local fast, k = pb.sorted_keys(t, "string", "x", "y")
        local slow = {}
        for i = 1, k do slow[i] = fast[i] end
        table.sort(slow, pb.str_key_lt)
        for i = 1, k do if slow[i] ~= fast[i] then return false end end
        return true
        """,
        data,
    )
    assert same is True
