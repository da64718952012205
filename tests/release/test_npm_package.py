"""@hookwire/sdk as users get it: packed, installed from the tarball into a scratch project
outside the repository, type-checked by a consumer under `tsc --strict`, and run (worker and
client) against a real `hookwire serve`."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from release import npm_check
from release.build import build_npm
from release.errors import GateError
from release.install import npm_project

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def packed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    out = tmp_path_factory.mktemp("npm")
    tarball = build_npm(out)
    return tarball, npm_project(tarball, out / "project")


def test_the_tarball_carries_the_bindings_and_no_tests(packed: tuple[Path, Path]) -> None:
    tarball, _ = packed
    names = npm_check.check_tarball(tarball)
    assert "package/generated/hookwire/v1/executor_service_wire.js" in names
    assert not [n for n in names if "/test" in n or "/bench/" in n or n.endswith(".py")]
    with tarfile.open(tarball) as tar:
        f = tar.extractfile("package/src/client.js")
        assert f is not None
        source = f.read().decode()
    # Every import of the sources stays inside the package: the bindings through the package's
    # own `imports` map (#generated/* -> ./generated/*).
    assert "../../../generated" not in source and 'from "#generated/' in source
    with tarfile.open(tarball) as tar:
        f = tar.extractfile("package/package.json")
        assert f is not None
        manifest = json.loads(f.read())
    assert manifest["imports"] == {"#generated/*": "./generated/*"}


def test_the_checkout_pack_includes_the_generated_copy_and_restores_the_link() -> None:
    done = subprocess.run(
        ["npm", "pack", "--dry-run", "--json"],
        cwd=ROOT / "sdk" / "js",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    files = {f["path"] for f in json.loads(done.stdout)[0]["files"]}
    assert "generated/hookwire/v1/hook_pb.js" in files
    assert not [f for f in files if f.startswith(("test/", "bench/", "test-support/"))]
    assert (ROOT / "sdk" / "js" / "generated").is_symlink()


def test_installed_package_resolves_outside_the_repository(packed: tuple[Path, Path]) -> None:
    _, project = packed
    assert not project.resolve().is_relative_to(ROOT)
    real = (project / "node_modules" / "@hookwire" / "sdk").resolve()
    assert not real.is_relative_to(ROOT) and (real / "generated").is_dir()
    assert not (real / "generated").is_symlink()


@pytest.mark.parametrize("resolution", ["nodenext", "bundler", "node10"])
def test_a_consumer_type_checks_under_strict(packed: tuple[Path, Path], resolution: str) -> None:
    _, project = packed
    ok = npm_check.typecheck_consumer(project, resolution=resolution)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    bad_source = (Path(npm_check.__file__).parent / "npm_consumer.ts").read_text()
    bad = npm_check.typecheck_consumer(
        project,
        bad_source.replace('failurePolicy: "FAIL_CLOSED"', 'failurePolicy: "NOPE"'),
        resolution,
    )
    assert bad.returncode != 0 and "NOPE" in bad.stdout


def test_worker_and_client_from_the_tarball_against_hookwire_serve(
    packed: tuple[Path, Path],
) -> None:
    _, project = packed
    seen = npm_check.run_smoke(project, sys.executable)
    assert seen["rm"] == {"kind": "cancel", "reason": "rm is not allowed"}
    assert seen["ls"] == {"kind": "modified", "data": {"tool": "ls", "checked": True}}
    assert seen["trace"] == [["guard", "javascript", "MODIFIED"]]
    assert seen["event"]["type"] == "tool.invoked" and seen["event"]["payload"] == {"tool": "ls"}


def test_the_repository_root_resolves_the_workspace_package() -> None:
    done = subprocess.run(
        ["node", "-e", 'import("@hookwire/sdk").then(m => console.log(typeof m.createWorker))'],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and done.stdout.strip() == "function", done.stderr


def test_a_source_importing_outside_the_package_is_refused(
    packed: tuple[Path, Path], tmp_path: Path
) -> None:
    tarball, _ = packed
    # The same tarball with one source importing the repository's bindings, as src/ once did.
    bad = tmp_path / "bad.tgz"
    with tarfile.open(tarball) as src, tarfile.open(bad, "w:gz") as dst:
        for member in src.getmembers():
            f = src.extractfile(member)
            data = f.read() if f is not None else b""
            if member.name == "package/src/context.js":
                data = data.replace(b'from "#generated/', b'from "../../../generated/js/')
                member.size = len(data)
            dst.addfile(member, io.BytesIO(data))
    with pytest.raises(GateError, match=r"outside the package in \['package/src/context.js'\]"):
        npm_check.check_tarball(bad)
