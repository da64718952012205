"""`python -m hookwire.codegen.generate` is deterministic and generated/ is current.

Runs the whole generator (protoc, every plugin, protoc-gen-es, datamodel-code-generator) twice
into copies of the repository root and compares every byte with each other and with the
committed generated/ tree. Needs node_modules (npm ci), as CI has.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _tree(directory: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(directory)): path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }


def _generate_into(root: Path) -> dict[str, bytes]:
    (root / "proto").symlink_to(ROOT / "proto", target_is_directory=True)
    (root / "node_modules").symlink_to(ROOT / "node_modules", target_is_directory=True)
    done = subprocess.run(
        [sys.executable, "-m", "hookwire.codegen.generate", "--root", str(root)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return _tree(root / "generated")


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, bytes], dict[str, bytes]]:
    if not (ROOT / "node_modules" / ".bin" / "protoc-gen-es").exists():
        pytest.fail("node_modules/.bin/protoc-gen-es is missing: run `npm ci` first")
    first = _generate_into(tmp_path_factory.mktemp("first"))
    second = _generate_into(tmp_path_factory.mktemp("second"))
    return first, second


def test_two_runs_are_byte_identical(two_runs: tuple[dict[str, bytes], dict[str, bytes]]) -> None:
    first, second = two_runs
    assert sorted(first) == sorted(second)
    changed = [name for name in first if first[name] != second[name]]
    assert changed == []


def test_every_target_is_produced(two_runs: tuple[dict[str, bytes], dict[str, bytes]]) -> None:
    first, _ = two_runs
    for expected in (
        "python/hookwire/v1/hook_pb2.py",
        "python/hookwire/v1/hook_pb2.pyi",
        "python/hookwire/v1/executor_service_pb2_grpc.py",
        "python/hookwire/v1/py.typed",
        "js/hookwire/v1/hook_pb.js",
        "js/hookwire/v1/hook_pb.d.ts",
        "js/hookwire/v1/hook_wire.js",
        "js/hookwire/v1/hook_wire.d.ts",
        "js/hookwire/wire_runtime.js",
        "js/google/protobuf/timestamp_wire.js",
    ):
        assert expected in first, expected
    assert any(name.startswith("lua/") for name in first)
    # hookwire is a namespace package: no __init__.py at its root.
    assert "python/hookwire/__init__.py" not in first


@pytest.mark.parametrize("target", ["python", "js", "lua"])
def test_committed_generated_tree_is_current(
    two_runs: tuple[dict[str, bytes], dict[str, bytes]], target: str
) -> None:
    first, _ = two_runs
    fresh = {k: v for k, v in first.items() if k.startswith(target + "/")}
    committed = {f"{target}/{k}": v for k, v in _tree(ROOT / "generated" / target).items()}
    assert sorted(committed) == sorted(fresh), "run `nox -s generate` and commit generated/"
    stale = [name for name in fresh if fresh[name] != committed[name]]
    assert stale == [], "run `nox -s generate` and commit generated/"
