"""The compiled fast path of `execute()` gives exactly what the plain loop gives.

The same scenario run on two executors, one through `execute()` (compiled) and one through
the plain loop alone (`Executor._run`), must give
the same results, traces and breaker states, whichever hook leaves the common case and however.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hookwire.runtime.breaker import BreakerConfig
from hookwire.runtime.clock import VirtualClock
from hookwire.runtime.context import HookContext
from hookwire.runtime.errors import InvalidArgument
from hookwire.runtime.executor import Executor
from hookwire.runtime.monitor import PerformanceMonitor
from hookwire.runtime.registry import Registry
from hookwire.runtime.results import CONTINUE, Cancel, Modified

P = "before_tool_execution"
CONFIG = BreakerConfig(window_size=2, minimum_calls=2)

Behaviour = Callable[[VirtualClock, int], Any]


def odd_one(kind: str) -> Behaviour:
    def run(clock: VirtualClock, call: int) -> Any:
        if kind == "error":
            raise ValueError(f"boom {call}")
        if kind == "slow":
            clock.advance_ms(60)
        elif kind == "late":
            clock.advance_ms(150)
        elif kind == "modified":
            return Modified({"n": call})
        elif kind == "cancel":
            return Cancel("stop")
        elif kind == "invalid":
            return 42
        elif kind == "flaky" and call < 3:
            raise ValueError("warming up")
        elif kind == "later" and call in (5, 7):
            # Fails after its breaker went quiet (window full of good calls), twice: opens.
            raise ValueError("late failure")
        elif kind == "explicit":
            return CONTINUE  # what adapters (Lua, remote) return for CONTINUE
        elif kind == "explicit_late":
            clock.advance_ms(150)
            return CONTINUE
        elif kind == "once" and call == 1:
            # The next (good) call completes minimum_calls and opens the breaker on its own.
            raise ValueError("first call fails")
        return None

    return run


def build(kind: str, position: int, report: bool) -> tuple[Executor, VirtualClock]:
    clock = VirtualClock()
    reg = Registry()
    for i in range(4):
        behaviour = odd_one(kind) if i == position else odd_one("none")

        def fn(ctx: HookContext, behaviour: Behaviour = behaviour, calls: list[int] = [0]) -> Any:  # noqa: B006 - a per-hook call counter
            calls[0] += 1
            clock.advance(1_000)
            return behaviour(clock, calls[0])

        reg.register(fn, name=f"h{i}", point=P, breaker=CONFIG)
    monitor = PerformanceMonitor(clock) if report else None
    return Executor(reg, clock=clock, monitor=monitor), clock


KINDS = [
    "none",
    "error",
    "slow",
    "late",
    "modified",
    "cancel",
    "invalid",
    "flaky",
    "once",
    "later",
    "explicit",
    "explicit_late",
]


@pytest.mark.parametrize("position", [0, 1, 3])
@pytest.mark.parametrize("kind", KINDS)
def test_fast_path_matches_the_loop(kind: str, position: int) -> None:
    fast, fast_clock = build(kind, position, report=False)
    loop, loop_clock = build(kind, position, report=True)
    for step in range(12):
        a = fast.execute(P, HookContext(P, {"step": step}))
        ctx = HookContext(P, {"step": step})
        b = loop._run(loop._checked(P, ctx, sync=True), ctx)
        assert a.result == b.result
        assert a.context.data == b.context.data
        assert a.trace == b.trace
        assert fast.breaker_states() == loop.breaker_states()
        if step == 4:
            fast_clock.advance(15_000_000_000)
            loop_clock.advance(15_000_000_000)
    assert P in fast.registry.fast_paths
    assert loop._fast_paths == {}


def test_fast_path_checks_the_context() -> None:
    ex, _ = build("none", 0, report=False)
    ex.execute(P, HookContext(P))
    with pytest.raises(InvalidArgument) as info:
        ex.execute(P, {"not": "a context"})  # type: ignore[arg-type]
    assert info.value.field == "context"


def test_fast_paths_are_dropped_on_registry_change() -> None:
    ex, _ = build("none", 0, report=False)
    ex.execute(P, HookContext(P))
    ex.registry.disable("h1")
    assert [t.hook_name for t in ex.execute(P, HookContext(P)).trace] == ["h0", "h2", "h3"]
