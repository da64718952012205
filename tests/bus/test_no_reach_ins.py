"""No module of the bus reaches into another module's private members.

A module may read and write `obj._name` only where `_name` is its own (a slot, an attribute or
a method it defines) or no module of hookwire's runtime defines it (a library's, e.g.
nats-py's client), and imports no `_name` from another module. The bus, its subscription,
its transports and the event type each keep their state behind methods (`Event.unsequenced`,
`IdSource.stamp`, `Subscription.offer`, ...). The wire codecs and the server's event frames,
which read events, go through the same public methods (`Event.id_derivation`).
"""

from __future__ import annotations

import ast
from pathlib import Path

import hookwire.runtime.bus as bus_package
import pytest

BUS = Path(bus_package.__file__).parent
RUNTIME = BUS.parent
WIRE = RUNTIME / "wire"
MODULES = [
    *sorted(BUS.glob("*.py")),
    *(WIRE / name for name in ("event.py", "bus.py", "bus_publish.py", "cloudevents.py")),
    RUNTIME / "server" / "event_frames.py",
]


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _own(tree: ast.Module) -> set[str]:
    """The private names a module defines: functions, classes, slots, assigned attributes."""
    own: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            own.add(node.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
                own.add(node.attr)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name) and target.id == "__slots__":
                    for elt in ast.walk(node.value):
                        if isinstance(elt, ast.Constant) and isinstance(elt.value, str):
                            own.add(elt.value)
                elif isinstance(target, ast.Name):
                    own.add(target.id)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            own.add(node.target.id)
    return {n for n in own if _private(n)}


def _parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), str(path))


# Every private name a runtime module defines.
PROJECT = set().union(*(_own(_parse(p)) for p in RUNTIME.rglob("*.py")))


def reach_ins(path: Path, project: set[str] = PROJECT) -> list[str]:
    tree = _parse(path)
    own = _own(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("hookwire"):
            found += [f"imports {a.name}" for a in node.names if _private(a.name)]
        elif isinstance(node, ast.Attribute) and _private(node.attr):
            if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
                continue
            if node.attr not in own and node.attr in project:
                found.append(f"line {node.lineno}: .{node.attr}")
    return found


@pytest.mark.parametrize("path", MODULES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_private_reach_ins(path: Path) -> None:
    assert reach_ins(path) == []


def test_the_check_sees_a_reach_in(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        "from hookwire.runtime.bus.event import _Stamped\n"
        "class A:\n    __slots__ = ('_mine',)\n"
        "    def f(self, ev, other):\n        other._mine = ev._id\n"
    )
    assert reach_ins(module, {"_id", "_mine", "_other"}) == ["imports _Stamped", "line 5: ._id"]
