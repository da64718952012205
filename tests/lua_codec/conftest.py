"""Fixtures for the generated Lua codec: lupa runtimes, the system lua5.4, a test-only schema."""

from __future__ import annotations

import shutil
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lupa.lua54
import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.descriptor import Descriptor
from google.protobuf.message import Message

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
GENERATED_LUA = ROOT / "generated" / "lua"
DRIVER = HERE / "driver.lua"
KITCHEN_PROTO = "hookwire/testing/v1/kitchen.proto"

Outcome = tuple[bool, bytes]  # (ok, result bytes or error message)


def lua_class(descriptor: Descriptor) -> tuple[str, str]:
    """(require name, class key) of a message type in the generated Lua modules."""
    module = descriptor.file.name.removesuffix(".proto").replace("/", ".")
    key = descriptor.full_name[len(descriptor.file.package) + 1 :].replace(".", "_")
    return module, key


@dataclass
class Lua:
    """A lupa Lua 5.4 state with a generated tree on package.path and the test driver."""

    runtime: Any
    handle: Any

    def run(self, op: str, descriptor: Descriptor, payload: bytes) -> Outcome:
        module, key = lua_class(descriptor)
        ok, out = self.handle(op.encode(), module.encode(), key.encode(), payload)
        return bool(ok), bytes(out) if isinstance(out, bytes) else str(out).encode()

    def ok(self, op: str, descriptor: Descriptor, payload: bytes) -> bytes:
        ok, out = self.run(op, descriptor, payload)
        assert ok, out.decode(errors="replace")
        return out

    def error(self, op: str, descriptor: Descriptor, payload: bytes) -> str:
        ok, out = self.run(op, descriptor, payload)
        assert not ok, f"expected an error, got {out!r}"
        return out.decode()

    def eval(self, code: str, *args: Any) -> Any:
        """Run a chunk (its `...` are args) and return its result."""
        return self.runtime.execute(code.encode(), *args)


def make_lua(lua_dir: Path) -> Lua:
    runtime = lupa.lua54.LuaRuntime(encoding=None)
    runtime.execute(b'package.path = "' + str(lua_dir).encode() + b'/?.lua;" .. package.path')
    driver = runtime.execute(DRIVER.read_bytes())
    return Lua(runtime=runtime, handle=driver[b"handle"])


def run_system_lua(
    lua_dir: Path, requests: Sequence[tuple[str, Descriptor, bytes]]
) -> list[Outcome]:
    """Send requests through `lua5.4 driver.lua` in one process (skips when it is absent)."""
    exe = shutil.which("lua5.4")
    if exe is None:
        pytest.skip("lua5.4 is not installed (CI installs it; apt-get install lua5.4)")
    lines = []
    for op, descriptor, payload in requests:
        module, key = lua_class(descriptor)
        lines.append(f"{op}\t{module}\t{key}\t{payload.hex()}\n")
    proc = subprocess.run(
        [exe, str(DRIVER), str(lua_dir)],
        input="".join(lines),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    outcomes: list[Outcome] = []
    for line in proc.stdout.splitlines():
        status, _, rest = line.partition("\t")
        outcomes.append((True, bytes.fromhex(rest)) if status == "ok" else (False, rest.encode()))
    assert len(outcomes) == len(requests), proc.stderr
    return outcomes


@pytest.fixture(scope="session")
def lua() -> Lua:
    return make_lua(GENERATED_LUA)


@pytest.fixture(scope="session")
def system_lua() -> Callable[[Sequence[tuple[str, Descriptor, bytes]]], list[Outcome]]:
    return lambda requests: run_system_lua(GENERATED_LUA, requests)


def write_plugin_wrapper(directory: Path) -> Path:
    path = directory / "protoc-gen-hwlua"
    path.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m hookwire.codegen.lua "$@"\n')
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def run_plugin(include: Path, files: Sequence[str], out: Path, workdir: Path) -> None:
    """protoc with only protoc-gen-hwlua, writing Lua into out."""
    out.mkdir(parents=True, exist_ok=True)
    wrapper = write_plugin_wrapper(workdir)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            f"-I{include}",
            f"--plugin=protoc-gen-hwlua={wrapper}",
            f"--hwlua_out={out}",
            *files,
        ],
        check=True,
        timeout=120,
    )


@dataclass
class Kitchen:
    """The test-only schema compiled for Lua (by our plugin) and for Python (a private pool)."""

    lua: Lua
    lua_dir: Path
    pool: descriptor_pool.DescriptorPool

    def cls(self, name: str) -> type[Message]:
        return message_factory.GetMessageClass(self.pool.FindMessageTypeByName(name))


@pytest.fixture(scope="session")
def kitchen(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kitchen]:
    tmp = tmp_path_factory.mktemp("kitchen")
    protos = HERE / "protos"
    run_plugin(protos, [KITCHEN_PROTO], tmp / "lua", tmp)
    descriptor_set = tmp / "set.pb"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            f"-I{protos}",
            f"--descriptor_set_out={descriptor_set}",
            "--include_imports",
            KITCHEN_PROTO,
        ],
        check=True,
        timeout=120,
    )
    pool = descriptor_pool.DescriptorPool()
    for fd in descriptor_pb2.FileDescriptorSet.FromString(descriptor_set.read_bytes()).file:
        pool.Add(fd)
    yield Kitchen(lua=make_lua(tmp / "lua"), lua_dir=tmp / "lua", pool=pool)
