"""HOOKWIRE_LUA_DIST: the Lua adapters load an unpacked Lua distribution instead of the
package's own copies (the release gate runs the matrix's Lua columns on the tarball so)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hookwire.runtime import share
from hookwire.runtime.context import HookContext
from hookwire.runtime.executor import Executor
from hookwire.runtime.lua import LuaSandbox, load_lua_hooks
from hookwire.runtime.registry import Registry
from hookwire.runtime.results import Replace


def _dist(tmp_path: Path) -> Path:
    root = tmp_path / "hookwire-lua"
    shutil.copytree(share.lua_dir(), root / "sdk" / "lua")
    shutil.copytree(share.generated_lua_dir(), root / "generated" / "lua")
    return root


def test_every_lua_folder_comes_from_the_distribution(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _dist(tmp_path)
    monkeypatch.setenv(share.DIST_ENV, str(root))
    assert share.lua_dir() == root / "sdk" / "lua"
    assert share.generated_lua_dir() == root / "generated" / "lua"


def test_the_embedded_sandbox_is_built_from_the_distribution(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _dist(tmp_path)
    monkeypatch.setenv(share.DIST_ENV, str(root))
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "h.lua").write_text(
        'hookwire.register("before_tool_execution", function(ctx) '
        'return hookwire.replace("from the dist") end, {name = "h"})'
    )
    registry = Registry()
    load_lua_hooks(hooks, registry, LuaSandbox())
    run = Executor(registry).execute("before_tool_execution", HookContext("before_tool_execution"))
    assert run.result == Replace("from the dist")
    # Without its convert.lua the distribution cannot build a sandbox, naming the file.
    (root / "sdk" / "lua" / "convert.lua").unlink()
    with pytest.raises(FileNotFoundError, match=r"convert\.lua"):
        LuaSandbox()


def test_a_wrong_distribution_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(share.DIST_ENV, str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r"HOOKWIRE_LUA_DIST=.*no sdk/lua there"):
        share.lua_dir()
