"""Embedded Lua hook call cost, context conversion included (issue #6 point 7).

Measured in one process, best of several rounds:
- baselines: a Python no-op hook and a Python hook reading the same two fields as the typical
  Lua hook, through `Executor.execute` (one hook at the point);
- Lua hooks through the same executor: a no-op, a typical hook reading two fields
  (`ctx.data.tool`, `ctx.data.args.limit`), one returning `hookwire.modified{...}`, and one
  walking the whole context with `pairs` (every level converted);
- the raw `LuaHookAdapter.call` of the no-op and the typical hook (no executor), the typical
  one also with a *different* context object (fresh dicts) on every call, and on its first
  call (before the adapter's read-ahead has learned which fields the hook reads);
The context is a typical one: nested data with ~20 keys, two metadata entries.
Goal: the typical Lua hook call, conversion included, <= 5 us.

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
from hookwire.runtime.results import Cancel

N = 500
REPEATS = 100
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


def best_us(fn: Callable[[], object], n: int = N, repeats: int = REPEATS) -> float:
    """Best of `repeats` rounds of `n` calls, in microseconds per call."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - start) / n)
    return best * 1e6


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

    def py_typical(c: HookContext) -> Cancel | None:
        if c.data["tool"] == "rm" or c.data["args"]["limit"] > 1000:
            return Cancel("refused")
        return None

    py_ex = executor_with(py_noop, "py-noop")
    base = best_us(lambda: py_ex.execute(POINT, ctx))
    print(f"{'python no-op hook via executor (baseline)':56s} {base:7.2f} us")
    py_typ = executor_with(py_typical, "py-typical")
    py_typ_us = best_us(lambda: py_typ.execute(POINT, ctx))
    print(f"{'python typical (reads 2 fields) via executor':56s} {py_typ_us:7.2f} us")
    rows: list[tuple[str, float]] = []
    for label, adapter in adapters.items():
        ex = executor_with(adapter, label)
        execution = ex.execute(POINT, ctx)
        assert execution.trace[0].outcome in ("CONTINUE", "MODIFIED"), execution.trace
        rows.append((f"lua {label} via executor", best_us(partial(ex.execute, POINT, ctx))))
    for label in ("noop", "typical (reads 2 fields)"):
        adapter = adapters[label]
        rows.append(
            (f"lua {label}, raw adapter.call", best_us(partial(adapter.call, ctx, 1_000_000_000)))
        )
    typical = adapters["typical (reads 2 fields)"]
    pool = fresh_contexts(N)
    rows.append(("lua typical, raw, a fresh context each call", best_fresh(typical, pool)))
    rows.append(("lua typical, raw, first call (nothing learned)", first_call_us(sb, ctx)))
    for label, us in rows:
        print(f"{label:56s} {us:7.2f} us  ({us / base:5.1f}x baseline)")
    via_executor, raw = rows[1][1], rows[5][1]
    for where, us in (("through the executor", via_executor), ("raw adapter call", raw)):
        verdict = "meets" if us <= GOAL_US else "misses"
        print(
            f"typical Lua hook call incl. context conversion, {where}: {us:.2f} us; "
            f"{verdict} the {GOAL_US:.0f} us goal"
        )


def best_fresh(adapter: LuaHookAdapter, pool: list[HookContext]) -> float:
    """Like best_us, each call with the next context of `pool`."""
    best = float("inf")
    call = adapter.call
    for _ in range(REPEATS):
        start = time.perf_counter()
        for c in pool:
            call(c, 1_000_000_000)
        best = min(best, (time.perf_counter() - start) / len(pool))
    return best * 1e6


def first_call_us(sb: LuaSandbox, ctx: HookContext) -> float:
    """The typical hook's first call: a new adapter each time (lookups cross to Python)."""
    body = LUA_HOOKS["typical (reads 2 fields)"]
    [reg] = sb.load_source(f'hookwire.register("{POINT}", function(ctx) {body} end)', "b.lua")
    fn = reg.fn
    best = float("inf")
    for _ in range(REPEATS // 5):
        fresh = [LuaHookAdapter(sb, fn) for _ in range(N)]
        start = time.perf_counter()
        for a in fresh:
            a.call(ctx, 1_000_000_000)
        best = min(best, (time.perf_counter() - start) / N)
    return best * 1e6
