"""The three decoders (Python's upb, the generated Lua codec, the generated JS wire codec) accept
exactly the same bytes and read them the same way: overlong varints, lengths of 2^32 and more,
map entries holding unknown fields, nesting at upb's limit, and a fixed-seed fuzz campaign of
mutated golden vectors (tests/hostile/decoders_campaign.py; `nox -s fuzz` runs it longer).
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

_PATH = Path(__file__).with_name("decoders_campaign.py")


def _load() -> Any:
    spec = importlib.util.spec_from_file_location("hostile_decoders_campaign", _PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


campaign = _load()

JSON_VALUE = "hookwire.v1.JsonValue"
HOOK_CONTEXT = "hookwire.v1.HookContext"


@pytest.fixture(scope="module")
def decoders() -> Iterator[Any]:
    d = campaign.Decoders()
    try:
        yield d
    finally:
        d.close()


def outcomes(decoders: Any, name: str, data: bytes) -> tuple[Any, Any, Any]:
    (js,) = decoders.js.outcomes([(name, data)])
    return campaign.python_outcome(name, data), decoders.lua.outcome(name, data), js


def all_accept(decoders: Any, name: str, data: bytes) -> str:
    """The canonical encoding all three decoders agree on (fails if any refuses)."""
    py, lua, js = outcomes(decoders, name, data)
    assert py[0] and lua[0] and js[0], (py, lua, js)
    assert py[1] == lua[1] == js[1], (py, lua, js)
    return str(py[1])


def all_reject(decoders: Any, name: str, data: bytes) -> tuple[str, str]:
    """The Lua and JS errors, when all three decoders refuse."""
    py, lua, js = outcomes(decoders, name, data)
    assert not py[0] and not lua[0] and not js[0], (py, lua, js)
    return lua[1], js[1]


def h(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


def varint(n: int) -> bytes:
    out = bytearray()
    while n > 0x7F:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def field(number: int, payload: bytes) -> bytes:
    return varint(number << 3 | 2) + varint(len(payload)) + payload


# ---- varints ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        "10 81 00",  # bool_value = 1 in 2 bytes
        "10 81 80 80 80 80 80 80 80 80 00",  # ... in 10 bytes: the longest a varint may be
        "10 ff ff ff ff ff ff ff ff ff 7f",  # 10 bytes with bits past 64: dropped, as upb
        "90 00 01",  # tag of field 2 in 2 bytes
        "90 80 80 80 00 01",  # ... in 5 bytes: the longest a tag may be
        "2a 82 00 61 62",  # string_value "ab", its length in 2 bytes
        "2a 82 80 80 80 00 61 62",  # ... in 5 bytes
    ],
)
def test_long_but_valid_varints_are_accepted_by_all(decoders: Any, data: str) -> None:
    all_accept(decoders, JSON_VALUE, h(data))


@pytest.mark.parametrize(
    "data",
    [
        "10 81 80 80 80 80 80 80 80 80 80 00",  # a value varint in 11 bytes
        "90 80 80 80 80 00 01",  # a tag in 6 bytes (Lua took 6-10)
        "90 80 80 80 80 80 80 80 80 00 01",  # a tag in 10 bytes
        "90 80 80 80 10 01",  # a 5-byte tag past 2^32
        "2a 82 80 80 80 80 00 61 62",  # a length in 6 bytes
        "2a 82 80 80 80 10 61 62",  # length 2^32 + 2 (JS read it as 2: "ab")
        "2a 82 80 80 80 0f 61 62",  # a length past the buffer, below 2^32
    ],
)
def test_overlong_varints_and_huge_lengths_are_refused_by_all(decoders: Any, data: str) -> None:
    lua, js = all_reject(decoders, JSON_VALUE, h(data))
    assert lua.startswith("hookwire.v1.JsonValue"), lua
    assert js.startswith("WireError: hookwire.v1.JsonValue"), js


# ---- map entries ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        "3a 04 0a 02 20 01",  # an entry holding only an unknown field (JS kept it under "")
        "3a 07 0a 05 0a 01 61 20 01",  # key "a" and an unknown field
        "3a 04 0a 02 1b 1c",  # an unknown group
    ],
)
def test_a_map_entry_with_unknown_fields_is_left_out_of_the_map_by_all(
    decoders: Any, data: str
) -> None:
    assert all_accept(decoders, JSON_VALUE, h(data)) == "3a00"  # object_value {}


def test_map_entries_read_the_same_everywhere(decoders: Any) -> None:
    # key only, value before key, a repeated key (the last one wins), an empty entry
    assert all_accept(decoders, JSON_VALUE, h("3a 05 0a 03 0a 01 61")) == "3a070a050a01611200"
    assert all_accept(decoders, JSON_VALUE, h("3a 07 0a 05 12 00 0a 01 61")) == (
        "3a070a050a01611200"
    )
    assert all_accept(decoders, JSON_VALUE, h("3a 0a 0a 08 0a 01 61 0a 01 62 12 00")) == (
        "3a070a050a01621200"
    )
    assert all_accept(decoders, JSON_VALUE, h("3a 02 0a 00")) == "3a060a040a001200"


@pytest.mark.parametrize("data", ["3a 04 0a 02 08 01", "3a 04 0a 02 10 01", "3a 04 0a 02 0b 0c"])
def test_a_map_entry_key_or_value_with_the_wrong_wire_type_is_refused_by_all(
    decoders: Any, data: str
) -> None:
    all_reject(decoders, JSON_VALUE, h(data))


# ---- nesting ----------------------------------------------------------------------------------


def parents(messages: int, inner: bytes = b"") -> bytes:
    """HookContext nested through `parent` (field 10): `messages` messages in all."""
    data = inner
    for _ in range(messages - 1):
        data = field(10, data)
    return data


def test_101_nested_messages_decode_and_102_do_not(decoders: Any) -> None:
    all_accept(decoders, HOOK_CONTEXT, parents(101))
    lua, js = all_reject(decoders, HOOK_CONTEXT, parents(102))
    assert "nesting deeper than 100" in lua
    assert "nested more than 100" in js


def test_a_map_entry_is_one_level_of_nesting(decoders: Any) -> None:
    entry = field(5, field(1, b"a") + field(2, b"b"))  # metadata {"a": "b"}
    all_accept(decoders, HOOK_CONTEXT, parents(100, entry))
    all_reject(decoders, HOOK_CONTEXT, parents(101, entry))
    all_reject(decoders, HOOK_CONTEXT, parents(101, field(5, b"")))


def groups(n: int) -> bytes:
    return bytes([15 << 3 | 3]) * n + bytes([15 << 3 | 4]) * n


def test_groups_count_as_levels(decoders: Any) -> None:
    all_accept(decoders, JSON_VALUE, groups(100))
    all_reject(decoders, JSON_VALUE, groups(101))
    all_accept(decoders, HOOK_CONTEXT, parents(99, groups(2)))
    all_reject(decoders, HOOK_CONTEXT, parents(99, groups(3)))


def json_objects(depth: int) -> bytes:
    """A JsonValue: `depth` objects {"k": ...} around an int."""
    data = h("18 02")
    for _ in range(depth):
        data = field(7, field(1, field(1, b"k") + field(2, data)))
    return data


def json_arrays(depth: int) -> bytes:
    data = h("18 02")
    for _ in range(depth):
        data = field(6, field(1, data))
    return data


def test_json_nesting_decodes_to_the_same_limit_everywhere(decoders: Any) -> None:
    # three messages per object level (value, object, entry), two per array level
    all_accept(decoders, JSON_VALUE, json_objects(33))
    all_reject(decoders, JSON_VALUE, json_objects(34))
    all_accept(decoders, JSON_VALUE, json_arrays(50))
    all_reject(decoders, JSON_VALUE, json_arrays(51))


# ---- fuzzing ----------------------------------------------------------------------------------


def test_mutated_golden_vectors_get_the_same_answer_from_all_three_decoders() -> None:
    tried, accepted, bad = campaign.run(seed=20261207, count=40_000)
    assert tried == 40_000
    # the mutations reach both sides: valid variants and corruptions
    assert 2_000 < accepted < 38_000, accepted
    assert not bad, "\n".join(str(d) for d in bad[:10])


def test_the_known_differences_are_only_the_documented_ones() -> None:
    ok = (True, "")
    # a zero tag (invalid in protobuf): upb ignores it in places, Lua and JS refuse it
    lua = (False, "hookwire.v1.ContinueResult: invalid field number 0 at byte 2")
    js = (False, "WireError: hookwire.v1.ContinueResult: illegal tag: field number 0, wire type 0")
    assert campaign.known_difference(ok, lua, js)
    # refusing for another reason is not a known difference
    lua = (False, "hookwire.v1.JsonValue: truncated varint at byte 2")
    assert campaign.known_difference(ok, lua, js) is None
    # Lua or JS accepting what Python refuses is never allowed
    assert campaign.known_difference((False, "x"), ok, (False, "y")) is None
    assert campaign.known_difference((False, "x"), (False, "y"), ok) is None


def test_upb_really_ignores_a_zero_tag_in_a_message_without_fields() -> None:
    # the first known difference, as upb shows it (should upb change, this fails)
    assert campaign.python_outcome("hookwire.v1.ContinueResult", h("00 60"))[0]


def test_lua_constructors_and_encoders_nest_as_far_as_the_decoder(decoders: Any) -> None:
    # new() and encode() take what decode() gives: 101 nested messages, entries counted
    run = decoders.lua.runtime.eval(
        b"""function(levels, entry)
          local C = require("hookwire.v1.hook").HookContext
          local t = entry and { metadata = { a = "b" } } or {}
          for _ = 2, levels do t = { parent = t } end
          return pcall(function() return C.encode(C.new(t)) end)
        end"""
    )
    assert run(101, False)[0]
    ok, err = run(102, False)
    assert not ok and b"nesting deeper than 100" in err
    assert run(100, True)[0]
    assert not run(101, True)[0]
