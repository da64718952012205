"""Executor overhead, against baselines measured in the same run.

- `execute()` of a point with 1, 5 and 20 no-op synchronous hooks, breaker + timing + trace
  on (the trace records are kept; TraceEntry objects are built when `trace` is first read,
  so "+ trace read" is also shown), against pluggy 1.6 calling as many no-op hookimpls
  (goal at 5 hooks: <= 0.5x pluggy) and against a plain Python loop calling the same
  functions (the physical floor).
- `aexecute()` with 5 sync hooks, and with 5 `async def` hooks that do not suspend.
- Breaker decision + record (`acquire()` + `record_success()` / `record()`), ns per call.

The breakers are on and exact: a good call to a breaker that is CLOSED with a window full of
good calls ("quiet") is not recorded because recording it would change nothing; "execute 5
(breakers not quiet)" shows the cost when every breaker still has to record (a window too long
to fill during the run, as after a recent failure).

Method (bench/rounds.py): candidates are interleaved in ROUNDS rounds of N calls each (the
machine is shared, so timings drift) and each candidate's median round is reported, in ns per
call, with `time.perf_counter_ns`. Every call gets a fresh HookContext (pluggy and the plain
loop get the same fresh objects), built before the round's clock starts.

Example:
    python -m bench executor
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pluggy
from hookwire.runtime.breaker import BreakerConfig, CircuitBreaker
from hookwire.runtime.context import HookContext
from hookwire.runtime.executor import Executor
from hookwire.runtime.monitor import PerformanceMonitor
from hookwire.runtime.registry import Registry

from bench.rounds import interleave, verdict

POINT = "before_tool_execution"
N = 2_000
ROUNDS = 31


def _noop(ctx: Any) -> None:
    return None


async def _anoop(ctx: Any) -> None:
    return None


def _executor(
    n: int, fn: Any = _noop, monitor: bool = False, breaker: BreakerConfig | None = None
) -> Executor:
    reg = Registry()
    for i in range(n):
        reg.register(fn, name=f"h{i}", point=POINT, breaker=breaker)
    return Executor(reg, monitor=PerformanceMonitor() if monitor else None)


def _pluggy(n: int) -> Callable[..., Any]:
    spec = pluggy.HookspecMarker("bench")
    impl = pluggy.HookimplMarker("bench")

    class Spec:
        @spec
        def hook(self, ctx: Any) -> None: ...

    pm = pluggy.PluginManager("bench")
    pm.add_hookspecs(Spec)
    for i in range(n):

        class Plugin:
            @impl
            def hook(self, ctx: Any) -> None:
                return None

        pm.register(Plugin(), name=f"p{i}")
    return pm.hook.hook


def _fresh_contexts() -> list[HookContext]:
    return [HookContext(POINT, {"tool": "search", "i": i}) for i in range(N)]


def _sync_case(f: Callable[[HookContext], Any]) -> Callable[[], int]:
    def run() -> int:
        contexts = _fresh_contexts()
        t0 = time.perf_counter_ns()
        for ctx in contexts:
            f(ctx)
        return time.perf_counter_ns() - t0

    return run


def _async_case(ex: Executor) -> Callable[[], int]:
    async def loop() -> int:
        aexecute = ex.aexecute
        contexts = _fresh_contexts()
        t0 = time.perf_counter_ns()
        for ctx in contexts:
            await aexecute(POINT, ctx)
        return time.perf_counter_ns() - t0

    runner = asyncio.Runner()

    def run() -> int:
        return runner.run(loop())

    return run


def _measure(cases: dict[str, Callable[[], int]]) -> dict[str, float]:
    per_call = {name: (lambda run=run: run() / N) for name, run in cases.items()}
    return {name: m.median for name, m in interleave(per_call, ROUNDS).items()}


def run() -> None:
    cases: dict[str, Callable[[], int]] = {}
    for n in (1, 5, 20):
        ex = _executor(n)
        hook = _pluggy(n)
        fns = [_noop] * n

        def loop(ctx: HookContext, fns: list[Any] = fns) -> None:
            for f in fns:
                f(ctx)

        def execute(ctx: HookContext, ex: Executor = ex) -> Any:
            return ex.execute(POINT, ctx)

        def call_pluggy(ctx: HookContext, hook: Callable[..., Any] = hook) -> Any:
            return hook(ctx=ctx)

        cases[f"execute {n}"] = _sync_case(execute)
        cases[f"pluggy {n}"] = _sync_case(call_pluggy)
        cases[f"loop {n}"] = _sync_case(loop)
    ex5 = _executor(5)
    cases["execute 5 + trace read"] = _sync_case(lambda ctx: ex5.execute(POINT, ctx).trace)
    never_quiet = BreakerConfig(window_size=10**7, minimum_calls=5)
    ex5q = _executor(5, breaker=never_quiet)
    cases["execute 5 (breakers not quiet)"] = _sync_case(lambda ctx: ex5q.execute(POINT, ctx))
    ex5m = _executor(5, monitor=True)
    cases["execute 5 + monitor"] = _sync_case(lambda ctx: ex5m.execute(POINT, ctx))
    cases["aexecute 5 sync"] = _async_case(_executor(5))
    cases["aexecute 5 async"] = _async_case(_executor(5, _anoop))

    breaker = CircuitBreaker("b")

    def breaker_ok(ctx: HookContext) -> None:
        if breaker.acquire(0):
            breaker.record_success(0)

    breaker2 = CircuitBreaker("b2")
    calls = [0]

    def breaker_mixed(ctx: HookContext) -> None:
        # One failure in ten calls: the window is judged after every failure, never opens.
        if breaker2.acquire(0):
            calls[0] += 1
            breaker2.record(calls[0] % 10 == 0, False, 0)

    cases["breaker acquire+record_success"] = _sync_case(breaker_ok)
    cases["breaker acquire+record (1 in 10 failed)"] = _sync_case(breaker_mixed)
    cases["empty call (floor)"] = _sync_case(lambda ctx: None)

    median = _measure(cases)
    width = max(len(k) for k in median)
    print(f"{'case':<{width}}  ns/call  (median of {ROUNDS} rounds x {N} calls)")
    for name, ns in median.items():
        print(f"{name:<{width}}  {ns:8.0f}")
    print()
    for n in (1, 5, 20):
        e, p, lp = median[f"execute {n}"], median[f"pluggy {n}"], median[f"loop {n}"]
        goal = f"  (goal <= 0.50: {verdict(e / p <= 0.5)})" if n == 5 else ""
        print(
            f"{n:>2} hooks: execute / pluggy = {e / p:.2f}{goal}; "
            f"execute / plain loop = {e / lp:.1f}"
        )
    per_hook = (median["execute 20"] - median["execute 5"]) / 15
    print(f"executor cost per extra hook ~{per_hook:.0f} ns (from 5 -> 20 hooks)")
    print(
        f"aexecute 5 sync / execute 5 = {median['aexecute 5 sync'] / median['execute 5']:.2f}; "
        f"aexecute 5 async (no suspension) / pluggy 5 = "
        f"{median['aexecute 5 async'] / median['pluggy 5']:.2f}"
    )
