"""Strict binary decoding of hookwire messages: one typed error, naming the message, or a message.

The protobuf runtime already rejects truncated input, over-long varints and invalid UTF-8 with
``google.protobuf.message.DecodeError``. One corruption it accepts: a *known* field number sent
with the wrong wire type (a string field arriving as a varint) is kept as an unknown field and
the field reads as unset -- a silent drop. ``decode`` rejects that too, at any depth.

Example:
    >>> from hookwire.v1 import hook_pb2
    >>> decode(hook_pb2.CancelResult, bytes.fromhex("0a026e6f")).reason
    'no'
    >>> try:
    ...     decode(hook_pb2.CancelResult, bytes.fromhex("0801"))
    ... except MessageDecodeError as error:
    ...     print(error.reason)
    field 'reason' (number 1) has wire type 0 (varint), expected 2 (length-delimited)
"""

from __future__ import annotations

from typing import TypeVar

from google.protobuf import descriptor_pool, message_factory
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import DecodeError, Message
from google.protobuf.unknown_fields import UnknownFieldSet
from hookwire.v1 import (  # noqa: F401  (loads every hookwire message into the pool)
    common_pb2,
    event_pb2,
    event_service_pb2,
    executor_service_pb2,
    hook_pb2,
    json_pb2,
    replay_pb2,
)

M = TypeVar("M", bound=Message)

WIRE_NAMES = {0: "varint", 1: "64-bit", 2: "length-delimited", 3: "start-group", 5: "32-bit"}
_FD = FieldDescriptor
_FIXED64 = {_FD.TYPE_DOUBLE, _FD.TYPE_FIXED64, _FD.TYPE_SFIXED64}
_FIXED32 = {_FD.TYPE_FLOAT, _FD.TYPE_FIXED32, _FD.TYPE_SFIXED32}
_LENGTH = {_FD.TYPE_STRING, _FD.TYPE_BYTES, _FD.TYPE_MESSAGE}


class MessageDecodeError(DecodeError):
    """Bytes that are not a valid encoding of ``message_type`` (named in the text)."""

    def __init__(self, message_type: str, reason: str) -> None:
        super().__init__(f"{message_type}: {reason}")
        self.message_type = message_type
        self.reason = reason


def _expected_wire_type(field_type: int) -> int:
    if field_type in _LENGTH:
        return 2
    if field_type in _FIXED64:
        return 1
    if field_type in _FIXED32:
        return 5
    if field_type == _FD.TYPE_GROUP:
        return 3
    return 0


def _check(message: Message, path: str) -> None:
    descriptor = message.DESCRIPTOR
    unknowns = UnknownFieldSet(message)
    for index in range(len(unknowns)):
        unknown = unknowns[index]
        field = descriptor.fields_by_number.get(unknown.field_number)
        if field is None:
            continue  # a genuinely unknown field (newer schema): kept, as proto3 requires
        entry = field.message_type
        if unknown.wire_type == 2 and entry is not None and entry.GetOptions().map_entry:
            # A map entry holding fields other than key and value: upb keeps it out of the map
            # (among the unknown fields), as the Lua and JS decoders do; its key and value
            # must still be well formed.
            try:
                held = message_class(entry.full_name).FromString(unknown.data)
            except DecodeError as error:
                raise MessageDecodeError(f"{path}.{field.name}[]", str(error)) from error
            _check(held, f"{path}.{field.name}[]")
            continue
        expected = _expected_wire_type(field.type)
        raise MessageDecodeError(
            path,
            f"field '{field.name}' (number {field.number}) has wire type {unknown.wire_type} "
            f"({WIRE_NAMES.get(unknown.wire_type, 'invalid')}), expected {expected} "
            f"({WIRE_NAMES[expected]})",
        )
    for field, value in message.ListFields():
        entry = field.message_type
        if field.type != _FD.TYPE_MESSAGE or entry is None:
            continue
        if entry.GetOptions().map_entry:
            value_field = entry.fields_by_name["value"]
            if value_field.type == _FD.TYPE_MESSAGE:
                for key, item in value.items():
                    _check(item, f"{path}.{field.name}[{key!r}]")
        elif field.is_repeated:
            for position, item in enumerate(value):
                _check(item, f"{path}.{field.name}[{position}]")
        else:
            _check(value, f"{path}.{field.name}")


def message_class(full_name: str) -> type[Message]:
    """The generated class of a hookwire message by its full proto name.

    >>> message_class("hookwire.v1.HookContext").__name__
    'HookContext'
    """
    try:
        descriptor = descriptor_pool.Default().FindMessageTypeByName(full_name)
    except KeyError:
        raise KeyError(f"message_class: no message named {full_name!r} is loaded") from None
    return message_factory.GetMessageClass(descriptor)


def decode(message_type: type[M], data: bytes) -> M:
    """Parse ``data`` as ``message_type``; raise MessageDecodeError on any corruption.

    The error text starts with the full message name (and the path of a nested message).
    """
    name = message_type.DESCRIPTOR.full_name
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"decode: data must be bytes, got {type(data).__name__}")
    message = message_type()
    try:
        message.ParseFromString(bytes(data))
    except DecodeError as error:
        raise MessageDecodeError(name, str(error)) from error
    _check(message, name)
    return message
