"""Property test Python -> JS -> Python: random valid messages encoded by Python are decoded and
re-encoded by protobuf-es (binary, and binary -> proto3 JSON -> binary) and parse back equal.

One node process (tests/js/roundtrip.mjs) serves every example of the session, line by line.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from google.protobuf.message import Message
from hookwire.codegen.decode import decode, message_class
from hookwire.codegen.vectors import build_vectors
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tests" / "js" / "roundtrip.mjs"


class NodeCodec:
    """A running roundtrip.mjs: send (message name, bytes), get protobuf-es's two re-encodings."""

    def __init__(self) -> None:
        node = shutil.which("node")
        if node is None or not (ROOT / "node_modules" / "@bufbuild" / "protobuf").exists():
            pytest.fail("node and node_modules (npm ci) are required for the JS round trip")
        self.process = subprocess.Popen(
            [node, str(SCRIPT)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )

    def roundtrip(self, name: str, data: bytes) -> tuple[bytes, bytes]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(f"{name} {data.hex()}\n")
        self.process.stdin.flush()
        answer = self.process.stdout.readline().rstrip("\n")
        status, _, rest = answer.partition(" ")
        if status != "OK":
            raise AssertionError(f"protobuf-es rejected {name} {data.hex()}: {answer!r}")
        binary, _, via_json = rest.partition(" ")
        return bytes.fromhex(binary), bytes.fromhex(via_json)

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=10)


@pytest.fixture(scope="session")
def node_codec() -> Iterator[NodeCodec]:
    codec = NodeCodec()
    yield codec
    codec.close()


def test_node_reports_rejected_input(node_codec: NodeCodec) -> None:
    with pytest.raises(AssertionError, match="premature EOF"):
        node_codec.roundtrip("hookwire.v1.CancelResult", bytes([0x0A, 0x05]))


@pytest.mark.parametrize("name", sorted(build_vectors()))
def test_golden_vector_through_js(node_codec: NodeCodec, name: str) -> None:
    pb = build_vectors()[name]
    data = pb.SerializeToString(deterministic=True)
    binary, via_json = node_codec.roundtrip(pb.DESCRIPTOR.full_name, data)
    assert binary == data
    assert decode(type(pb), via_json) == pb


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_random_messages_python_js_python(
    node_codec: NodeCodec,
    message_name: str,
    message_strategy: Callable[[str], st.SearchStrategy[Message]],
    data: st.DataObject,
) -> None:
    original = data.draw(message_strategy(message_name))
    encoded = original.SerializeToString(deterministic=True)
    binary, via_json = node_codec.roundtrip(message_name, encoded)
    cls = message_class(message_name)
    assert decode(cls, binary) == original
    assert decode(cls, via_json) == original
    # Bytes are not compared: protobuf-es holds maps as JS objects, which put integer-like keys
    # ("0", "7") first, so map entries may come back in another (equally valid) order.
    assert len(binary) == len(encoded)
