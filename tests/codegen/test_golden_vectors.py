"""Golden vectors: the committed files are what the script writes, match the wire format worked
out by hand, and decode/re-encode identically in Python (binary and proto3 JSON)."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format
from hookwire.codegen.decode import decode, message_class
from hookwire.codegen.vectors import build_vectors, vector_document, write_vectors

VECTORS = Path(__file__).resolve().parents[2] / "conformance" / "vectors"


def _hex(name: str) -> str:
    document: dict[str, Any] = json.loads((VECTORS / f"{name}.json").read_text("utf-8"))
    return str(document["binary_hex"])


def test_committed_files_equal_what_the_script_writes(tmp_path: Path) -> None:
    write_vectors(tmp_path)
    expected = {p.name: p.read_text("utf-8") for p in tmp_path.glob("*.json")}
    committed = {p.name: p.read_text("utf-8") for p in VECTORS.glob("*.json")}
    assert sorted(committed) == sorted(expected), "run `python -m hookwire.codegen.vectors`"
    for name, text in expected.items():
        assert committed[name] == text, f"{name} is stale: run python -m hookwire.codegen.vectors"


def test_every_service_message_has_a_vector() -> None:
    covered = {m.DESCRIPTOR.full_name for m in build_vectors().values()}
    from hookwire.v1 import event_service_pb2, executor_service_pb2

    for module in (event_service_pb2, executor_service_pb2):
        for service in module.DESCRIPTOR.services_by_name.values():
            for method in service.methods:
                assert method.input_type.full_name in covered, method.full_name
                assert method.output_type.full_name in covered, method.full_name


def test_vector_document_is_stable_json() -> None:
    vectors = build_vectors()
    text = vector_document("x", vectors["json_value_int_minus_one"])
    assert json.loads(text) == {
        "name": "x",
        "message": "hookwire.v1.JsonValue",
        "json": {"intValue": "-1"},
        "binary_hex": "1801",
    }


# Encodings computed by hand from https://protobuf.dev/programming-guides/encoding/ :
# tag = (field_number << 3) | wire_type; varints are little-endian base-128; sint64 is zigzag.
HAND_COMPUTED = {
    # field 3 varint -> tag 0x18; zigzag(-1) = 1.
    "json_value_int_minus_one": "18" + "01",
    # field 2 varint -> tag 0x10; true = 1.  Oneof members are written even when false/zero.
    "json_value_bool_true": "10" + "01",
    "json_value_bool_false": "10" + "00",
    "json_value_int_zero": "18" + "00",
    # field 1 (enum JSON_NULL = 0) -> tag 0x08, value 0.
    "json_value_null": "08" + "00",
    # zigzag(2^63-1) = 2^64-2: nine 7-bit groups of ones (first one ends in 0), then 0x01.
    "json_value_int_max": "18" + "fe" + "ff" * 8 + "01",
    # zigzag(-2^63) = 2^64-1: ten-byte varint.
    "json_value_int_min": "18" + "ff" * 9 + "01",
    # zigzag(2^53+1) = 2^54+2: low group 0000010 (+continuation) = 0x82, six empty groups
    # (bits 7..48) = 0x80 each, last group bits 49..55 holds bit 54 = 1 << 5 = 0x20.
    "json_value_int_beyond_2_53": "18" + "82" + "80" * 6 + "20",
    # field 4 fixed64 -> tag 0x21 + little-endian IEEE 754.
    "json_value_double": "21" + struct.pack("<d", -2.5e-3).hex(),
    # field 1 packed uint64: tag 0x0a, length 14, then 1 | 300 = ac 02 | 0 | 2^64-1 (10 bytes).
    "publish_response_packed": "0a" + "0e" + "01" + "ac02" + "00" + "ff" * 9 + "01",
    # HookResult.cancel (field 3, LEN) holding CancelResult.reason (field 1, LEN), UTF-8 "✗".
    "hook_result_cancel": "1a" + "10" + "0a" + "0e" + b"policy: no ".hex() + "e29c97",
    # continue (field 1) is an empty message: tag 0x0a, length 0.
    "hook_result_continue": "0a" + "00",
    "empty_continue_result": "",
    # CancelCall.call_id = 3 inside ExecutorMessage.cancel (field 4, LEN).
    "executor_message_cancel": "22" + "02" + "08" + "03",
    # Optional fields set to zero are present: window_size=0 (field 1) ... half_open_probes=0.
    "breaker_config_zeros_present": "0800"
    + "1000"
    + "19"
    + "00" * 8
    + "29"
    + "00" * 8
    + "39"
    + "00" * 8
    + "4800",
}


@pytest.mark.parametrize("name", sorted(HAND_COMPUTED))
def test_hand_computed_encoding(name: str) -> None:
    assert _hex(name) == HAND_COMPUTED[name]


def test_negative_int32_priority_is_a_ten_byte_varint() -> None:
    # HookRegistration.priority (field 4, varint) = -2^31, sign-extended to 64 bits:
    # 0xFFFFFFFF80000000 -> 80 80 80 80 f8 ff ff ff ff 01.
    assert "20" + "80808080f8ffffffff01" in _hex("hook_registration_priority_highest")
    # HookContext.timestamp (field 8, LEN: tag 0x42, 17 bytes) = Timestamp{seconds: -1,
    # nanos: 500000000} = 1969-12-31T23:59:59.5Z: seconds a 10-byte varint, nanos 0x1dcd6500.
    assert "42" + "11" + "08" + "ff" * 9 + "01" + "10" + "80cab5ee01" in _hex(
        "hook_context_distributed"
    )


def test_python_decodes_and_reencodes(vector: dict[str, Any]) -> None:
    cls = message_class(vector["message"])
    data = bytes.fromhex(vector["binary_hex"])
    from_binary = decode(cls, data)
    assert from_binary.SerializeToString(deterministic=True) == data
    from_json = json_format.ParseDict(vector["json"], cls())
    assert from_json == from_binary
    assert json_format.MessageToDict(from_binary) == vector["json"]
    assert from_json.SerializeToString(deterministic=True) == data


def test_explicit_null_differs_from_absent() -> None:
    vectors = build_vectors()
    op = vectors["operation_null_parameters_absent_result"]
    assert op.HasField("parameters") and not op.HasField("result")
    assert json.loads((VECTORS / "operation_null_parameters_absent_result.json").read_text())[
        "json"
    ] == {"type": "tool_call", "id": "op-1", "parameters": {"nullValue": "JSON_NULL"}}
