"""The core works on runtime objects: no core module imports generated protobuf code or the
wire package (hookwire.runtime.wire), where every conversion to hookwire.v1 lives.

The lists are explicit: a new top-level module of hookwire.runtime must be put in CORE or
EDGE, and a new bus module in BUS_CORE or BUS_EDGE.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import hookwire.runtime
import pytest

RUNTIME = Path(hookwire.runtime.__file__).parent

#: Top-level modules of hookwire.runtime that form the core.
CORE = [
    "__init__",
    "adapter",
    "breaker",
    "clock",
    "composite",
    "context",
    "errors",
    "events",
    "executor",
    "fast_path",
    "framing",
    "honoured",
    "hook_call",
    "json_value",
    "language",
    "limits",
    "monitor",
    "observer",
    "points",
    "registry",
    "replay",
    "results",
    "run",
    "share",
    "trace",
]
#: Top-level modules that are edges themselves: the command line starts the server.
EDGE = ["cli"]
#: Modules of hookwire.runtime.bus: the bus itself (free of protobuf and of the wire) ...
BUS_CORE = [
    "__init__",
    "bus",
    "event",
    "event_run",
    "guard",
    "overflow",
    "patterns",
    "retention",
    "stats",
    "subscription",
    "token_bucket",
    "transport",
]
#: ... and the distributed transport, which puts events on the wire (hookwire.runtime.wire).
BUS_EDGE = ["jetstream"]

#: Generated modules that are plain data (no imports at all), which the core may read.
PLAIN_GENERATED = {"hookwire.v1.honoured"}
FORBIDDEN = ("google.protobuf", "grpc", "hookwire.v1", "hookwire.cloudevents")
EDGE_PACKAGES = ("hookwire.runtime.wire", "hookwire.runtime.server")


def _within(name: str, packages: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every module an import statement anywhere in the file names (local imports included;
    `from a import b` yields `a.b` too, so importing a submodule by name is caught)."""
    out: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out.extend((node.lineno, a.name) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.lineno, node.module))
            out.extend((node.lineno, f"{node.module}.{a.name}") for a in node.names)
    return out


def _offences(path: Path) -> list[str]:
    bad = []
    for line, name in _imports(path):
        if _within(name, tuple(PLAIN_GENERATED)):
            continue
        if _within(name, FORBIDDEN):
            bad.append(f"{path.name}:{line}: imports {name} (generated protobuf code)")
        elif _within(name, EDGE_PACKAGES):
            bad.append(f"{path.name}:{line}: imports {name} (the edge)")
    return bad


CORE_FILES = [RUNTIME / f"{m}.py" for m in CORE] + [RUNTIME / "bus" / f"{m}.py" for m in BUS_CORE]


def test_every_top_level_module_is_classified() -> None:
    found = {p.stem for p in RUNTIME.glob("*.py")}
    assert found == set(CORE) | set(EDGE), "put new modules in CORE or EDGE"
    in_bus = {p.stem for p in (RUNTIME / "bus").glob("*.py")}
    assert in_bus == set(BUS_CORE) | set(BUS_EDGE), "put new bus modules in BUS_CORE or BUS_EDGE"


@pytest.mark.parametrize("path", CORE_FILES, ids=lambda p: str(p.relative_to(RUNTIME)))
def test_core_module_imports_no_generated_code(path: Path) -> None:
    assert _offences(path) == []


def test_the_scan_finds_top_level_local_and_from_imports(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from hookwire.v1 import hook_pb2\n"
        "import google.protobuf.message\n"
        "from hookwire.v1.honoured import HONOURED\n"
        "def f():\n"
        "    from hookwire.runtime.wire import context\n"
        "    import grpc\n"
    )
    assert [o.split(": ", 1)[1] for o in _offences(sample)] == [
        "imports hookwire.v1 (generated protobuf code)",
        "imports hookwire.v1.hook_pb2 (generated protobuf code)",
        "imports google.protobuf.message (generated protobuf code)",
        "imports hookwire.runtime.wire (the edge)",
        "imports hookwire.runtime.wire.context (the edge)",
        "imports grpc (generated protobuf code)",
    ]


def test_plain_generated_tables_import_nothing() -> None:
    import importlib

    for name in PLAIN_GENERATED:
        path = Path(importlib.import_module(name).__file__ or "")
        assert _imports(path) == [], f"{name} must stay plain data"


def test_importing_the_core_loads_no_protobuf() -> None:
    modules = [f"hookwire.runtime.{m}" for m in CORE if m != "__init__"]
    modules += [f"hookwire.runtime.bus.{m}" for m in BUS_CORE if m != "__init__"]
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "print(sorted(m for m in sys.modules if m.startswith(('google.protobuf', 'grpc'))\n"
        "      or m.endswith('_pb2')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
