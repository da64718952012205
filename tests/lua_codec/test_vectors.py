"""Every golden vector (conformance/vectors/*.json) round-trips through the generated Lua codec,
in lupa's Lua 5.4 and in the system lua5.4.

For each vector: Lua decodes the binary and re-encodes it to exactly the bytes Python's
deterministic serialization gives (map entries included: the Lua encoder uses upb's order);
Lua's to_json parses in Python (json_format) to the same message; Lua's from_json of the
vector's JSON encodes to bytes Python parses to the same message.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import descriptor_pool, json_format, message_factory
from google.protobuf.descriptor import Descriptor
from google.protobuf.message import Message
from hookwire.v1 import (  # noqa: F401  (registers every hookwire message in the default pool)
    event_pb2,
    event_service_pb2,
    executor_service_pb2,
    hook_pb2,
    json_pb2,
    replay_pb2,
)

VECTORS = Path(__file__).resolve().parents[2] / "conformance" / "vectors"
VECTOR_FILES = sorted(VECTORS.glob("*.json"))
OPS = ("bin2bin", "bin2json", "json2bin")


def _load(path: Path) -> tuple[dict[str, Any], Descriptor, Message]:
    vector = json.loads(path.read_text())
    descriptor = descriptor_pool.Default().FindMessageTypeByName(vector["message"])
    expected = message_factory.GetMessageClass(descriptor).FromString(
        bytes.fromhex(vector["binary_hex"])
    )
    return vector, descriptor, expected


def _payload(op: str, vector: dict[str, Any]) -> bytes:
    if op == "json2bin":
        return json.dumps(vector["json"]).encode()
    return bytes.fromhex(vector["binary_hex"])


def _check(op: str, expected: Message, out: bytes) -> None:
    cls = type(expected)
    if op == "bin2json":
        got = json_format.Parse(out.decode(), cls())
    else:
        got = cls.FromString(out)
        assert out == expected.SerializeToString(deterministic=True)
    assert got == expected


def test_vectors_exist() -> None:
    assert len(VECTOR_FILES) >= 20, f"expected the golden vectors in {VECTORS}"


@pytest.mark.parametrize("path", VECTOR_FILES, ids=lambda p: p.stem)
def test_vector_in_lupa(lua: Any, path: Path) -> None:
    vector, descriptor, expected = _load(path)
    for op in OPS:
        _check(op, expected, lua.ok(op, descriptor, _payload(op, vector)))


def test_vectors_in_system_lua(
    system_lua: Callable[[Sequence[tuple[str, Descriptor, bytes]]], list[tuple[bool, bytes]]],
) -> None:
    loaded = [_load(p) for p in VECTOR_FILES]
    requests = [(op, d, _payload(op, v)) for v, d, _ in loaded for op in OPS]
    outcomes = iter(system_lua(requests))
    for vector, _, expected in loaded:
        for op in OPS:
            ok, out = next(outcomes)
            assert ok, f"{vector['name']} {op}: {out.decode()}"
            _check(op, expected, out)
