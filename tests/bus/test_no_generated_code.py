"""The bus works on runtime objects: no module of hookwire.runtime.bus imports generated
protobuf code (hookwire.v1, hookwire.cloudevents) or the protobuf runtime. Conversions to and
from the wire live in hookwire.runtime.wire (an Event becomes bytes in wire.event)."""

from __future__ import annotations

import ast
from pathlib import Path

import hookwire.runtime.bus as bus_package

GENERATED = ("hookwire.v1", "hookwire.cloudevents", "google.protobuf")


def _imports(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


def test_no_bus_module_imports_generated_code() -> None:
    files = sorted(Path(bus_package.__file__).parent.glob("*.py"))
    assert len(files) > 10
    offenders = {
        f.name: bad for f in files if (bad := [n for n in _imports(f) if n.startswith(GENERATED)])
    }
    assert offenders == {}
