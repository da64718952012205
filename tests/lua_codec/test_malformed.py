"""Bad bytes and bad JSON give a Lua error naming the message/field and the problem.

Every case goes through lupa and through the system lua5.4; the decode never returns a partial
message as success (pcall reports failure) and never hangs (the whole file runs in seconds).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest
from google.protobuf.descriptor import Descriptor
from hookwire.v1 import event_pb2, event_service_pb2, hook_pb2, json_pb2

CANCEL = hook_pb2.CancelResult.DESCRIPTOR
CONTEXT = hook_pb2.HookContext.DESCRIPTOR
VALUE = json_pb2.JsonValue.DESCRIPTOR


def _nested_parents(levels: int) -> bytes:
    data = b""
    for _ in range(levels):
        data = bytes([0x52, len(data)]) + data if len(data) < 128 else _with_len(data)
    return data


def _with_len(data: bytes) -> bytes:
    n, out = len(data), bytearray([0x52])
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out) + data


BINARY_CASES: list[tuple[str, Descriptor, bytes, str]] = [
    (
        "length beyond the buffer",
        CANCEL,
        bytes([0x0A, 0x05, 0x61]),
        "hookwire.v1.CancelResult.reason: length 5 beyond the buffer (1 bytes left)",
    ),
    (
        "nested message cut short",
        CONTEXT,
        bytes([0x52, 0x04, 0x08, 0x01]),
        "hookwire.v1.HookContext.parent: length 4 beyond the buffer (2 bytes left)",
    ),
    (
        "truncated varint inside a nested message",
        CONTEXT,
        bytes([0x52, 0x02, 0x08, 0xFF]),
        "hookwire.v1.HookContext: truncated varint at byte 5",
    ),
    (
        "truncated varint",
        VALUE,
        bytes([0x18, 0xFF]),
        "hookwire.v1.JsonValue: truncated varint at byte 3",
    ),
    (
        "varint longer than 10 bytes",
        VALUE,
        bytes([0x18] + [0xFF] * 10 + [0x01]),
        "hookwire.v1.JsonValue: varint longer than 10 bytes at byte 2",
    ),
    (
        "huge length",
        CANCEL,
        bytes([0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F]),
        "hookwire.v1.CancelResult.reason: length 4294967295 beyond the buffer (0 bytes left)",
    ),
    (
        "invalid UTF-8 in a string field",
        CANCEL,
        bytes([0x0A, 0x02, 0xC3, 0x28]),
        "hookwire.v1.CancelResult.reason: invalid UTF-8 in string field",
    ),
    (
        "UTF-8 surrogate in a string field",
        CANCEL,
        bytes([0x0A, 0x03, 0xED, 0xA0, 0x80]),
        "hookwire.v1.CancelResult.reason: invalid UTF-8 in string field",
    ),
    (
        "invalid UTF-8 in a map key",
        CONTEXT,
        bytes([0x2A, 0x06, 0x0A, 0x02, 0xC3, 0x28, 0x12, 0x00]),
        "hookwire.v1.HookContext.metadata entry.key: invalid UTF-8 in string field",
    ),
    (
        "map key longer than its entry (bytes after the entry must not count)",
        CONTEXT,
        bytes([0x2A, 0x03, 0x0A, 0x05, 0x61, 0x62, 0x63, 0x64, 0x65]),
        "hookwire.v1.HookContext.metadata entry.key: length 5 beyond the buffer (1 bytes left)",
    ),
    (
        "wrong wire type for a known field",
        CANCEL,
        bytes([0x08, 0x01]),
        "hookwire.v1.CancelResult: wrong wire type 0 (varint) for field 1 (reason)",
    ),
    (
        "wrong wire type for a message field",
        CONTEXT,
        bytes([0x55, 0, 0, 0, 0]),
        "hookwire.v1.HookContext: wrong wire type 5 (fixed32) for field 10 (parent)",
    ),
    (
        "wire type 7",
        CANCEL,
        bytes([0x17]),
        "hookwire.v1.CancelResult: invalid wire type 7 for field 2 at byte 2",
    ),
    (
        "field number 0",
        CANCEL,
        bytes([0x00, 0x01]),
        "hookwire.v1.CancelResult: invalid field number 0 at byte 2",
    ),
    (
        "truncated fixed64",
        VALUE,
        bytes([0x21, 0x00, 0x00]),
        "hookwire.v1.JsonValue.double_value: truncated (8-byte value at byte 2, 2 bytes left)",
    ),
    (
        "unknown length-delimited field cut short",
        CANCEL,
        bytes([0x2A, 0x0A, 0x61]),
        "hookwire.v1.CancelResult.<field 5>: length 10 beyond the buffer (1 bytes left)",
    ),
    (
        "end-group without a start",
        CANCEL,
        bytes([0x1C]),
        "hookwire.v1.CancelResult: unexpected end-group for field 3 at byte 2",
    ),
    (
        "unterminated group",
        CANCEL,
        bytes([0x1B, 0x08, 0x01]),
        "hookwire.v1.CancelResult: truncated group (field 3)",
    ),
    (
        "packed element cut short",
        event_service_pb2.PublishResponse.DESCRIPTOR,
        bytes([0x0A, 0x02, 0x01, 0xFF]),
        "hookwire.v1.PublishResponse: truncated varint at byte 5",
    ),
    (
        "nesting deeper than 100",
        CONTEXT,
        _nested_parents(101),
        "hookwire.v1.HookContext: nesting deeper than 100 messages (a cyclic table?)",
    ),
]


@pytest.mark.parametrize(
    ("descriptor", "data", "message"),
    [c[1:] for c in BINARY_CASES],
    ids=[c[0] for c in BINARY_CASES],
)
def test_bad_binary_in_lupa(lua: Any, descriptor: Descriptor, data: bytes, message: str) -> None:
    assert lua.error("bin2bin", descriptor, data) == message


def test_bad_binary_in_system_lua(
    system_lua: Callable[[Sequence[tuple[str, Descriptor, bytes]]], list[tuple[bool, bytes]]],
) -> None:
    outcomes = system_lua([("bin2bin", d, data) for _, d, data, _ in BINARY_CASES])
    for (name, _, _, message), (ok, out) in zip(BINARY_CASES, outcomes, strict=True):
        assert not ok, name
        assert out.decode() == message, name


def test_unknown_fields_are_skipped(lua: Any) -> None:
    # field 7 varint, field 8 fixed64, field 9 bytes, field 10 fixed32, field 11 group, then reason
    unknown = bytes([0x38, 0x96, 0x01, 0x41, *b"\x00" * 8, 0x4A, 0x01, 0x78, 0x55, *b"\x00" * 4])
    group = bytes([0x5B, 0x08, 0x01, 0x5C])
    data = unknown + group + bytes([0x0A, 0x02]) + b"ok"
    assert lua.ok("bin2bin", CANCEL, data) == hook_pb2.CancelResult(reason="ok").SerializeToString()


def test_unknown_enum_value_is_kept_as_a_number(lua: Any) -> None:
    data = bytes([0x08, 0xE7, 0x07])  # point = 999, not a HookPoint
    assert lua.ok("bin2bin", CONTEXT, data) == data
    assert lua.ok("bin2json", CONTEXT, data) == b'{"point":999}'
    for text in (b'{"point":999}', b'{"point":"999"}'):
        assert hook_pb2.HookContext.FromString(lua.ok("json2bin", CONTEXT, text)).point == 999


def test_last_oneof_member_wins_and_repeated_message_fields_merge(lua: Any) -> None:
    # cancel{reason:"a"} then continue{}: protobuf keeps the last member of a oneof
    data = bytes([0x1A, 0x03, 0x0A, 0x01, 0x61, 0x0A, 0x00])
    assert lua.ok("bin2bin", hook_pb2.HookResult.DESCRIPTOR, data) == bytes([0x0A, 0x00])
    # component given twice: the two halves merge
    merged = hook_pb2.HookContext.FromString(
        bytes([0x1A, 0x03, 0x0A, 0x01, 0x61, 0x1A, 0x03, 0x1A, 0x01, 0x62])
    )
    twice = bytes([0x1A, 0x03, 0x0A, 0x01, 0x61, 0x1A, 0x03, 0x1A, 0x01, 0x62])
    assert lua.ok("bin2bin", CONTEXT, twice) == merged.SerializeToString()


JSON_CASES: list[tuple[str, Descriptor, str, str]] = [
    (
        "wrong JSON type",
        CANCEL,
        '{"reason": 5}',
        "hookwire.v1.CancelResult.reason: expected a string, got number 5",
    ),
    ("unknown field", CONTEXT, '{"dat": {}}', 'hookwire.v1.HookContext: unknown field "dat"'),
    ("broken JSON", CANCEL, '{"reason": "x"', "invalid JSON at byte 15: expected ',' or '}'"),
    ("trailing text", CANCEL, "{} x", "invalid JSON at byte 4: trailing characters"),
    (
        "uint64 overflow",
        event_pb2.UniversalEvent.DESCRIPTOR,
        '{"sequence": "18446744073709551616"}',
        "hookwire.v1.UniversalEvent.sequence: 18446744073709551616 is out of range for uint64",
    ),
    (
        "fractional integer",
        hook_pb2.RetryResult.DESCRIPTOR,
        '{"maxAttempts": 1.5}',
        'hookwire.v1.RetryResult.max_attempts: "1.5" is not an integer',
    ),
    (
        "bad timestamp",
        CONTEXT,
        '{"timestamp": "2024-13-01T00:00:00Z"}',
        'hookwire.v1.HookContext.timestamp: invalid RFC 3339 timestamp "2024-13-01T00:00:00Z"'
        " (field out of range)",
    ),
    (
        "bad duration",
        hook_pb2.RetryResult.DESCRIPTOR,
        '{"delay": "1.5"}',
        'hookwire.v1.RetryResult.delay: invalid duration "1.5" (want e.g. "1.5s")',
    ),
    (
        "unknown enum name",
        CONTEXT,
        '{"point": "HOOK_POINT_NOPE"}',
        'hookwire.v1.HookContext.point: unknown hookwire.v1.HookPoint value "HOOK_POINT_NOPE"',
    ),
    (
        "two oneof members",
        hook_pb2.HookResult.DESCRIPTOR,
        '{"cancel": {}, "continue": {}}',
        "hookwire.v1.HookResult: oneof 'kind' has both 'cancel' and 'continue' set",
    ),
    (
        "lone surrogate escape",
        CANCEL,
        '{"reason": "\\ud800"}',
        "invalid JSON at byte 13: unpaired surrogate",
    ),
]


@pytest.mark.parametrize(
    ("descriptor", "text", "message"),
    [c[1:] for c in JSON_CASES],
    ids=[c[0] for c in JSON_CASES],
)
def test_bad_json(lua: Any, descriptor: Descriptor, text: str, message: str) -> None:
    assert lua.error("json2bin", descriptor, text.encode()) == message


ENCODE_CASES: list[tuple[str, str, str]] = [
    (
        "wrong scalar type",
        "return H.CancelResult.encode({ reason = 5 })",
        "hookwire.v1.CancelResult.reason: expected string, got integer 5",
    ),
    (
        "invalid UTF-8",
        'return H.CancelResult.encode({ reason = "\\xff" })',
        "hookwire.v1.CancelResult.reason: invalid UTF-8 in string field",
    ),
    (
        "int32 out of range",
        "return H.HookRegistration.encode({ priority = 1 << 31 })",
        "hookwire.v1.HookRegistration.priority: expected int32, got integer 2147483648",
    ),
    (
        "numeric string for an integer",
        'return H.HookRegistration.encode({ priority = "5" })',
        'hookwire.v1.HookRegistration.priority: expected int32, got string "5"',
    ),
    (
        "numeric string for a 64-bit integer",
        'return require("hookwire.v1.json").JsonValue.encode({ int_value = "5" })',
        'hookwire.v1.JsonValue.int_value: expected integer, got string "5"',
    ),
    (
        "two oneof members",
        "return H.HookResult.encode({ continue = {}, cancel = {} })",
        "hookwire.v1.HookResult: oneof 'kind' has both 'continue' and 'cancel' set",
    ),
    (
        "cyclic table",
        "local t = {}; t.parent = t; return H.HookContext.encode(t)",
        "hookwire.v1.HookContext: nesting deeper than 100 messages (a cyclic table?)",
    ),
    (
        "map key type",
        'return H.HookContext.encode({ metadata = { [1] = "x" } })',
        "hookwire.v1.HookContext.metadata: map key must be string, got integer 1",
    ),
    (
        "not a table",
        'return H.HookContext.encode("ctx")',
        'hookwire.v1.HookContext.encode: expected a table, got string "ctx"',
    ),
    (
        "decode of a non-string",
        "return H.HookContext.decode(5)",
        "hookwire.v1.HookContext.decode: expected a string of bytes, got integer 5",
    ),
]


@pytest.mark.parametrize(
    ("code", "message"), [c[1:] for c in ENCODE_CASES], ids=[c[0] for c in ENCODE_CASES]
)
def test_bad_encode_input(lua: Any, code: str, message: str) -> None:
    chunk = f'local H = require("hookwire.v1.hook"); return pcall(function() {code} end)'
    ok, err = lua.eval(chunk)
    assert ok is False
    assert err.decode() == message
