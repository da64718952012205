"""Embedded Lua hook call cost, context conversion included.

Every candidate runs once per round, in turn (bench/rounds.py), and its figure is the median of
its rounds; every call gets a fresh context (new dicts, no identity to exploit) unless a row
says "same context":
- baselines: a bare lupa call of a no-op Lua function (the floor of any embedded call), and a
  Python no-op hook through `Executor.execute`;
- Lua hooks through the same executor: a no-op, a typical hook reading two fields
  (`ctx.data.tool`, `ctx.data.args.limit`), one returning `hookwire.modified{...}`, and one
  walking the whole context with `pairs` (every level converted);
- the raw `LuaHookAdapter.call` of the typical hook (no executor), and its first call (before
  the adapter's read-ahead has learned which fields the hook reads).
The context is a typical one: nested data with ~20 keys, two metadata entries.
Goal: a no-op and a typical Lua hook through `execute()` with a fresh context, <= 5 us.

Example:
    python -m bench lua_hook
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from typing import Any

from hookwire.runtime.context import HookContext
from hookwire.runtime.executor import Executor
from hookwire.runtime.lua import LuaHookAdapter, LuaSandbox
from hookwire.runtime.registry import Registry

from bench.rounds import interleave, verdict

N = 500
ROUNDS = 41
GOAL_US = 5.0
POINT = "before_tool_execution"

LUA_HOOKS = {
    "noop": "return nil",
    "typical (reads 2 fields)": (
        'if ctx.data.tool == "rm" or ctx.data.args.limit > 1000 then '
        'return hookwire.cancel("refused") end'
    ),
    "modified{...}": "return hookwire.modified{attempt = ctx.data.attempt + 1, checked = true}",
    "walk all (pairs)": (
        "local n = 0 local function walk(t) for k, v in pairs(t) do n = n + 1 "
        'if type(v) == "table" and v ~= hookwire.null then walk(v) end end end '
        "walk(ctx.data)"
    ),
}


def typical_context() -> HookContext:
    """~20 keys of nested data, as a tool call context might carry."""
    data: dict[str, Any] = {
        "tool": "web_search",
        "args": {
            "query": "hookwire lua sandbox",
            "limit": 10,
            "filters": ["news", "blogs", "docs"],
            "options": {"fuzzy": True, "boost": 1.5, "lang": "en"},
        },
        "user": {"id": 42, "name": "ann", "roles": ["admin", "dev"]},
        "request_id": "req-7f3a",
        "attempt": 1,
        "tags": [],
        "extra": {},
        "cost_usd": 0.0031,
        "model": "gpt-large",
        "tokens": {"input": 1200, "output": 350},
        "stream": False,
        "parent": None,
    }
    return HookContext(
        POINT, data, {"tenant": "acme", "region": "eu"}, language="python", correlation_id="c-1"
    )


def per_call_us(fn: Callable[[], object], n: int = N) -> float:
    """One round: `n` calls of `fn`, in microseconds per call."""
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n * 1e6


def each_context_us(call: Callable[[HookContext], object], pool: list[HookContext]) -> float:
    """One round: `call(c)` for every context of `pool`, in microseconds per call."""
    start = time.perf_counter()
    for c in pool:
        call(c)
    return (time.perf_counter() - start) / len(pool) * 1e6


def executor_with(hook: Any, name: str) -> Executor:
    registry = Registry()
    registry.register(hook, name=name, point=POINT, timeout_ms=1000)
    return Executor(registry)


def fresh_contexts(n: int) -> list[HookContext]:
    """`n` contexts with equal content and no shared dict (no cross-call identity to exploit)."""
    return [typical_context() for _ in range(n)]


def run() -> None:
    ctx = typical_context()
    sb = LuaSandbox()
    adapters: dict[str, LuaHookAdapter] = {}
    for label, body in LUA_HOOKS.items():
        [reg] = sb.load_source(
            f'hookwire.register("{POINT}", function(ctx) {body} end)', "bench.lua"
        )
        adapters[label] = LuaHookAdapter(sb, reg.fn, name=label)

    def py_noop(c: HookContext) -> None:
        return None

    bare = sb.lua.eval("function(x) return nil end")
    pool = fresh_contexts(N)
    cases: dict[str, Callable[[], float]] = {
        "bare lupa call of a no-op Lua function": partial(per_call_us, partial(bare, 1)),
        "python no-op hook via executor": partial(
            each_context_us, partial(executor_with(py_noop, "py").execute, POINT), pool
        ),
    }
    for label, adapter in adapters.items():
        ex = executor_with(adapter, label)
        execution = ex.execute(POINT, ctx)
        assert execution.trace[0].outcome in ("CONTINUE", "MODIFIED"), execution.trace
        cases[f"lua {label} via executor"] = partial(
            each_context_us, partial(ex.execute, POINT), pool
        )
    noop_ex = executor_with(adapters["noop"], "noop-same")
    cases["lua noop via executor, same context"] = partial(
        per_call_us, partial(noop_ex.execute, POINT, ctx)
    )
    typical = adapters["typical (reads 2 fields)"]
    cases["lua typical, raw adapter.call"] = partial(
        each_context_us, lambda c: typical.call(c, 1_000_000_000), pool
    )
    cases["lua typical, raw, first call (nothing learned)"] = partial(first_call_us, sb, ctx)
    got = interleave(cases, ROUNDS)
    bare_us = got["bare lupa call of a no-op Lua function"].median
    for name, m in got.items():
        print(
            f"{name:52s} {m.median:7.2f} us  (rounds {m.spread()}; "
            f"{m.median / bare_us:5.1f}x bare lupa)"
        )
    for label in ("noop", "typical (reads 2 fields)"):
        us = got[f"lua {label} via executor"].median
        print(
            f"Lua {label} hook via execute(), fresh context: median {us:.2f} us, "
            f"{us / bare_us:.1f}x a bare lupa call; goal <= {GOAL_US:.0f} us: "
            f"{verdict(us <= GOAL_US)}"
        )


def first_call_us(sb: LuaSandbox, ctx: HookContext) -> float:
    """One round of the typical hook's first call: a new adapter each call (its lookups cross
    to Python)."""
    body = LUA_HOOKS["typical (reads 2 fields)"]
    [reg] = sb.load_source(f'hookwire.register("{POINT}", function(ctx) {body} end)', "b.lua")
    fresh = [LuaHookAdapter(sb, reg.fn) for _ in range(N // 5)]
    start = time.perf_counter()
    for a in fresh:
        a.call(ctx, 1_000_000_000)
    return (time.perf_counter() - start) / len(fresh) * 1e6
