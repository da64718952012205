"""The compiled fast path and the executor's loop give the same executions: results, final
contexts, traces and breaker states, on random chains run many times."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any
from unittest import mock

from hookwire.runtime.breaker import BreakerConfig
from hookwire.runtime.clock import VirtualClock
from hookwire.runtime.context import HookContext
from hookwire.runtime.executor import Executor
from hookwire.runtime.registry import Registry
from hookwire.runtime.results import CONTINUE, Cancel, Modified, Skipped
from hypothesis import example, given, settings
from hypothesis import strategies as st

P = "before_tool_execution"
BEHAVIOURS = ["none", "continue", "modified", "cancel", "raise", "slow", "late", "invalid", "skip"]


def _hook(kinds: list[str], clock: VirtualClock, i: int) -> Any:
    calls = [0]

    def hook(ctx: HookContext) -> Any:
        # Each call takes the next behaviour of the hook's cycle.
        kind = kinds[calls[0] % len(kinds)]
        calls[0] += 1
        if kind == "continue":
            return CONTINUE
        if kind == "modified":
            return Modified({f"k{i}": ctx.data.get("n", 0) + i})
        if kind == "cancel":
            return Cancel(f"stop {i}")
        if kind == "raise":
            raise RuntimeError(f"boom {i}")
        if kind == "slow":
            clock.advance(60_000_000)
        if kind == "late":
            clock.advance(150_000_000)
        if kind == "invalid":
            return 42
        if kind == "skip":
            return Skipped("not mine")
        return None

    return hook


def register_chain(
    reg: Registry,
    chain: list[tuple[list[str], bool]],
    clock: VirtualClock,
    wrap: Callable[[Any], Any] = lambda hook: hook,
) -> None:
    """Hook i cycles through `chain[i][0]`'s behaviours; `chain[i][1]`: FAIL_CLOSED."""
    for i, (kinds, closed) in enumerate(chain):
        reg.register(
            wrap(_hook(kinds, clock, i)),
            name=f"h{i}",
            point=P,
            priority=i,
            failure_policy="FAIL_CLOSED" if closed else "FAIL_OPEN",
            breaker=BreakerConfig(window_size=3, minimum_calls=2, open_duration_ns=250_000_000),
        )


# Chains of 1-6 hooks, each cycling through 1-3 behaviours, FAIL_OPEN or FAIL_CLOSED.
CHAINS = st.lists(
    st.tuples(st.lists(st.sampled_from(BEHAVIOURS), min_size=1, max_size=3), st.booleans()),
    min_size=1,
    max_size=6,
)


def _executor(chain: list[tuple[list[str], bool]], compiled: bool) -> tuple[Executor, VirtualClock]:
    clock = VirtualClock()
    reg = Registry(clock=clock)
    register_chain(reg, chain, clock)
    return Executor(reg, clock=clock), clock


def _runs(ex: Executor, clock: VirtualClock, times: int) -> list[Any]:
    out = []
    for n in range(times):
        run = ex.execute(P, HookContext(P, {"n": n}))
        out.append((run.result, run.context.data, run.trace))
        clock.advance(100_000_000)
    states = {name: st.state for name, st in ex.breaker_states().items()}
    return [out, states]


@settings(max_examples=200, deadline=None)
@given(chain=CHAINS, times=st.integers(1, 12))
# Successes the breaker must count (a window of good calls dilutes the failure that follows).
@example(chain=[(["none", "none", "raise"], False)], times=9)
@example(
    chain=[(["none"], False), (["slow", "none", "late"], True), (["modified"], False)], times=9
)
def test_the_compiled_path_executes_like_the_loop(
    chain: list[tuple[list[str], bool]], times: int
) -> None:
    fast, fast_clock = _executor(chain, compiled=True)
    slow, slow_clock = _executor(chain, compiled=False)
    with mock.patch("hookwire.runtime.executor.compile_fast_path", return_value=None):
        looped = _runs(slow, slow_clock, times)
    assert _runs(fast, fast_clock, times) == looped


def test_plain_chains_are_compiled() -> None:
    """The equivalence above compares two paths only if the compiled one is really built."""
    from hookwire.runtime import executor as executor_module

    compiled, _clock = _executor([(["none"], False)] * 3, compiled=True)
    from hookwire.runtime.fast_path import compile_fast_path as real

    built: list[Any] = []

    def spy(*args: Any, **kwargs: Any) -> Any:
        built.append(real(*args, **kwargs))
        return built[-1]

    with mock.patch.object(executor_module, "compile_fast_path", spy):
        run = compiled.execute(P, HookContext(P))
    assert len(built) == 1 and built[0] is not None
    assert run.result is CONTINUE and len(run.trace) == 3


def _async_twin(hook: Any) -> Any:
    """The same behaviour as a coroutine hook that suspends once before it answers."""

    async def twin(ctx: HookContext) -> Any:
        await asyncio.sleep(0)
        return hook(ctx)

    return twin


@settings(max_examples=100, deadline=None)
@given(
    chain=st.lists(
        st.tuples(st.sampled_from(BEHAVIOURS), st.booleans(), st.booleans()), min_size=1, max_size=5
    ),
    times=st.integers(1, 8),
)
def test_aexecute_resumes_the_same_loop_as_execute(
    chain: list[tuple[str, bool, bool]], times: int
) -> None:
    """`aexecute` runs the chain loop, stopping at each hook that suspends and resuming after
    it: the executions are those `execute` gives for the same hooks written synchronously."""
    sync, sync_clock = _executor([([k], closed) for k, closed, _ in chain], compiled=False)
    with mock.patch("hookwire.runtime.executor.compile_fast_path", return_value=None):
        expected = _runs(sync, sync_clock, times)
    clock = VirtualClock()
    reg = Registry(clock=clock)
    for i, (kind, closed, suspends) in enumerate(chain):
        hook = _hook([kind], clock, i)
        reg.register(
            _async_twin(hook) if suspends else hook,
            name=f"h{i}",
            point=P,
            priority=i,
            failure_policy="FAIL_CLOSED" if closed else "FAIL_OPEN",
            breaker=BreakerConfig(window_size=3, minimum_calls=2, open_duration_ns=250_000_000),
        )
    ex = Executor(reg, clock=clock)

    async def runs() -> list[Any]:
        out = []
        for n in range(times):
            run = await ex.aexecute(P, HookContext(P, {"n": n}))
            out.append((run.result, run.context.data, run.trace))
            clock.advance(100_000_000)
        return [out, {name: s.state for name, s in ex.breaker_states().items()}]

    assert asyncio.run(runs()) == expected
