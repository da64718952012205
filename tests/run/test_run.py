"""run() / arun(): every result kind at the before, after and error points (docs/semantics.md 7)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from hookwire.runtime.builtins.caching import CacheStore, CachingHook
from hookwire.runtime.builtins.rate_limit import RateLimitAction, RateLimitHook
from hookwire.runtime.builtins.retry import RetryHook, RetryPolicy
from hookwire.runtime.clock import VirtualClock
from hookwire.runtime.context import HookContext, Operation
from hookwire.runtime.errors import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    OperationCancelled,
)
from hookwire.runtime.executor import Executor
from hookwire.runtime.registry import Registry
from hookwire.runtime.results import (
    Cache,
    Cancel,
    Fork,
    ForkOperation,
    HookResult,
    Modified,
    Redirect,
    Replace,
    Retry,
)
from hookwire.runtime.run import (
    ATTEMPT_METADATA_KEY,
    OperationRegistry,
    Runner,
    RunPoints,
    arun,
    run,
)

MS = 1_000_000
BEFORE, AFTER, ERROR = "before_tool_execution", "after_tool_execution", "tool_error"
Hook = Callable[[HookContext], HookResult | None]


class Env:
    """A registry, executor, operation registry and cache on one virtual clock."""

    def __init__(self, **hooks: tuple[str, Hook]) -> None:
        self.clock = VirtualClock()
        self.registry = Registry()
        for name, (point, fn) in hooks.items():
            self.registry.register(fn, name=name, point=point)
        self.executor = Executor(self.registry, clock=self.clock)
        self.ops = OperationRegistry()
        self.cache = CacheStore(self.clock)
        self.runner = Runner(self.executor, operations=self.ops, cache=self.cache)
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def op(self, name: str, output: Any = "out", fail: int = 0) -> Callable[[dict[str, Any]], Any]:
        """An operation recording its calls; fails (ValueError) its first `fail` calls."""
        count = [0]

        def fn(params: dict[str, Any]) -> Any:
            self.calls.append((name, params))
            count[0] += 1
            if count[0] <= fail:
                raise ValueError(f"{name} failed #{count[0]}")
            return output

        return fn


class Seen:
    """A hook recording the contexts it sees and answering with a fixed result."""

    def __init__(self, result: HookResult | None = None) -> None:
        self.contexts: list[HookContext] = []
        self.result = result

    def __call__(self, ctx: HookContext) -> HookResult | None:
        self.contexts.append(ctx)
        return self.result


# ---- plain run, what hooks see -------------------------------------------------------------


def test_no_hooks_runs_the_operation_and_shows_the_documented_contexts() -> None:
    before, after = Seen(), Seen()
    env = Env(b=(BEFORE, before), a=(AFTER, after))
    ctx = HookContext("session_start", correlation_id="corr-1", metadata={"tenant": "t"})
    res = env.runner.run("search", {"q": "x"}, env.op("search", {"hits": 2}), context=ctx)
    assert (res.output, res.source, res.operation, res.attempts) == (
        {"hits": 2},
        "operation",
        "search",
        1,
    )
    assert [e.context.point for e in res.executions] == [BEFORE, AFTER]
    b = before.contexts[0]
    assert b.data == {"params": {"q": "x"}}
    assert b.metadata == {"tenant": "t", ATTEMPT_METADATA_KEY: "1"}
    assert b.correlation_id == "corr-1"
    assert b.operation is not None and b.operation.type == "search"
    a = after.contexts[0]
    assert a.data == {"params": {"q": "x"}, "output": {"hits": 2}}
    assert a.operation is not None and a.operation.result == {"hits": 2}
    assert a.operation.id == b.operation.id


# ---- MODIFIED ---------------------------------------------------------------------------------


def test_modified_changes_params_before_and_output_after() -> None:
    env = Env(
        b=(BEFORE, lambda ctx: Modified({"params": {"q": "patched", "limit": 5}})),
        a=(AFTER, lambda ctx: Modified({"output": {"extra": True, "drop": None}})),
    )
    res = env.runner.run("search", {"q": "x"}, env.op("search", {"drop": 1, "keep": 2}))
    assert env.calls == [("search", {"q": "patched", "limit": 5})]
    assert res.output == {"keep": 2, "extra": True}


def test_a_hook_turning_params_into_a_non_object_is_a_clear_error() -> None:
    env = Env(b=(BEFORE, lambda ctx: Modified({"params": [1]})))
    with pytest.raises(InvalidArgument, match=r"before_tool_execution\.data\.params: a hook made"):
        env.runner.run("search", {}, env.op("search"))


# ---- CANCEL -----------------------------------------------------------------------------------


def test_cancel_before_stops_without_running() -> None:
    env = Env(b=(BEFORE, lambda ctx: Cancel("quota exceeded")))
    with pytest.raises(OperationCancelled) as info:
        env.runner.run("search", {}, env.op("search"))
    assert (info.value.code, info.value.field, info.value.reason) == (
        "CANCELLED",
        BEFORE,
        "quota exceeded",
    )
    assert env.calls == []


def test_cancel_after_discards_the_output() -> None:
    env = Env(a=(AFTER, lambda ctx: Cancel("leaks secrets")))
    with pytest.raises(OperationCancelled, match="after_tool_execution: leaks secrets"):
        env.runner.run("search", {}, env.op("search"))
    assert len(env.calls) == 1


def test_cancel_at_error_point_chains_the_original_error() -> None:
    env = Env(e=(ERROR, lambda ctx: Cancel("give up")))
    with pytest.raises(OperationCancelled, match="tool_error: give up") as info:
        env.runner.run("search", {}, env.op("search", fail=1))
    assert isinstance(info.value.__cause__, ValueError)


# ---- REPLACE ----------------------------------------------------------------------------------


def test_replace_before_returns_the_value_without_running_or_after() -> None:
    after = Seen()
    env = Env(b=(BEFORE, lambda ctx: Replace([1, 2])), a=(AFTER, after))
    res = env.runner.run("search", {}, env.op("search"))
    assert (res.output, res.source) == ([1, 2], "replace")
    assert env.calls == [] and after.contexts == []


def test_replace_after_and_at_error_point() -> None:
    env = Env(a=(AFTER, lambda ctx: Replace(None)))
    assert env.runner.run("search", {}, env.op("search", "x")).output is None
    env2 = Env(e=(ERROR, lambda ctx: Replace("fallback")))
    res = env2.runner.run("search", {}, env2.op("search", fail=1))
    assert (res.output, res.source) == ("fallback", "replace")


# ---- REDIRECT ---------------------------------------------------------------------------------


def test_redirect_before_runs_the_registered_target_with_the_params() -> None:
    env = Env(b=(BEFORE, lambda ctx: Redirect("cheap_search")))
    env.ops.register("cheap_search", env.op("cheap_search", "cheap"))
    res = env.runner.run("search", {"q": 1}, env.op("search"))
    assert (res.output, res.operation) == ("cheap", "cheap_search")
    assert env.calls == [("cheap_search", {"q": 1})]


def test_redirect_to_an_unknown_operation_is_not_found_naming_it() -> None:
    env = Env(b=(BEFORE, lambda ctx: Redirect("nowhere")))
    with pytest.raises(NotFound, match=r"redirect\.target: no operation .* 'nowhere'"):
        env.runner.run("search", {}, env.op("search"))


def test_redirect_at_error_point_falls_back_and_does_not_loop() -> None:
    env = Env(e=(ERROR, lambda ctx: Redirect("backup")))
    env.ops.register("backup", env.op("backup", "from backup"))
    res = env.runner.run("search", {}, env.op("search", fail=1))
    assert (res.output, res.operation) == ("from backup", "backup")
    # A backup that fails too is redirected to itself: already tried, so its error surfaces.
    env2 = Env(e=(ERROR, lambda ctx: Redirect("backup")))
    env2.ops.register("backup", env2.op("backup", fail=9))
    with pytest.raises(ValueError, match="backup failed #1"):
        env2.runner.run("search", {}, env2.op("search", fail=1))
    assert [c[0] for c in env2.calls] == ["search", "backup"]


def test_redirect_after_is_not_honoured_at_after_points() -> None:
    # after_* points do not honour REDIRECT (docs/semantics.md D3.11): the hook's REDIRECT is
    # ERROR result_not_honoured (FAIL_OPEN: CONTINUE), never silently dropped, and the
    # operation's own output stands.
    env = Env(a=(AFTER, lambda ctx: Redirect("other") if ctx.data["output"] == "bad" else None))
    env.ops.register("other", env.op("other", "good"))
    res = env.runner.run("search", {}, env.op("search", "bad"))
    assert (res.output, res.operation) == ("bad", "search")
    assert [c[0] for c in env.calls] == ["search"]


# ---- RETRY ------------------------------------------------------------------------------------


def test_retry_at_error_point_with_backoff_on_the_clock() -> None:
    env = Env()
    env.registry.register(
        RetryHook(RetryPolicy(max_attempts=3, base_delay_ns=100 * MS), env.clock),
        name="retry",
        point=ERROR,
    )
    res = env.runner.run("search", {}, env.op("search", "ok", fail=2))
    assert (res.output, res.attempts) == ("ok", 3)
    # 100 ms after attempt 1, 200 ms after attempt 2
    assert env.clock.monotonic_ns() == 300 * MS
    assert [e.context.point for e in res.executions] == [
        BEFORE,
        ERROR,
        BEFORE,
        ERROR,
        BEFORE,
        AFTER,
    ]


def test_retry_stops_after_max_attempts_in_all_and_reraises() -> None:
    env = Env(e=(ERROR, lambda ctx: Retry(10 * MS, 2)))
    with pytest.raises(ValueError, match="search failed #2"):
        env.runner.run("search", {}, env.op("search", fail=5))
    assert len(env.calls) == 2
    assert env.clock.monotonic_ns() == 10 * MS


def test_retry_before_waits_for_the_rate_limit() -> None:
    env = Env()
    env.registry.register(
        RateLimitHook(
            env.clock,
            rate=1,
            burst=1,
            action=RateLimitAction.RETRY,
            max_attempts=3,
            key_path="data.params.user",
        ),
        name="limit",
        point=BEFORE,
    )
    assert env.runner.run("search", {"user": "ann"}, env.op("search")).attempts == 1
    res = env.runner.run("search", {"user": "ann"}, env.op("search"))
    assert res.attempts == 2
    assert env.clock.monotonic_ns() == 1_000 * MS  # waited exactly until the next token


def test_retry_before_and_after_exhausted_cancel() -> None:
    env = Env(b=(BEFORE, lambda ctx: Retry(5 * MS, 3)))
    with pytest.raises(OperationCancelled, match=r"still asked to retry after 3 attempt\(s\)"):
        env.runner.run("search", {}, env.op("search"))
    assert env.calls == [] and env.clock.monotonic_ns() == 10 * MS
    # An after hook asking for another attempt until the output is acceptable.
    outputs = iter(["bad", "bad", "good"])
    env2 = Env(a=(AFTER, lambda ctx: Retry(0, 5) if ctx.data["output"] == "bad" else None))
    res = env2.runner.run("search", {}, lambda p: next(outputs))
    assert (res.output, res.attempts) == ("good", 3)
    env3 = Env(a=(AFTER, lambda ctx: Retry(0, 2)))
    with pytest.raises(OperationCancelled) as info:
        env3.runner.run("search", {}, env3.op("search"))
    assert info.value.field == AFTER


# ---- CACHE ------------------------------------------------------------------------------------


def test_cache_before_serves_fresh_outputs_and_runs_when_stale() -> None:
    env = Env(b=(BEFORE, lambda ctx: Cache("k:" + str(ctx.data["params"]["q"]), 1_000 * MS)))
    r1 = env.runner.run("search", {"q": 1}, env.op("search", {"v": 1}))
    assert r1.source == "operation"
    env.clock.advance(999 * MS)
    r2 = env.runner.run("search", {"q": 1}, env.op("search", {"v": 2}))
    assert (r2.output, r2.source, len(r2.executions)) == ({"v": 1}, "cache", 1)
    env.clock.advance(1 * MS)
    r3 = env.runner.run("search", {"q": 1}, env.op("search", {"v": 3}))
    assert (r3.output, r3.source) == ({"v": 3}, "operation")
    assert len(env.calls) == 2


def test_cache_after_stores_and_missing_store_is_a_clear_error() -> None:
    env = Env(a=(AFTER, lambda ctx: Cache("k", 50)))
    env.runner.run("search", {}, env.op("search", [7]))
    assert env.cache.get("k") == (True, [7])
    bare = Env(b=(BEFORE, lambda ctx: Cache("k", 50)))
    with pytest.raises(
        FailedPrecondition, match="cache: a hook at before_tool_execution returned CACHE"
    ):
        run(bare.executor, "search", {}, bare.op("search"))


def test_caching_builtin_answers_with_replace_through_run() -> None:
    env = Env()
    cache = CachingHook(env.clock, ttl_ns=60_000 * MS)
    env.registry.register(cache.before, name="cache.before", point=BEFORE)
    env.registry.register(cache.after, name="cache.after", point=AFTER)
    assert env.runner.run("search", {"q": 1}, env.op("search", "A")).source == "operation"
    res = env.runner.run("search", {"q": 1}, env.op("search", "B"))
    assert (res.output, res.source) == ("A", "replace")
    assert env.runner.run("search", {"q": 2}, env.op("search", "C")).output == "C"


def test_caching_builtin_directive_uses_the_runners_store() -> None:
    env = Env()
    cache = CachingHook(env.clock, ttl_ns=100 * MS)
    env.registry.register(cache.directive, name="cache", point=BEFORE)
    env.runner.run("search", {"q": 1}, env.op("search", "A"))
    res = env.runner.run("search", {"q": 1}, env.op("search", "B"))
    assert (res.output, res.source) == ("A", "cache")
    assert env.cache.keys() == [
        cache.key(HookContext(BEFORE, {"params": {"q": 1}}, operation=Operation("search")))
    ]
    env.clock.advance(100 * MS)
    assert env.runner.run("search", {"q": 1}, env.op("search", "C")).output == "C"


# ---- FORK -------------------------------------------------------------------------------------


def test_fork_sync_runs_forks_in_order_after_main_and_reports_them() -> None:
    fork = Fork((ForkOperation("audit", {"n": 1}), ForkOperation("broken", {})))
    env = Env(b=(BEFORE, lambda ctx: fork))
    env.ops.register("audit", env.op("audit", "logged"))
    env.ops.register("broken", env.op("broken", fail=1))
    res = env.runner.run("search", {"q": 1}, env.op("search", "main"))
    assert res.output == "main"
    assert [c[0] for c in env.calls] == ["search", "audit", "broken"]
    assert [(f.operation, f.output, f.ok) for f in res.forks] == [
        ("audit", "logged", True),
        ("broken", None, False),
    ]
    assert res.forks[0].parameters == {"n": 1}
    assert isinstance(res.forks[1].error, ValueError)


def test_fork_of_an_unknown_operation_fails_before_anything_runs() -> None:
    env = Env(b=(BEFORE, lambda ctx: Fork((ForkOperation("ghost", {}),))))
    with pytest.raises(NotFound, match=r"fork\.operations\[0\]\.operation: .*'ghost'"):
        env.runner.run("search", {}, env.op("search"))
    assert env.calls == []


def test_fork_async_runs_concurrently_with_the_main_operation() -> None:
    env = Env(b=(BEFORE, lambda ctx: Fork((ForkOperation("signal", {}),))))
    ready = asyncio.Event()

    async def signal(params: dict[str, Any]) -> str:
        ready.set()
        return "signalled"

    async def main(params: dict[str, Any]) -> str:
        # Only finishes if the fork runs while main is waiting.
        await asyncio.wait_for(ready.wait(), timeout=2)
        return "main"

    env.ops.register("signal", signal)
    res = asyncio.run(env.runner.arun("search", {}, main))
    assert res.output == "main"
    assert res.forks[0].output == "signalled"


def test_fork_after_runs_the_forks() -> None:
    env = Env(a=(AFTER, lambda ctx: Fork((ForkOperation("notify", {"to": "x"}),))))
    env.ops.register("notify", env.op("notify", "sent"))
    res = env.runner.run("search", {}, env.op("search", "main"))
    assert res.output == "main" and res.forks[0].output == "sent"


# ---- errors go through the error point ----------------------------------------------------------


def test_operation_errors_reach_the_error_point_and_propagate_by_default() -> None:
    seen = Seen()
    env = Env(e=(ERROR, seen))

    def fails(params: dict[str, Any]) -> Any:
        raise NotFound("doc", "no such document")

    with pytest.raises(NotFound):
        env.runner.run("fetch", {"id": 3}, fails)
    ctx = seen.contexts[0]
    assert ctx.data == {
        "params": {"id": 3},
        "error": {"code": "NOT_FOUND", "message": "doc: no such document"},
    }
    assert ctx.operation is not None and ctx.operation.error is not None
    assert ctx.operation.error.code == "NOT_FOUND"


# ---- async ------------------------------------------------------------------------------------


def test_arun_with_async_hooks_operations_and_retry_sleeps_on_the_clock() -> None:
    env = Env()
    failures = [2]

    async def flaky(params: dict[str, Any]) -> int:
        if failures[0]:
            failures[0] -= 1
            raise TimeoutError("slow upstream")
        return int(params["n"]) * 10

    async def bump(ctx: HookContext) -> HookResult:
        return Modified({"params": {"n": 4}})

    async def retry(ctx: HookContext) -> HookResult:
        return Retry(25 * MS, 3)

    env.registry.register(bump, name="bump", point=BEFORE)
    env.registry.register(retry, name="retry", point=ERROR)
    res = asyncio.run(arun(env.executor, "calc", {"n": 1}, flaky))
    assert (res.output, res.attempts) == (40, 3)
    assert env.clock.monotonic_ns() == 50 * MS


# ---- bad input ----------------------------------------------------------------------------------


def test_bad_input_is_rejected_clearly() -> None:
    env = Env()
    with pytest.raises(InvalidArgument, match="params: must be a JSON object, got list"):
        env.runner.run("search", [1], env.op("search"))  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match=r"output of operation 'search'"):
        env.runner.run("search", {}, lambda p: {1, 2})

    async def coro(params: dict[str, Any]) -> None:
        return None

    with pytest.raises(InvalidArgument, match=r"call: 'search' is an async function; use arun\(\)"):
        env.runner.run("search", {}, coro)
    with pytest.raises(NotFound, match="operation: no operation registered under 'search'"):
        env.runner.run("search", {})
    with pytest.raises(InvalidArgument, match=r"points\.after"):
        RunPoints("before_tool_execution", "after_tool", "tool_error")


def test_registered_operation_and_custom_points() -> None:
    seen = Seen()
    env = Env(s=("custom:pre", seen))
    env.ops.register("search", env.op("search", "found"))
    points = RunPoints("custom:pre", "custom:post", "custom:err")
    res = env.runner.run("search", {}, points=points)
    assert res.output == "found"
    assert seen.contexts[0].point == "custom:pre"


# ---- run and arun agree ---------------------------------------------------------------------

SCENARIOS: dict[str, dict[str, tuple[str, Hook]]] = {
    "modified": {
        "b": (BEFORE, lambda ctx: Modified({"params": {"x": 2}})),
        "a": (AFTER, lambda ctx: Modified({"output": "patched"})),
    },
    "replace": {"b": (BEFORE, lambda ctx: Replace(9))},
    "redirect": {"b": (BEFORE, lambda ctx: Redirect("alt"))},
    "retry": {"e": (ERROR, lambda ctx: Retry(7 * MS, 3))},
    "error_redirect": {"e": (ERROR, lambda ctx: Redirect("alt"))},
    "cache": {"b": (BEFORE, lambda ctx: Cache("k", 5 * MS))},
    "fork": {"a": (AFTER, lambda ctx: Fork((ForkOperation("alt", {"f": 1}),)))},
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_run_and_arun_give_the_same_outcome(name: str) -> None:
    def outcome(use_async: bool) -> tuple[Any, ...]:
        env = Env(**SCENARIOS[name])
        env.ops.register("alt", env.op("alt", "alt-out"))
        main = env.op("main", "main-out", fail=1 if name in ("retry", "error_redirect") else 0)
        results = []
        for _ in range(2):  # twice, so the cache scenario also hits
            if use_async:
                res = asyncio.run(env.runner.arun("main", {"x": 1}, main))
            else:
                res = env.runner.run("main", {"x": 1}, main)
            results.append(
                (
                    res.output,
                    res.source,
                    res.operation,
                    res.attempts,
                    [e.context.point for e in res.executions],
                    [(f.operation, f.output) for f in res.forks],
                )
            )
        return (results, env.calls, env.clock.monotonic_ns())

    assert outcome(False) == outcome(True)
