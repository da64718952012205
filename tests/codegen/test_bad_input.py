"""Malformed bytes give a typed error naming the message, never a partial message."""

from __future__ import annotations

import pytest
from google.protobuf.message import DecodeError
from hookwire.codegen.decode import MessageDecodeError, decode, message_class
from hookwire.v1 import event_pb2, hook_pb2, json_pb2

ELEVEN_BYTE_VARINT = bytes([0xFF] * 10 + [0x01])


@pytest.mark.parametrize(
    ("message_type", "data", "reason"),
    [
        # reason (field 1, LEN) announces 5 bytes; 1 follows.
        (hook_pb2.CancelResult, bytes([0x0A, 0x05, 0x61]), "Wire format was corrupt"),
        # HookContext.parent (field 10) cut inside the nested message.
        (hook_pb2.HookContext, bytes([0x52, 0x04, 0x08, 0x01]), "Wire format was corrupt"),
        # int_value varint with its continuation bit set and nothing after.
        (json_pb2.JsonValue, bytes([0x18, 0xFF]), "Wire format was corrupt"),
        # 11-byte varint: longer than any 64-bit value needs.
        (json_pb2.JsonValue, bytes([0x18]) + ELEVEN_BYTE_VARINT, "Wire format was corrupt"),
        # 0xc3 0x28: a UTF-8 lead byte followed by a non-continuation byte.
        (hook_pb2.CancelResult, bytes([0x0A, 0x02, 0xC3, 0x28]), "bad UTF-8"),
        # wire type 7 does not exist.
        (hook_pb2.CancelResult, bytes([0x0F]), "Wire format was corrupt"),
    ],
    ids=["truncated", "truncated-nested", "truncated-varint", "11-byte-varint", "utf8", "wt7"],
)
def test_protobuf_runtime_errors_are_typed_and_named(
    message_type: type[hook_pb2.CancelResult], data: bytes, reason: str
) -> None:
    with pytest.raises(DecodeError, match=reason):
        message_type.FromString(data)  # the runtime itself refuses ...
    with pytest.raises(MessageDecodeError, match=reason) as caught:
        decode(message_type, data)  # ... and decode() says which message
    assert caught.value.message_type == message_type.DESCRIPTOR.full_name
    assert str(caught.value).startswith(message_type.DESCRIPTOR.full_name + ": ")


def test_wrong_wire_type_the_runtime_accepts_is_rejected() -> None:
    data = bytes([0x08, 0x01])  # CancelResult.reason (a string) sent as a varint
    silently = hook_pb2.CancelResult.FromString(data)
    assert silently.reason == ""  # what plain protobuf does: the value is dropped
    with pytest.raises(MessageDecodeError) as caught:
        decode(hook_pb2.CancelResult, data)
    assert caught.value.reason == (
        "field 'reason' (number 1) has wire type 0 (varint), expected 2 (length-delimited)"
    )


def test_wrong_wire_type_deep_inside_names_the_path() -> None:
    # UniversalEvent.payload (field 6) = JsonValue{object_value (7) = JsonObject{fields["k"] =
    # JsonValue{string_value (5) sent as 64-bit}}}.
    inner = bytes([0x29]) + bytes(8)  # field 5, wire type 1
    entry = bytes([0x0A, 0x01, 0x6B, 0x12, len(inner)]) + inner
    obj = bytes([0x0A, len(entry)]) + entry
    payload = bytes([0x3A, len(obj)]) + obj
    data = bytes([0x32, len(payload)]) + payload
    with pytest.raises(MessageDecodeError, match="string_value") as caught:
        decode(event_pb2.UniversalEvent, data)
    assert caught.value.message_type == (
        "hookwire.v1.UniversalEvent.payload.object_value.fields['k']"
    )
    assert "wire type 1 (64-bit), expected 2 (length-delimited)" in caught.value.reason


def test_unknown_field_numbers_are_kept() -> None:
    # Field 99 is not in CancelResult: a newer schema's field, kept as proto3 requires.
    data = bytes([0x0A, 0x01, 0x61, 0x98, 0x06, 0x01])
    message = decode(hook_pb2.CancelResult, data)
    assert message.reason == "a"
    assert message.SerializeToString() == data


def test_decode_rejects_non_bytes() -> None:
    with pytest.raises(TypeError, match="data must be bytes, got str"):
        decode(hook_pb2.CancelResult, "0a00")  # type: ignore[arg-type]


def test_message_class_names_unknown_messages() -> None:
    assert message_class("hookwire.v1.CancelResult") is hook_pb2.CancelResult
    with pytest.raises(KeyError, match=r"hookwire\.v1\.Nope"):
        message_class("hookwire.v1.Nope")
