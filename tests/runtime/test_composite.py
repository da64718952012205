"""Composite hooks (docs/semantics.md section 6)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from hookwire.runtime.breaker import BreakerConfig, BreakerState
from hookwire.runtime.clock import SystemClock, VirtualClock
from hookwire.runtime.composite import Composite, CompositeKind, TieBreaker, child
from hookwire.runtime.context import HookContext
from hookwire.runtime.errors import AsyncHookNotAllowed, InvalidArgument
from hookwire.runtime.executor import Executor
from hookwire.runtime.registry import HookSpec, Registry
from hookwire.runtime.results import (
    CONTINUE,
    Cache,
    Cancel,
    HookResult,
    Modified,
    Retry,
    Skipped,
)
from hookwire.runtime.trace import Execution

P = "before_agent_execution"


def returns(value: Any) -> Any:
    def fn(c: HookContext) -> Any:
        if isinstance(value, BaseException):
            raise value
        return value

    return fn


def kids(*values: Any, **opts: Any) -> list[tuple[HookSpec, Any]]:
    return [child(returns(v), name=f"c{i}", **opts) for i, v in enumerate(values)]


def run(comp: Composite, data: dict[str, Any] | None = None, clock: Any = None) -> Execution:
    reg = Registry()
    reg.register(comp, name="comp", point=P)
    ex = Executor(reg, clock=clock or VirtualClock())
    return ex.execute(P, HookContext(P, data or {}))


# -- SEQUENTIAL -----------------------------------------------------------------------------------


def test_sequential_patch_carries_deletions_to_outer_chain() -> None:
    comp = Composite(
        CompositeKind.SEQUENTIAL,
        kids(Modified({"a": 1, "x": None}), Modified({"b": 2}), None),
    )
    result = run(comp, {"x": 5, "keep": True})
    assert result.result == Modified({"keep": True, "a": 1, "b": 2})
    assert result.context.data == {"keep": True, "a": 1, "b": 2}
    assert [t.hook_name for t in result.trace] == ["comp"]


def test_sequential_stops_at_a_stopping_child() -> None:
    ran: list[str] = []
    comp = Composite(
        CompositeKind.SEQUENTIAL,
        [*kids(Cancel("stop")), child(lambda c: ran.append("x"), name="after")],
    )
    assert run(comp).result == Cancel("stop")
    assert ran == []


def test_sequential_fail_closed_child() -> None:
    comp = Composite(
        CompositeKind.SEQUENTIAL, kids(ValueError("boom"), failure_policy="FAIL_CLOSED")
    )
    assert run(comp).result == Cancel("hook c0 failed: boom")


# -- FIRST_MATCH ----------------------------------------------------------------------------------


def test_first_match_returns_first_non_continue_non_skipped() -> None:
    ran: list[str] = []
    comp = Composite(
        CompositeKind.FIRST_MATCH,
        [
            *kids(None, Skipped("no"), ValueError("fail open"), Modified({"m": 1})),
            child(lambda c: ran.append("late"), name="late"),
        ],
    )
    assert run(comp).result == Modified({"m": 1})
    assert ran == []


def test_first_match_none_is_continue_and_fail_closed_matches() -> None:
    assert run(Composite(CompositeKind.FIRST_MATCH, kids(None, Skipped("x")))).result == CONTINUE
    comp = Composite(
        CompositeKind.FIRST_MATCH,
        [
            child(returns(ValueError("bad")), name="strict", failure_policy="FAIL_CLOSED"),
            *kids(Cancel("later")),
        ],
    )
    assert run(comp).result == Cancel("hook strict failed: bad")


# -- PARALLEL -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ((Modified({"a": 1}), Cache("k", 1), Retry(1, 2), CONTINUE), Retry(1, 2)),
        ((Cancel("1"), Retry(1, 1), Cancel("2")), Cancel("1")),
        ((Cache("a", 1), Cache("b", 1), Modified({"z": 1})), Cache("a", 1)),
        ((None, Skipped("x"), ValueError("open")), CONTINUE),
        ((Skipped("x"),), CONTINUE),
    ],
)
def test_parallel_precedence_and_earliest(values: tuple[Any, ...], expected: HookResult) -> None:
    assert run(Composite(CompositeKind.PARALLEL, kids(*values))).result == expected


def test_parallel_modified_patches_in_declared_order() -> None:
    comp = Composite(
        CompositeKind.PARALLEL,
        kids(Modified({"a": 1, "gone": None}), None, Modified({"a": 2, "b": {"c": 1}})),
    )
    out = run(comp, {"gone": 1, "b": {"d": 0}})
    assert out.context.data == {"a": 2, "b": {"d": 0, "c": 1}}


def test_parallel_fail_closed_child_contributes_cancel() -> None:
    comp = Composite(
        CompositeKind.PARALLEL,
        [
            *kids(Retry(1, 1)),
            child(returns(ValueError("x")), name="strict", failure_policy="FAIL_CLOSED"),
        ],
    )
    assert run(comp).result == Cancel("hook strict failed: x")


def test_parallel_children_get_independent_copies() -> None:
    seen: list[Any] = []

    def mutate(c: HookContext) -> None:
        c.data["list"].append("mutated")
        c.data["new"] = 1

    def look(c: HookContext) -> None:
        seen.append(c.data)

    comp = Composite(CompositeKind.PARALLEL, [child(mutate, name="m"), child(look, name="l")])
    out = run(comp, {"list": [1]})
    assert seen == [{"list": [1]}]
    assert out.context.data == {"list": [1]}


def test_parallel_async_children_run_concurrently() -> None:
    async def sleeper(c: HookContext) -> HookResult:
        await asyncio.sleep(0.2)
        return Modified({"slept": True})

    async def canceller(c: HookContext) -> HookResult:
        await asyncio.sleep(0.2)
        return Cancel("after sleep")

    comp = Composite(
        CompositeKind.PARALLEL,
        [
            child(sleeper, name="a", timeout_ms=2_000),
            child(canceller, name="b", timeout_ms=2_000),
            child(sleeper, name="c", timeout_ms=2_000),
        ],
    )
    reg = Registry()
    reg.register(comp, name="comp", point=P, timeout_ms=5_000)
    ex = Executor(reg, clock=SystemClock())
    started = time.perf_counter()
    out = asyncio.run(ex.aexecute(P, HookContext(P)))
    elapsed = time.perf_counter() - started
    assert out.result == Cancel("after sleep")
    assert elapsed < 0.5  # three 200 ms children together (0.6 s one after another)
    with pytest.raises(AsyncHookNotAllowed) as info:
        ex.execute(P, HookContext(P))
    assert "'comp'" in str(info.value)


def test_parallel_async_child_timeout() -> None:
    async def stuck(c: HookContext) -> HookResult:
        await asyncio.sleep(5)
        return Cancel("never")

    comp = Composite(
        CompositeKind.PARALLEL,
        [child(stuck, name="stuck", timeout_ms=20), *kids(Modified({"ok": 1}))],
    )
    reg = Registry()
    reg.register(comp, name="comp", point=P, timeout_ms=2_000)
    out = asyncio.run(Executor(reg, clock=SystemClock()).aexecute(P, HookContext(P)))
    assert out.result == Modified({"ok": 1})


# -- VOTING ---------------------------------------------------------------------------------------


def vote(*values: Any, **opts: Any) -> HookResult:
    return run(Composite(CompositeKind.VOTING, kids(*values), **opts)).result


def test_voting_majority_returns_earliest_winner() -> None:
    assert vote(Cancel("a"), None, Cancel("b")) == Cancel("a")


def test_voting_nothing_qualifies_is_continue() -> None:
    assert vote(Cancel("a"), None, Modified({"x": 1})) == CONTINUE


def test_voting_threshold_is_exact() -> None:
    # ceil(0.7 * 10) = 7: seven votes qualify (floating point would say 8).
    values = [Cancel(str(i)) for i in range(7)] + [None, None, None]
    assert vote(*values, threshold=0.7) == Cancel("0")
    assert vote(*values[1:], None, threshold=0.7) == CONTINUE  # 6 of 10


def test_voting_failed_and_skipped_do_not_vote_but_count_as_children() -> None:
    # 4 children, threshold 0.5: 2 votes needed. Only one CANCEL vote: nothing qualifies.
    assert vote(ValueError("x"), Skipped("n"), Cancel("c"), ValueError("y")) == CONTINUE
    assert vote(ValueError("x"), Skipped("n"), Cancel("c"), Cancel("d")) == Cancel("c")


@pytest.mark.parametrize(
    ("tie_breaker", "values", "expected"),
    [
        (TieBreaker.FIRST_VOTE, (Cancel("x"), None, None, Cancel("y")), Cancel("x")),
        (TieBreaker.FIRST_VOTE, (None, Cancel("x"), Cancel("y"), None), CONTINUE),
        (TieBreaker.PREFER_CONTINUE, (Cancel("x"), None, None, Cancel("y")), CONTINUE),
        (
            TieBreaker.PREFER_CONTINUE,
            (Cache("k", 1), Retry(1, 1), Retry(2, 2), Cache("j", 1)),
            Cache("k", 1),
        ),
        (TieBreaker.PREFER_ACTION, (None, Cancel("x"), Cancel("y"), None), Cancel("x")),
        (
            TieBreaker.PREFER_ACTION,
            (Modified({"a": 1}), Retry(1, 1), Retry(2, 2), Modified({"b": 1})),
            Retry(1, 1),
        ),
    ],
)
def test_voting_tie_breakers(
    tie_breaker: TieBreaker, values: tuple[Any, ...], expected: HookResult
) -> None:
    assert vote(*values, tie_breaker=tie_breaker) == expected


def test_voting_modified_winners_patches_in_declared_order() -> None:
    result = vote(
        Modified({"a": 1, "b": 1}),
        Retry(1, 1),
        Modified({"a": 2}),
        tie_breaker=TieBreaker.FIRST_VOTE,
    )
    assert result == Modified({"a": 2, "b": 1})


# -- breakers, validation -------------------------------------------------------------------------


def test_children_have_their_own_breakers(sink: Any) -> None:
    clock = VirtualClock()
    config = BreakerConfig(minimum_calls=2, window_size=2)
    comp = Composite(
        CompositeKind.FIRST_MATCH,
        [
            child(returns(ValueError("down")), name="flaky", breaker=config),
            *kids(Cancel("fallback")),
        ],
    )
    reg = Registry()
    reg.register(comp, name="comp", point=P)
    ex = Executor(reg, clock=clock, events=sink)
    for _ in range(3):
        assert ex.execute(P, HookContext(P)).result == Cancel("fallback")
    assert comp.breaker("flaky").state is BreakerState.OPEN
    assert comp.breaker_states()["c0"].state is BreakerState.CLOSED
    assert ex.breaker("comp").state is BreakerState.CLOSED
    assert ("hookwire.breaker.opened", "flaky") in [(t, p.get("hook")) for t, p in sink.events]


@pytest.mark.parametrize(
    ("args", "kwargs", "field"),
    [
        (("MAJORITY", kids(None)), {}, "kind"),
        ((CompositeKind.VOTING, kids(None)), {"threshold": 0}, "threshold"),
        ((CompositeKind.VOTING, kids(None)), {"threshold": 1.01}, "threshold"),
        ((CompositeKind.VOTING, kids(None)), {"tie_breaker": "COIN"}, "tie_breaker"),
        ((CompositeKind.PARALLEL, []), {}, "children"),
        ((CompositeKind.PARALLEL, [returns(None)]), {}, "children[0]"),
    ],
)
def test_validation(args: tuple[Any, ...], kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        Composite(*args, **kwargs)
    assert info.value.field == field


def test_child_feature_flags_rejected() -> None:
    spec = HookSpec("f", P, feature="beta")
    with pytest.raises(InvalidArgument) as info:
        Composite(CompositeKind.PARALLEL, [(spec, returns(None))])
    assert info.value.field == "children[0].feature"
