"""Both interpreters of the out-of-process Lua worker: the lupa fallback always, the system
`lua5.4` when it is on PATH (CI installs it). The launcher must behave like `lua5.4` for
everything worker.lua relies on, and the worker must behave the same under either."""

from __future__ import annotations

import doctest
import os
import re
import subprocess
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import ModuleType

import pytest
from hookwire.runtime import share
from hookwire.runtime.bus.event import Event
from hookwire.runtime.clock import VirtualClock
from hookwire.runtime.context import HookContext
from hookwire.runtime.executor import Executor
from hookwire.runtime.lua_process import (
    LUPA,
    LuaProcessWorker,
    choose_interpreter,
    describe_interpreter,
    find_lua,
    interpreter,
    interpreter_command,
)
from hookwire.runtime.registry import Registry
from hookwire.runtime.results import Cancel

LUA54 = find_lua()
INTERPRETERS = [
    pytest.param(LUPA, id="lupa-fallback"),
    pytest.param(
        LUA54 or "lua5.4",
        id="lua5.4",
        marks=pytest.mark.skipif(LUA54 is None, reason="no lua5.4 on PATH (CI installs it)"),
    ),
]

# What worker.lua needs of its interpreter: arg (with arg[0] and the varargs), binary stdin and
# stdout, stderr, os.exit with a status, and no Python to be seen.
PROBE = r"""
local out = io.stdout
out:write(arg[0]:match("[^/]*$"), "|", #arg, "|", table.concat(arg, ","), "|")
out:write(select("#", ...), "|", tostring(python), "|", tostring(package.loaded.python), "|")
local data = io.stdin:read("a")
out:write(#data, "|", data == BYTES and "same" or "different", "|")
out:write(data)
io.stderr:write("to stderr\n")
out:flush()
os.exit(5)
"""
BYTES = bytes(range(256)) * 3


def run_lua(
    lua: str, script: Path, *args: str, stdin: bytes = b"", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [*interpreter_command(lua), str(script), *args],
        input=stdin,
        capture_output=True,
        env=env,
        timeout=30,
    )


@pytest.mark.parametrize("lua", INTERPRETERS)
def test_the_interpreter_gives_worker_lua_what_it_needs(lua: str, tmp_path: Path) -> None:
    script = tmp_path / "probe.lua"
    bytes_literal = "".join(f"\\{b}" for b in BYTES)
    script.write_text(f'local BYTES = "{bytes_literal}"\n' + PROBE)
    done = run_lua(lua, script, "a b", "", "--x", stdin=BYTES)
    assert done.returncode == 5, done.stderr
    head = b"probe.lua|3|a b,,--x|3|nil|nil|768|same|"
    assert done.stdout == head + BYTES
    assert done.stderr == b"to stderr\n"


@pytest.mark.parametrize("lua", INTERPRETERS)
def test_an_uncaught_error_is_status_1_with_its_message(lua: str, tmp_path: Path) -> None:
    script = tmp_path / "boom.lua"
    script.write_text('local x = 1\nerror("boom")\n')
    done = run_lua(lua, script)
    assert done.returncode == 1
    first = done.stderr.decode().splitlines()[0]
    assert re.match(r"^\S*lua5\.4: .*boom\.lua:2: boom$", first), done.stderr
    assert "stack traceback" in done.stderr.decode()


@pytest.mark.parametrize("lua", INTERPRETERS)
def test_a_missing_script_is_status_1(lua: str, tmp_path: Path) -> None:
    done = run_lua(lua, tmp_path / "missing.lua")
    assert done.returncode == 1
    assert b"missing.lua" in done.stderr


@pytest.mark.parametrize("lua", INTERPRETERS)
def test_lua_path_is_honoured(lua: str, tmp_path: Path) -> None:
    (tmp_path / "mods").mkdir()
    (tmp_path / "mods" / "greet.lua").write_text('return "hello from greet"')
    script = tmp_path / "main.lua"
    script.write_text('io.stdout:write((require("greet")))')
    env = dict(os.environ, LUA_PATH=f"{tmp_path / 'mods'}/?.lua")
    env.pop("LUA_PATH_5_4", None)
    done = run_lua(lua, script, env=env)
    assert (done.returncode, done.stdout) == (0, b"hello from greet"), done.stderr


@pytest.fixture
def workers() -> Iterator[list[LuaProcessWorker]]:
    started: list[LuaProcessWorker] = []
    yield started
    for w in started:
        w.stop()


HOOKS = """
hookwire.register("before_tool_execution", function(ctx)
  if ctx.data.tool == "rm" then return hookwire.cancel("rm is not allowed") end
end, { name = "guard" })
hookwire.register("custom:slow", function()
  advance_clock_ms(60); return hookwire.skipped("took 60 ms")
end, { name = "slow" })
hookwire.register("custom:spin", function() while true do end end,
  { name = "spin", timeout_ms = 100 })
hookwire.register("custom:hog", function()
  local t = {} for i = 1, 1e9 do t[i] = string.rep("x", 4096) .. i end
end, { name = "hog", timeout_ms = 20000 })
hookwire.register("custom:say", function() hookwire.publish("said", {n = 1}) end,
  { name = "say" })
"""


