"""Property tests: random valid messages built in Python round-trip through the Lua codec.

Python -> bytes -> Lua decode+encode -> the same bytes (Python's deterministic serialization);
Python -> bytes -> Lua to_json -> Python json_format.Parse -> an equal message;
Python json_format -> Lua from_json+encode -> Python parse -> an equal message.
Messages cover every field kind of the hookwire schema (and of the test-only kitchen schema):
int64/uint64 extremes, unicode, nested parent contexts, big maps, oneofs, optional fields.
"""

from __future__ import annotations

import functools
from typing import Any

from google.protobuf import json_format, message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from hookwire.v1 import event_pb2, hook_pb2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

FD = FieldDescriptor
INT_RANGES = {
    FD.TYPE_INT32: (-(2**31), 2**31 - 1),
    FD.TYPE_SINT32: (-(2**31), 2**31 - 1),
    FD.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    FD.TYPE_INT64: (-(2**63), 2**63 - 1),
    FD.TYPE_SINT64: (-(2**63), 2**63 - 1),
    FD.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    FD.TYPE_UINT32: (0, 2**32 - 1),
    FD.TYPE_FIXED32: (0, 2**32 - 1),
    FD.TYPE_UINT64: (0, 2**64 - 1),
    FD.TYPE_FIXED64: (0, 2**64 - 1),
}
TEXT = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=12)
MAX_DEPTH = 3
SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _ints(low: int, high: int) -> st.SearchStrategy[int]:
    edges = sorted({low, high, 0, 1, -1, 127, 128, 2**31 - 1, -(2**31), 2**32 - 1, 2**63})
    return st.one_of(
        st.integers(low, high), st.sampled_from([e for e in edges if low <= e <= high])
    )


def _scalar(field: FieldDescriptor) -> st.SearchStrategy[Any]:
    if field.type in INT_RANGES:
        return _ints(*INT_RANGES[field.type])
    if field.type == FD.TYPE_BOOL:
        return st.booleans()
    if field.type == FD.TYPE_DOUBLE:
        return st.floats(allow_nan=False)
    if field.type == FD.TYPE_FLOAT:
        # Python's json_format refuses its own text for +-FLT_MAX ("3.4028235e+38" parses to a
        # double above FLT_MAX), so the extremes stay just inside
        return st.floats(
            allow_nan=False,
            width=32,
            min_value=-3.3999999521443642e38,
            max_value=3.3999999521443642e38,
        ) | st.sampled_from([float("inf"), float("-inf")])
    if field.type == FD.TYPE_STRING:
        return TEXT
    if field.type == FD.TYPE_BYTES:
        return st.binary(max_size=12)
    assert field.type == FD.TYPE_ENUM and field.enum_type is not None
    known = [v.number for v in field.enum_type.values]
    return st.one_of(st.sampled_from(known), st.sampled_from([12345, -2]))


def _wkt(descriptor: Descriptor) -> st.SearchStrategy[Message] | None:
    cls = message_factory.GetMessageClass(descriptor)
    if descriptor.full_name == "google.protobuf.Timestamp":
        return st.builds(
            cls,
            seconds=st.integers(-62_135_596_800, 253_402_300_799),
            nanos=st.integers(0, 999_999_999),
        )
    if descriptor.full_name == "google.protobuf.Duration":
        return st.integers(-315_576_000_000, 315_576_000_000).flatmap(
            lambda s: st.builds(
                cls,
                seconds=st.just(s),
                nanos=st.integers(0 if s > 0 else -999_999_999, 0 if s < 0 else 999_999_999),
            )
        )
    return None


