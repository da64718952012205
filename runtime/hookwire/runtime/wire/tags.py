"""Field tags of protobuf messages, read from their descriptors.

Code that writes or scans encoded messages by hand (the Subscribe fast path in
hookwire.runtime.server.event_frames, the depth check of an encoded JsonValue in
hookwire.runtime.wire.json) takes its tags from here: a tag is `field number << 3 | wire
type`, and both come from the schema, so renumbering a field in a .proto cannot leave a
stale byte behind.

Example:
    >>> from hookwire.v1 import event_pb2, json_pb2
    >>> field_tag(event_pb2.UniversalEvent, "sequence")  # field 7, varint
    b'8'
    >>> field_key(json_pb2.JsonValue, "array_value")  # field 6, length-delimited
    50
"""

from __future__ import annotations

from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from hookwire.runtime.framing import encode_varint

__all__ = ["field_key", "field_tag", "wire_type"]

VARINT, I64, LEN, I32 = 0, 1, 2, 5
_T = FieldDescriptor
_FIXED64 = {_T.TYPE_DOUBLE, _T.TYPE_FIXED64, _T.TYPE_SFIXED64}
_FIXED32 = {_T.TYPE_FLOAT, _T.TYPE_FIXED32, _T.TYPE_SFIXED32}
_DELIMITED = {_T.TYPE_STRING, _T.TYPE_BYTES, _T.TYPE_MESSAGE}


def wire_type(field: Any) -> int:
    """The wire type a field's values are encoded with (packed repeated scalars: LEN);
    `field` is a FieldDescriptor."""
    if field.type in _DELIMITED or field.is_packed:
        return LEN
    if field.type in _FIXED64:
        return I64
    if field.type in _FIXED32:
        return I32
    if field.type == _T.TYPE_GROUP:
        raise ValueError(f"{field.full_name}: groups are not supported")
    return VARINT


def field_key(message: type[Message], name: str) -> int:
    """The tag of field `name` of `message` as an int (what a varint reader returns)."""
    field = message.DESCRIPTOR.fields_by_name[name]
    return field.number << 3 | wire_type(field)


def field_tag(message: type[Message], name: str) -> bytes:
    """The tag of field `name` of `message`, encoded (the bytes before each of its values)."""
    return encode_varint(field_key(message, name))