class Bus:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def publish_batch(self, events: Iterable[Event]) -> list[Event]:
        self.events += events
        return self.events


@pytest.mark.parametrize("lua", INTERPRETERS)
def test_the_worker_behaves_the_same_under_each_interpreter(
    lua: str, tmp_path: Path, workers: list[LuaProcessWorker]
) -> None:
    (tmp_path / "hooks.lua").write_text(HOOKS)
    reg, clock, bus = Registry(), VirtualClock(), Bus()
    w = LuaProcessWorker(
        [tmp_path / "hooks.lua"],
        registry=reg,
        blocking=True,
        lua=lua,
        clock=clock,
        virtual_clock=True,
        memory_limit=64 << 20,
        bus=bus,
    )
    workers.append(w)
    w.start()
    assert w.interpreter == describe_interpreter(lua)
    ex = Executor(reg, clock=clock)

    def trace(point: str, data: dict[str, object] | None = None) -> list[tuple[str, str]]:
        run = ex.execute(point, HookContext(point, data or {}))
        return [(e.outcome.value, e.reason) for e in run.trace]

    run = ex.execute("before_tool_execution", HookContext("before_tool_execution", {"tool": "rm"}))
    assert run.result == Cancel("rm is not allowed")
    t0 = clock.monotonic_ns()
    assert trace("custom:slow") == [("SKIPPED", "took 60 ms")]
    assert clock.monotonic_ns() - t0 == 60_000_000
    assert [o for o, _ in trace("custom:spin")] == ["TIMEOUT"]
    assert trace("custom:hog") == [("ERROR", "Lua worker out of memory")]
    assert [o for o, _ in trace("custom:say")] == ["CONTINUE"]
    assert [(e.type, e.source_language) for e in bus.events] == [("said", "lua")]
    assert w.starts == 1  # nothing above killed the process


def test_without_lua54_on_path_the_worker_runs_on_the_fallback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: list[LuaProcessWorker]
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no lua5.4 here
    monkeypatch.delenv("HOOKWIRE_LUA", raising=False)
    assert choose_interpreter() == LUPA
    (tmp_path / "hooks.lua").write_text(HOOKS)
    reg = Registry()
    w = LuaProcessWorker([tmp_path / "hooks.lua"], registry=reg, blocking=True)
    workers.append(w)
    w.start()
    assert w.lua == LUPA and w.interpreter.startswith("lupa ")
    run = Executor(reg).execute(
        "before_tool_execution", HookContext("before_tool_execution", {"tool": "rm"})
    )
    assert run.result == Cancel("rm is not allowed")


def test_the_choice_of_interpreter(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("HOOKWIRE_LUA", raising=False)
    assert choose_interpreter("/opt/lua") == "/opt/lua"
    assert choose_interpreter() == (find_lua() or LUPA)
    monkeypatch.setenv("HOOKWIRE_LUA", LUPA)
    assert choose_interpreter() == LUPA
    assert choose_interpreter("lua5.4") == "lua5.4"  # an explicit choice wins
    fake = tmp_path / "lua5.4"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("HOOKWIRE_LUA")
    assert choose_interpreter() == str(fake)
    assert describe_interpreter(str(fake)) == f"lua5.4 ({fake})"
    assert describe_interpreter("/nonexistent/lua") == "/nonexistent/lua (not found)"


def test_a_missing_interpreter_is_a_clear_start_error(
    tmp_path: Path, workers: list[LuaProcessWorker]
) -> None:
    (tmp_path / "hooks.lua").write_text(HOOKS)
    w = LuaProcessWorker([tmp_path / "hooks.lua"], lua="/nonexistent/lua5.4")
    workers.append(w)
    with pytest.raises(Exception, match=re.escape("cannot start '/nonexistent/lua5.4'")):
        w.start()


def test_the_worker_is_told_where_its_host_files_are(tmp_path: Path) -> None:
    w = LuaProcessWorker([], lua=LUPA)
    cmd = w._command()
    assert cmd[cmd.index("--lua-dir") + 1] == str(share.lua_dir())
    assert cmd[cmd.index("--lua-dir") + 1] == str(Path(cmd[cmd.index("--lua-dir") - 1]).parent)
    for name in ("hookwire.lua", "sandbox.lua", "convert.lua", "worker.lua"):
        assert (share.lua_dir() / name).is_file()


@pytest.mark.parametrize("module", [interpreter, share], ids=lambda m: m.__name__)
def test_doctests(module: ModuleType) -> None:
    result = doctest.testmod(module)
    assert result.failed == 0
