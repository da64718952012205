"""`run()` overhead (docs/semantics.md section 7), against two bare `execute()` calls, same run.

`run()` wraps an operation with its before and after points: it builds a fresh context per
point (operation, attempt metadata, correlation id, timestamp), executes both points, applies
their results and returns a RunResult. The baseline does only the unavoidable part by hand:
`execute(before)`, the operation, `execute(after)`, with contexts built once outside the loop.
Both sides run the same hooks (1 or 5 no-op synchronous hooks at each point) on the same
executor. Reported: ns per call for `Runner.run` (runner built once), the `run()` function
(builds a Runner per call) and the baseline, and the ratios to the baseline.

Method (bench/rounds.py): candidates interleaved in ROUNDS rounds of N calls, the median round
per candidate, `time.perf_counter_ns`, GC off while timing.

Example:
    python -m bench run
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from hookwire.runtime.context import HookContext, Operation
from hookwire.runtime.executor import Executor
from hookwire.runtime.registry import Registry
from hookwire.runtime.run import Runner, RunPoints
from hookwire.runtime.run import run as run_operation

from bench.rounds import interleave

N = 1_000
ROUNDS = 60
POINTS = RunPoints.tool()
PARAMS: dict[str, Any] = {"query": "weather in Lisbon", "limit": 5}


def _noop(ctx: Any) -> None:
    return None


def _operation(params: dict[str, Any]) -> Any:
    return {"hits": params["limit"]}


def _executor(hooks: int) -> Executor:
    reg = Registry()
    for point in (POINTS.before, POINTS.after):
        for i in range(hooks):
            reg.register(_noop, name=f"{point}-{i}", point=point)
    return Executor(reg)


def _timed(f: Callable[[], Any]) -> Callable[[], int]:
    def loop() -> int:
        t0 = time.perf_counter_ns()
        for _ in range(N):
            f()
        return time.perf_counter_ns() - t0

    return loop


def _measure(cases: dict[str, Callable[[], int]]) -> dict[str, float]:
    per_call = {name: (lambda loop=loop: loop() / N) for name, loop in cases.items()}
    return {name: m.median for name, m in interleave(per_call, ROUNDS).items()}


def _cases(hooks: int) -> dict[str, Callable[[], int]]:
    ex = _executor(hooks)
    runner = Runner(ex)
    op = Operation("search", "op-1", PARAMS)
    before_ctx = HookContext(POINTS.before, {"params": PARAMS}, operation=op)
    after_ctx = HookContext(POINTS.after, {"params": PARAMS, "output": {"hits": 5}}, operation=op)
    execute = ex.execute

    def bare() -> Any:
        execute(POINTS.before, before_ctx)
        output = _operation(PARAMS)
        execute(POINTS.after, after_ctx)
        return output

    def with_runner() -> Any:
        return runner.run("search", PARAMS, _operation).output

    def with_run() -> Any:
        return run_operation(ex, "search", PARAMS, _operation).output

    if with_runner() != bare() or with_run() != bare():
        raise RuntimeError("run() and the bare calls disagree on the output")
    return {
        f"2 x execute + operation ({hooks} hooks/point)": _timed(bare),
        f"Runner.run ({hooks} hooks/point)": _timed(with_runner),
        f"run() ({hooks} hooks/point)": _timed(with_run),
    }


def run_bench() -> dict[str, float]:
    """ns per call of every case (see the module docstring)."""
    cases: dict[str, Callable[[], int]] = {}
    for hooks in (1, 5):
        cases.update(_cases(hooks))
    return _measure(cases)


def run() -> None:
    median = run_bench()
    width = max(len(k) for k in median)
    print(f"{'case':<{width}}  ns/call  (median of {ROUNDS} rounds x {N} calls)")
    for name, ns in median.items():
        print(f"{name:<{width}}  {ns:8.0f}")
    print()
    for hooks in (1, 5):
        base = median[f"2 x execute + operation ({hooks} hooks/point)"]
        runner = median[f"Runner.run ({hooks} hooks/point)"]
        fn = median[f"run() ({hooks} hooks/point)"]
        print(
            f"{hooks} hooks/point: Runner.run / bare = {runner / base:.2f} "
            f"(+{runner - base:.0f} ns); run() / bare = {fn / base:.2f} (+{fn - base:.0f} ns)"
        )
