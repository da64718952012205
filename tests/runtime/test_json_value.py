"""JSON values: RFC 7396 merge patch, diff, validation, lossless proto conversion."""

from __future__ import annotations

import collections
import enum
from decimal import Decimal
from typing import Any

import pytest
from hookwire.runtime.errors import InvalidArgument
from hookwire.runtime.json_value import (
    copy_json,
    merge_patch,
    merge_patch_diff,
    merge_patch_value,
    validate_json,
)
from hookwire.runtime.wire.json import (
    fill_proto_object,
    from_proto_object,
    from_proto_value,
    to_proto_object,
    to_proto_value,
)
from hookwire.v1 import hook_pb2, json_pb2

# RFC 7396 Appendix A, written out literally: (original, patch, result).
RFC7396_APPENDIX_A: list[tuple[Any, Any, Any]] = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]


@pytest.mark.parametrize(("original", "patch", "expected"), RFC7396_APPENDIX_A)
def test_rfc7396_appendix_a(original: Any, patch: Any, expected: Any) -> None:
    assert merge_patch_value(original, patch) == expected


def test_rfc7396_section3_example() -> None:
    target = {
        "title": "Goodbye!",
        "author": {"givenName": "John", "familyName": "Doe"},
        "tags": ["example", "sample"],
        "content": "This will be unchanged",
    }
    patch = {
        "title": "Hello!",
        "phoneNumber": "+01-123-456-7890",
        "author": {"familyName": None},
        "tags": ["example"],
    }
    assert merge_patch(target, patch) == {
        "title": "Hello!",
        "author": {"givenName": "John"},
        "tags": ["example"],
        "content": "This will be unchanged",
        "phoneNumber": "+01-123-456-7890",
    }


def test_merge_patch_never_mutates_inputs() -> None:
    target = {"a": {"b": 1, "c": 2}, "d": 3}
    patch = {"a": {"b": None, "x": {"y": None, "z": 1}}, "d": None}
    out = merge_patch(target, patch)
    assert out == {"a": {"c": 2, "x": {"z": 1}}}
    assert target == {"a": {"b": 1, "c": 2}, "d": 3}
    assert patch == {"a": {"b": None, "x": {"y": None, "z": 1}}, "d": None}


@pytest.mark.parametrize(
    ("source", "target", "expected"),
    [
        ({"a": 1}, {"a": 1}, {}),
        ({"a": 1, "b": 2}, {"b": 2}, {"a": None}),
        ({"a": {"b": 1, "c": 2}}, {"a": {"b": 1}}, {"a": {"c": None}}),
        ({"a": 5}, {"a": {"x": 1}}, {"a": {"x": 1}}),
        ({"a": 1}, {"a": True}, {"a": True}),
        ({"a": [1, 2]}, {"a": [1]}, {"a": [1]}),
    ],
)
def test_merge_patch_diff(source: Any, target: Any, expected: Any) -> None:
    assert merge_patch_diff(source, target) == expected
    assert merge_patch(source, expected) == target