@functools.cache
def message_strategy(descriptor: Descriptor, depth: int = 0) -> st.SearchStrategy[Message]:
    """Any valid message of this type (recursion cut at MAX_DEPTH)."""
    wkt = _wkt(descriptor)
    if wkt is not None:
        return wkt
    cls = message_factory.GetMessageClass(descriptor)

    def value(field: FieldDescriptor) -> st.SearchStrategy[Any]:
        if field.type == FD.TYPE_MESSAGE:
            return message_strategy(field.message_type, depth + 1)
        return _scalar(field)

    parts: dict[str, st.SearchStrategy[Any]] = {}
    for field in descriptor.fields:
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            key_f, val_f = (
                field.message_type.fields_by_name["key"],
                field.message_type.fields_by_name["value"],
            )
            size = 0 if depth >= MAX_DEPTH else 30 if depth == 0 else 3
            parts[field.name] = st.dictionaries(_scalar(key_f), value(val_f), max_size=size)
        elif field.is_repeated:
            size = 0 if depth >= MAX_DEPTH and field.type == FD.TYPE_MESSAGE else 4 - depth // 2
            parts[field.name] = st.lists(value(field), max_size=size)
        elif field.type == FD.TYPE_MESSAGE and depth >= MAX_DEPTH:
            parts[field.name] = st.none()
        else:
            parts[field.name] = st.none() | value(field)
    oneofs = [o for o in descriptor.oneofs if not o.fields[0].has_presence or len(o.fields) > 1]

    def build(values: dict[str, Any], choice: list[str]) -> Message:
        msg = cls()
        chosen = {o.name: c for o, c in zip(oneofs, choice, strict=True)}
        for field in descriptor.fields:
            v = values[field.name]
            oneof = field.containing_oneof
            if oneof is not None and oneof in oneofs and chosen[oneof.name] != field.name:
                continue
            if v is None:
                continue
            if isinstance(v, dict):
                target = getattr(msg, field.name)
                for k, x in v.items():
                    if isinstance(x, Message):
                        target[k].CopyFrom(x)
                    else:
                        target[k] = x
            elif isinstance(v, list):
                getattr(msg, field.name).extend(v)
            elif isinstance(v, Message):
                getattr(msg, field.name).CopyFrom(v)
            else:
                setattr(msg, field.name, v)
        return msg

    choices = st.tuples(*(st.sampled_from([f.name for f in o.fields] + [""]) for o in oneofs))
    return st.builds(build, st.fixed_dictionaries(parts), choices.map(list))


def _roundtrip(lua: Any, msg: Message) -> None:
    descriptor = msg.DESCRIPTOR
    data = msg.SerializeToString(deterministic=True)
    assert lua.ok("bin2bin", descriptor, data) == data
    text = lua.ok("bin2json", descriptor, data).decode()
    assert json_format.Parse(text, type(msg)()) == msg
    out = lua.ok("json2bin", descriptor, json_format.MessageToJson(msg).encode())
    assert type(msg).FromString(out) == msg


@SETTINGS
@given(st.data())
def test_hook_context(lua: Any, data: st.DataObject) -> None:
    _roundtrip(lua, data.draw(message_strategy(hook_pb2.HookContext.DESCRIPTOR)))


@SETTINGS
@given(st.data())
def test_universal_event(lua: Any, data: st.DataObject) -> None:
    _roundtrip(lua, data.draw(message_strategy(event_pb2.UniversalEvent.DESCRIPTOR)))


@SETTINGS
@given(st.data())
def test_hook_result(lua: Any, data: st.DataObject) -> None:
    _roundtrip(lua, data.draw(message_strategy(hook_pb2.HookResult.DESCRIPTOR)))


@SETTINGS
@given(st.data())
def test_execution(lua: Any, data: st.DataObject) -> None:
    _roundtrip(lua, data.draw(message_strategy(hook_pb2.Execution.DESCRIPTOR)))


@SETTINGS
@given(st.data())
def test_kitchen_every_field_kind(kitchen: Any, data: st.DataObject) -> None:
    descriptor = kitchen.pool.FindMessageTypeByName("hookwire.testing.v1.Kitchen")
    _roundtrip(kitchen.lua, data.draw(message_strategy(descriptor)))


def test_parent_chain_nests(lua: Any) -> None:
    ctx = hook_pb2.HookContext(custom_point="0")
    for k in range(1, 60):
        ctx = hook_pb2.HookContext(custom_point=str(k), parent=ctx)
    data = ctx.SerializeToString(deterministic=True)
    assert lua.ok("bin2bin", ctx.DESCRIPTOR, data) == data


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    st.lists(message_strategy(hook_pb2.HookContext.DESCRIPTOR), min_size=3, max_size=3),
    st.lists(message_strategy(event_pb2.UniversalEvent.DESCRIPTOR), min_size=3, max_size=3),
)
def test_round_trips_in_system_lua(
    system_lua: Any, contexts: list[Message], events: list[Message]
) -> None:
    """The same round trips through the system lua5.4 (one process per batch)."""
    messages = [*contexts, *events]
    requests = []
    for msg in messages:
        data = msg.SerializeToString(deterministic=True)
        requests += [("bin2bin", msg.DESCRIPTOR, data), ("bin2json", msg.DESCRIPTOR, data)]
    outcomes = system_lua(requests)
    for k, msg in enumerate(messages):
        (ok_bin, out_bin), (ok_json, out_json) = outcomes[2 * k], outcomes[2 * k + 1]
        assert ok_bin and ok_json, (out_bin, out_json)
        assert out_bin == msg.SerializeToString(deterministic=True)
        assert json_format.Parse(out_json.decode(), type(msg)()) == msg
