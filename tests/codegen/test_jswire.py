"""protoc-gen-hwjswire: deterministic output, refused schemas, and equivalence with protobuf-es
on a schema with every field kind (tests/codegen/jswire/hookwire/jswiretest/allkinds.proto).

The equivalence itself runs in node (sdk/js/test-support/wire_allkinds.mjs): protoc writes both
protoc-gen-es's and this plugin's output for allkinds.proto into a scratch directory, and the
script compares them on random messages, corrupted bytes and packed/unpacked lists. The
hookwire schema's own codecs are compared by node's test runner (sdk/js/test/wire_codec.test.js).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2, struct_pb2
from google.protobuf.compiler import plugin_pb2
from google.protobuf.descriptor import FileDescriptor
from hookwire.codegen.generate import _plugin_script
from hookwire.codegen.jswire.emit import camel
from hookwire.codegen.jswire.plugin import generate
from hookwire.v1 import executor_service_pb2

ROOT = Path(__file__).resolve().parents[2]
ALLKINDS = Path(__file__).with_name("jswire")
SCRIPT = ROOT / "sdk" / "js" / "test-support" / "wire_allkinds.mjs"


def _fd(module: object) -> descriptor_pb2.FileDescriptorProto:
    fd = descriptor_pb2.FileDescriptorProto()
    module.DESCRIPTOR.CopyToProto(fd)  # type: ignore[attr-defined]
    return fd


def _request(*fds: descriptor_pb2.FileDescriptorProto) -> plugin_pb2.CodeGeneratorRequest:
    request = plugin_pb2.CodeGeneratorRequest()
    request.proto_file.extend(fds)
    request.file_to_generate.append(fds[-1].name)
    return request


def _hookwire_request() -> plugin_pb2.CodeGeneratorRequest:
    """executor_service.proto and its imports, dependencies first (as protoc sends them)."""
    ordered: list[descriptor_pb2.FileDescriptorProto] = []
    seen: set[str] = set()

    def visit(file: FileDescriptor) -> None:
        if file.name in seen:
            return
        seen.add(file.name)
        for dep in file.dependencies:
            visit(dep)
        fd = descriptor_pb2.FileDescriptorProto()
        file.CopyToProto(fd)
        ordered.append(fd)

    visit(executor_service_pb2.DESCRIPTOR)
    return _request(*ordered)


def test_output_is_deterministic_and_matches_the_committed_files() -> None:
    first = {f.name: f.content for f in generate(_hookwire_request()).file}
    second = {f.name: f.content for f in generate(_hookwire_request()).file}
    assert first == second
    assert "hookwire/v1/executor_service_wire.js" in first
    assert "google/protobuf/timestamp_wire.js" in first  # imports are generated too
    for name, content in first.items():
        committed = ROOT / "generated" / "js" / name
        assert committed.read_text("utf-8") == content, f"{name} is stale: regenerate"


def test_camel_case_follows_protobuf_es() -> None:
    assert camel("call_id") == "callId"
    assert camel("name2_3x") == "name23x"  # a digit ends the word without capitalizing
    assert camel("a__b") == "aB"


def test_proto2_files_are_refused() -> None:
    fd = descriptor_pb2.FileDescriptorProto(name="hookwire/x.proto", package="hookwire.x")
    fd.syntax = "proto2"
    response = generate(_request(fd))
    assert "hookwire/x.proto: only proto3 files are supported" in response.error
    assert not response.file


def test_struct_fields_are_refused() -> None:
    fd = descriptor_pb2.FileDescriptorProto(
        name="hookwire/y.proto",
        package="hookwire.y",
        syntax="proto3",
        dependency=["google/protobuf/struct.proto"],
    )
    msg = fd.message_type.add(name="M")
    msg.field.add(
        name="s",
        number=1,
        type=descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE,
        label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL,
        type_name=".google.protobuf.Struct",
    )
    response = generate(_request(_fd(struct_pb2), fd))
    assert response.error == "hookwire.y.M.s: google.protobuf.Struct is not supported"


@pytest.fixture(scope="module")
def allkinds_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    es = ROOT / "node_modules" / ".bin" / "protoc-gen-es"
    if shutil.which("node") is None or not es.exists():
        pytest.fail("node and node_modules (npm ci) are required")
    out = tmp_path_factory.mktemp("allkinds")
    # The generated modules import @bufbuild/protobuf: resolve it from the repository.
    (out / "node_modules").symlink_to(ROOT / "node_modules", target_is_directory=True)
    wire = _plugin_script(out, "hwjswire", "hookwire.codegen.jswire")
    subprocess.run(
        [
            sys.executable, "-m", "grpc_tools.protoc", f"-I{ALLKINDS}",
            f"--plugin=protoc-gen-es={es}", "--es_opt=target=js+dts,import_extension=js",
            f"--es_out={out}", f"--plugin=protoc-gen-hwjswire={wire}", f"--hwjswire_out={out}",
            "hookwire/jswiretest/allkinds.proto",
        ],
        check=True,
        cwd=ROOT,
    )  # fmt: skip
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_field_kind_matches_protobuf_es(allkinds_out: Path, seed: int) -> None:
    done = subprocess.run(
        ["node", str(SCRIPT), str(allkinds_out), str(seed)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["schemas"] == 10
    assert summary["count"] == 10 * 150
    assert summary["crossed"] == 200
    assert summary["rejected"] > 100 and summary["accepted"] > 100