def test_copy_json_is_deep() -> None:
    a = {"x": [1, {"y": 2}]}
    b = copy_json(a)
    b["x"][1]["y"] = 3
    b["x"].append(4)
    assert a == {"x": [1, {"y": 2}]}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"a": {1, 2}}, "data.a: is not a JSON value (got set)"),
        ({"a": [1, float("nan")]}, "data.a[1]: must be a finite number, got nan"),
        ({1: "x"}, "data: object keys must be strings, got 1"),
        ({"a": Decimal("Infinity")}, "data.a: must be a finite number, got Decimal('Infinity')"),
        ({"a": object}, "data.a: is not a JSON value (got type)"),
    ],
)
def test_validate_json_names_the_path(value: Any, message: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        validate_json(value, "data")
    assert str(info.value) == message
    assert info.value.code == "INVALID_ARGUMENT"


def test_proto_value_kinds() -> None:
    assert to_proto_value(None).WhichOneof("kind") == "null_value"
    assert to_proto_value(True).bool_value is True
    assert to_proto_value(2**63 - 1).int_value == 2**63 - 1
    assert to_proto_value(-(2**63)).int_value == -(2**63)
    assert to_proto_value(2**63).number_text == "9223372036854775808"
    assert to_proto_value(-(2**63) - 1).number_text == "-9223372036854775809"
    assert to_proto_value(1.5).double_value == 1.5
    assert to_proto_value(Decimal("0.10000000000000000000001")).number_text == (
        "0.10000000000000000000001"
    )
    assert to_proto_value("x").string_value == "x"
    assert to_proto_value([]).WhichOneof("kind") == "array_value"
    assert to_proto_value({}).WhichOneof("kind") == "object_value"


def test_proto_round_trip_is_lossless() -> None:
    value = {
        "big": 2**70,
        "neg": -(2**64),
        "i": 42,
        "f": 0.1,
        "dec": Decimal("3.14159265358979323846264338327950288"),
        "s": "héllo",
        "n": None,
        "b": False,
        "list": [1, [2, {"x": None}], []],
        "obj": {},
    }
    back = from_proto_value(to_proto_value(value))
    assert back == value
    assert type(back["big"]) is int
    assert type(back["dec"]) is Decimal
    assert from_proto_object(to_proto_object({"a": [1]})) == {"a": [1]}


def test_unset_value_reads_as_null() -> None:
    assert from_proto_value(json_pb2.JsonValue()) is None


def test_bad_number_text_is_rejected() -> None:
    pb = json_pb2.JsonValue(number_text="1e")
    with pytest.raises(InvalidArgument) as info:
        from_proto_value(pb, "payload")
    assert str(info.value) == "payload.number_text: is not a JSON number: '1e'"


def test_to_proto_rejects_non_json() -> None:
    with pytest.raises(InvalidArgument) as info:
        to_proto_object({"a": [1, {2}]}, "data")
    assert str(info.value) == "data.a[1]: is not a JSON value (got set)"
    with pytest.raises(InvalidArgument):
        to_proto_value(float("inf"))


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"a": {1, 2}}, "data.a: is not a JSON value (got set)"),
        ({"a": [1, float("nan")]}, "data.a[1]: must be a finite number, got nan"),
        ({1: "x"}, "data: object keys must be strings, got 1"),
        ({"a": {"b": [0, [1, {3: 4}]]}}, "data.a.b[1][1]: object keys must be strings, got 3"),
        ({"a": Decimal("Infinity")}, "data.a: must be a finite number, got Decimal('Infinity')"),
        ({"a": ({"b": object},)}, "data.a[0].b: is not a JSON value (got type)"),
    ],
)
def test_to_proto_names_the_path(value: Any, message: str) -> None:
    # The path is assembled only when something is wrong; it must name the same place as
    # validate_json does, at any depth, through dicts, lists and tuples.
    with pytest.raises(InvalidArgument) as info:
        to_proto_object(value, "data")
    assert str(info.value) == message
    ctx_pb = hook_pb2.HookContext()
    with pytest.raises(InvalidArgument) as info:
        fill_proto_object(ctx_pb.data, value, "context.data")
    assert str(info.value) == "context." + message


def test_from_proto_names_the_path_of_a_bad_number() -> None:
    pb = to_proto_object({"a": [1, {"b": 2}]})
    pb.fields["a"].array_value.values[1].object_value.fields["b"].number_text = "0x1"
    with pytest.raises(InvalidArgument) as info:
        from_proto_object(pb, "result.modified.data")
    assert str(info.value) == (
        "result.modified.data.a[1].b.number_text: is not a JSON number: '0x1'"
    )


def test_subclasses_of_json_types_convert_as_their_base() -> None:
    class Flag(enum.IntEnum):
        ON = 1

    class Name(str):
        pass

    class Ordered(collections.OrderedDict[str, Any]):
        pass

    value = Ordered(n=Flag.ON, s=Name("x"), t=(True, 2.5), u=collections.UserDict({"k": None}))
    back = from_proto_object(to_proto_object(value))
    assert back == {"n": 1, "s": "x", "t": [True, 2.5], "u": {"k": None}}
    assert type(back["n"]) is int and type(back["s"]) is str
    assert to_proto_value(True).WhichOneof("kind") == "bool_value"


def test_fill_proto_object_marks_an_empty_object_present() -> None:
    pb = hook_pb2.HookContext()
    fill_proto_object(pb.data, {}, "context.data")
    assert pb.HasField("data")
    with pytest.raises(InvalidArgument, match=r"context\.data: must be a JSON object, got list"):
        fill_proto_object(pb.data, [], "context.data")  # type: ignore[arg-type]


def test_validate_json_accepts_subclasses_of_json_types() -> None:
    class Key(str):
        pass

    class Flag(enum.IntEnum):
        ON = 1

    class Ordered(collections.OrderedDict[str, Any]):
        pass

    validate_json(Ordered({Key("k"): [Flag.ON, (1.5, Decimal("2"))]}), "data")
    with pytest.raises(InvalidArgument, match=r"data\.k\[1\]\[0\]: must be a finite number"):
        validate_json(Ordered({Key("k"): [Flag.ON, (float("-inf"),)]}), "data")
