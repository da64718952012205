"""The Lua distribution outside the repository: unpacked in a temp dir, LUA_PATH pointing only
at it, a HookContext crosses Lua <-> Python, and a hook runs through its worker. Both Lua 5.4
interpreters: the system `lua5.4` (CI installs it) and lupa's bundled Lua 5.4."""

from __future__ import annotations

import os
import subprocess
import tarfile
from pathlib import Path

import pytest

from release import lua_smoke
from release.build import build_lua, lua_path
from release.errors import GateError
from release.install import unpack_lua

ROOT = Path(__file__).resolve().parents[2]
INTERPRETERS = ["lua5.4", "lupa"]


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("lua")
    return unpack_lua(build_lua(out), out / "unpacked")


def _interpreter(name: str) -> list[str]:
    found = lua_smoke.interpreters()
    if name not in found:
        pytest.skip(f"{name} is not installed (apt-get install lua5.4)")
    return found[name]


def test_the_tarball_holds_sdk_worker_codecs_and_sandbox(dist: Path) -> None:
    assert not dist.resolve().is_relative_to(ROOT)
    for rel in (
        "README.md",
        "sdk/lua/hookwire.lua",
        "sdk/lua/worker.lua",
        "generated/lua/hookwire/pb.lua",
        "generated/lua/hookwire/v1/hook.lua",
        "sdk/lua/sandbox.lua",
        "sdk/lua/convert.lua",
    ):
        assert (dist / rel).is_file(), rel
    assert not list(dist.rglob("*.py"))
    assert "LUA_PATH" in (dist / "README.md").read_text()


@pytest.mark.parametrize("name", INTERPRETERS)
def test_hook_context_crosses_lua_and_python(dist: Path, name: str) -> None:
    lua_smoke.codec_roundtrip(dist, _interpreter(name))


@pytest.mark.parametrize("name", INTERPRETERS)
def test_a_hook_runs_through_the_worker(dist: Path, name: str) -> None:
    frames = lua_smoke.worker_hook(dist, _interpreter(name))
    assert frames[0].hello.sdk == "hookwire-lua-worker/0.1.0"
    assert [h.name for h in frames[1].register.hooks] == ["guard"]
    assert frames[2].result.result.cancel.reason == "rm is not allowed"


@pytest.mark.parametrize("name", INTERPRETERS)
def test_the_readme_example_runs(dist: Path, name: str, tmp_path: Path) -> None:
    readme = (dist / "README.md").read_text()
    block = readme.split("Encode and decode messages:")[1].split("\n\n")[1]
    code = "\n".join(line.removeprefix("    ") for line in block.splitlines())
    script = tmp_path / "readme.lua"
    script.write_text(code.replace("-->", "--"))
    done = subprocess.run(
        [*_interpreter(name), str(script)],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
        env={"PATH": os.environ["PATH"], "LUA_PATH": lua_path(dist)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "c-1"


def test_without_the_generated_modules_the_worker_fails_clearly(dist: Path, tmp_path: Path) -> None:
    # LUA_PATH points only at the artefact: remove a module and nothing else supplies it.
    broken = tmp_path / "broken"
    with tarfile.open(build_lua(tmp_path / "out")) as tar:
        tar.extractall(broken, filter="data")
    (top,) = broken.iterdir()
    (top / "generated" / "lua" / "hookwire" / "pb.lua").unlink()
    with pytest.raises(GateError, match=r"hookwire\.pb"):
        lua_smoke.worker_hook(top, lua_smoke.interpreters()["lupa"])
