"""Differential fuzzing of the Lua decoder against Python's protobuf on corrupted bytes.

Whatever the bytes, Lua either raises one of its own decode errors (a string naming the
message, never an internal Lua error such as "attempt to index a nil value") or returns a
message; when it returns one, Python parses the same bytes to the same message (unknown fields
aside, which Lua drops) and Lua's re-encoding equals Python's. Whenever Python rejects the
bytes, Lua rejects them too.
"""

from __future__ import annotations

import re
from typing import Any

from google.protobuf.message import DecodeError, Message
from hookwire.v1 import event_pb2, hook_pb2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

OWN_ERROR = re.compile(r"^(hookwire|google)\.[\w.]+( entry)?(\.[\w<> ]+)?: \S")


def _sample_context() -> hook_pb2.HookContext:
    ctx = hook_pb2.HookContext(
        point=hook_pb2.HOOK_POINT_CUSTOM,
        custom_point="é-point",
        metadata={"a": "1", "bb": "22"},
        correlation_id="c",
        parent=hook_pb2.HookContext(custom_point="p", metadata={"k": "v"}),
    )
    ctx.data.fields["n"].int_value = -5
    ctx.data.fields["s"].string_value = "text"
    ctx.data.fields["l"].array_value.values.add().double_value = 1.5
    ctx.timestamp.seconds = 1_700_000_000
    ctx.operation.error.code = "x"
    return ctx


def _sample_event() -> event_pb2.UniversalEvent:
    ev = event_pb2.UniversalEvent(id="e1", type="tool.invoked", sequence=2**64 - 1)
    ev.payload.object_value.fields["x"].bool_value = True
    ev.ttl.seconds = 5
    ev.metadata["m"] = "n"
    return ev


SAMPLES: list[Message] = [_sample_context(), _sample_event()]


@st.composite
def corrupted(draw: st.DrawFn) -> tuple[Message, bytes]:
    sample = draw(st.sampled_from(SAMPLES))
    data = bytearray(sample.SerializeToString(deterministic=True))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "set", "cut", "insert", "delete"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set" and data:
            data[at] = draw(st.sampled_from([0x00, 0x7F, 0x80, 0xFF, 0xC3, 0x0F, 0x07]))
        elif kind == "cut":
            del data[at:]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=4))
        elif kind == "delete" and data:
            del data[at]
    return sample, bytes(data)


def _check(lua: Any, sample: Message, data: bytes) -> None:
    cls = type(sample)
    ok, out = lua.run("bin2bin", sample.DESCRIPTOR, data)
    try:
        expected = cls.FromString(data)
    except DecodeError:
        expected = None
    if not ok:
        assert OWN_ERROR.match(out.decode()), out
        return
    assert expected is not None, "Lua accepted bytes Python rejects"
    expected.DiscardUnknownFields()
    assert cls.FromString(out) == expected
    assert out == expected.SerializeToString(deterministic=True)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(corrupted())
def test_corrupted_bytes(lua: Any, case: tuple[Message, bytes]) -> None:
    _check(lua, *case)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=64))
def test_random_bytes(lua: Any, data: bytes) -> None:
    _check(lua, SAMPLES[0], data)


# "<message>.<path>: <reason>" (a path may hold map keys, quoted, with any character) or a
# JSON syntax error at a byte offset.
JSON_ERROR = re.compile(r"^((hookwire|google)\.\w[^\n]*?: \S|invalid JSON at byte \d+: \S)")


@st.composite
def corrupted_json(draw: st.DrawFn) -> tuple[Message, bytes]:
    from google.protobuf import json_format

    sample = draw(st.sampled_from(SAMPLES))
    text = bytearray(json_format.MessageToJson(sample).encode())
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, max(len(text) - 1, 0)))
        kind = draw(st.sampled_from(["set", "cut", "insert"]))
        if kind == "set" and text:
            text[at] = draw(st.sampled_from(list(b'{}[]",:0-.eE\\ntfu\x00\xff')))
        elif kind == "cut":
            del text[at:]
        else:
            text[at:at] = draw(st.sampled_from([b"null", b'"x"', b"1e999", b"[]", b"{}", b"-"]))
    return sample, bytes(text)


@settings(max_examples=300, deadline=None)
@given(corrupted_json())
def test_corrupted_json_gives_own_errors(lua: Any, case: tuple[Message, bytes]) -> None:
    sample, text = case
    ok, out = lua.run("json2bin", sample.DESCRIPTOR, text)
    if not ok:
        assert JSON_ERROR.match(out.decode()), out
    else:
        type(sample).FromString(out)  # whatever Lua accepted encodes to valid bytes
