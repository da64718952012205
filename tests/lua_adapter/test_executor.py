"""Lua hooks through the executor: outcomes, classification and chains (docs/semantics.md 3)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from hookwire.runtime.clock import VirtualClock
from hookwire.runtime.context import HookContext
from hookwire.runtime.executor import Executor
from hookwire.runtime.lua import LuaSandbox, load_lua_hooks
from hookwire.runtime.registry import Registry
from hookwire.runtime.results import Cancel, Modified, Outcome


def chain(tmp_path: Path, text: str, clock: VirtualClock | None = None) -> Executor:
    # Virtual time: a busy machine cannot turn a quick hook into a TIMEOUT.
    clock = clock if clock is not None else VirtualClock()
    (tmp_path / "hooks.lua").write_text(text)
    registry = Registry()
    load_lua_hooks(tmp_path, registry, LuaSandbox(clock=clock))
    return Executor(registry, clock=clock)


def test_runaway_hook_is_timeout_under_a_virtual_clock(tmp_path: Path) -> None:
    # The virtual clock never moves while Lua spins: the real-time instruction budget stops
    # the hook, the adapter raises HookTimedOut, the executor records TIMEOUT.
    clock = VirtualClock()
    ex = chain(
        tmp_path,
        'hookwire.register("session_start", function(ctx) while true do end end, '
        '{name = "spin", timeout_ms = 50})\n'
        'hookwire.register("session_start", function(ctx) return hookwire.modified{after = 1} '
        'end, {name = "next", priority = 1})\n',
        clock,
    )
    start = time.perf_counter()
    execution = ex.execute("session_start", HookContext("session_start", {}))
    assert 0.05 <= time.perf_counter() - start < 5.0
    spin, nxt = execution.trace
    assert (spin.hook_name, spin.outcome, spin.reason) == ("spin", Outcome.TIMEOUT, "timeout")
    assert spin.language == "lua"
    assert spin.duration_ns == 0  # virtual time did not move
    assert nxt.outcome == Outcome.MODIFIED
    assert execution.result == Modified({"after": 1})


def test_fail_closed_timeout_cancels_the_chain(tmp_path: Path) -> None:
    ex = chain(
        tmp_path,
        'hookwire.register("session_start", function(ctx) while true do end end, '
        '{name = "spin", timeout_ms = 20, failure_policy = "fail_closed"})\n',
        VirtualClock(),
    )
    execution = ex.execute("session_start", HookContext("session_start", {}))
    assert execution.result == Cancel("hook spin failed: timeout")


def test_error_and_invalid_result_outcomes(tmp_path: Path) -> None:
    ex = chain(
        tmp_path,
        'hookwire.register("session_start", function(ctx)\n  error("boom")\nend, {name = "e"})\n'
        'hookwire.register("session_start", function(ctx) return "ok" end, {name = "i"})\n'
        'hookwire.register("session_start", function(ctx) error({code = 7, message = "bad"}) end,'
        ' {name = "t"})\n',
    )
    execution = ex.execute("session_start", HookContext("session_start", {}))
    assert [(t.hook_name, t.outcome, t.reason) for t in execution.trace] == [
        ("e", Outcome.ERROR, "hooks.lua:2: boom"),
        ("i", Outcome.ERROR, "invalid_result"),
        ("t", Outcome.ERROR, "hooks.lua:5: bad"),
    ]


def test_lua_hook_advancing_virtual_time_is_slow_or_timeout(tmp_path: Path) -> None:
    # A Lua hook "takes 60 ms" of virtual time: the executor measures it on its clock.
    clock = VirtualClock()
    sb = LuaSandbox(clock=clock)
    sb.expose("tick", clock.advance_ms)
    (tmp_path / "slow.lua").write_text(
        'hookwire.register("session_start", function(ctx) tick(60) end, {name = "slow"})\n'
        'hookwire.register("session_start", function(ctx) tick(150) end, {name = "late"})\n'
    )
    from hookwire.runtime.lua import read_lua_hooks

    registry = Registry()
    for reg, adapter in read_lua_hooks(tmp_path, sb):
        registry.register(adapter, name=reg.name, point=reg.point)
    execution = Executor(registry, clock=clock).execute(
        "session_start", HookContext("session_start", {})
    )
    assert [(t.hook_name, t.outcome, t.duration_ns, t.slow) for t in execution.trace] == [
        ("slow", Outcome.CONTINUE, 60_000_000, True),
        ("late", Outcome.TIMEOUT, 150_000_000, True),
    ]


def test_aexecute_runs_lua_hooks(tmp_path: Path) -> None:
    ex = chain(
        tmp_path,
        'hookwire.register("session_start", function(ctx) '
        "return hookwire.modified{n = ctx.data.n + 1} end)\n",
    )
    execution = asyncio.run(ex.aexecute("session_start", HookContext("session_start", {"n": 1})))
    assert execution.result == Modified({"n": 2})


@pytest.mark.parametrize("n", [3])
def test_chain_of_lua_hooks_sees_patched_data(tmp_path: Path, n: int) -> None:
    text = "".join(
        f'hookwire.register("session_start", function(ctx) '
        f"return hookwire.modified{{count = (ctx.data.count or 0) + 1, h{i} = true}} end, "
        f'{{name = "h{i}", priority = {i}}})\n'
        for i in range(n)
    )
    execution = chain(tmp_path, text).execute("session_start", HookContext("session_start", {}))
    assert execution.result == Modified({"count": n, "h0": True, "h1": True, "h2": True})
