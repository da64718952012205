"""Executor, synchronous path (docs/semantics.md section 3), on a virtual clock."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import pytest
from hookwire.runtime.adapter import HookFailed, HookTimedOut, InvalidResult
from hookwire.runtime.breaker import BreakerConfig, BreakerState
from hookwire.runtime.clock import VirtualClock
from hookwire.runtime.context import HookContext
from hookwire.runtime.errors import AsyncHookNotAllowed, InvalidArgument
from hookwire.runtime.executor import Executor
from hookwire.runtime.monitor import PerformanceMonitor
from hookwire.runtime.registry import FailurePolicy, Registry
from hookwire.runtime.results import (
    CONTINUE,
    Cache,
    Cancel,
    Fork,
    ForkOperation,
    HookResult,
    Modified,
    Outcome,
    Redirect,
    Replace,
    Retry,
    Skipped,
)
from hookwire.runtime.trace import Execution
from hookwire.runtime.wire.trace import execution_from_proto, execution_to_proto

P = "before_tool_execution"
MS = 1_000_000


def ctx(data: dict[str, Any] | None = None) -> HookContext:
    return HookContext(P, data if data is not None else {})


def hook(clock: VirtualClock, result: Any = None, ms: float = 0) -> Callable[[HookContext], Any]:
    def fn(c: HookContext) -> Any:
        clock.advance_ms(ms)
        if isinstance(result, BaseException):
            raise result
        return result

    return fn


def setup(clock: VirtualClock, *hooks: tuple[str, Any], **opts: Any) -> Executor:
    reg = Registry()
    for name, fn in hooks:
        reg.register(fn, name=name, point=P, **opts)
    return Executor(reg, clock=clock, **({}))


def trace(run: Execution) -> list[tuple[str, str, str, float, bool, str]]:
    return [
        (t.hook_name, t.outcome.value, t.reason, t.duration_ns / MS, t.slow, t.breaker_state.value)
        for t in run.trace
    ]


def test_no_hooks_is_continue_with_empty_trace(clock: VirtualClock) -> None:
    run = Executor(Registry(), clock=clock).execute(P, ctx())
    assert run.result == CONTINUE
    assert run.trace == []


def test_exact_trace_with_durations_and_slow_flags(clock: VirtualClock) -> None:
    ex = setup(
        clock,
        ("fast", hook(clock, None, 1)),
        ("slow", hook(clock, None, 60)),
        ("edge_slow", hook(clock, Skipped("not mine"), 50)),
        ("edge_fast", hook(clock, None, 49.999999)),
    )
    run = ex.execute(P, ctx())
    assert trace(run) == [
        ("fast", "CONTINUE", "", 1.0, False, "CLOSED"),
        ("slow", "CONTINUE", "", 60.0, True, "CLOSED"),
        ("edge_slow", "SKIPPED", "not mine", 50.0, True, "CLOSED"),
        ("edge_fast", "CONTINUE", "", 49.999999, False, "CLOSED"),
    ]
    assert run.trace_to_json()[1] == {
        "hook": "slow",
        "outcome": "CONTINUE",
        "reason": "",
        "durationMs": 60.0,
        "slow": True,
        "breaker": "CLOSED",
    }
    assert run.result == CONTINUE


STOPPING: list[HookResult] = [
    Cancel("stop"),
    Redirect("elsewhere"),
    Replace({"v": 1}),
    Retry(5 * MS, 3),
    Fork((ForkOperation("side", {"a": 1}),)),
    Cache("key", 1000 * MS),
]


@pytest.mark.parametrize("result", STOPPING)
def test_stopping_kinds_end_the_chain(clock: VirtualClock, result: HookResult) -> None:
    after: list[str] = []
    ex = setup(
        clock,
        ("first", hook(clock, result, 2)),
        ("after", lambda c: after.append("ran")),
    )
    run = ex.execute(P, ctx())
    assert run.result == result
    assert trace(run) == [("first", result.kind.value, "", 2.0, False, "CLOSED")]
    assert after == []


@pytest.mark.parametrize("result", [None, CONTINUE, Skipped("no"), Modified({"x": 1})])
def test_non_stopping_kinds_go_on(clock: VirtualClock, result: HookResult | None) -> None:
    ex = setup(clock, ("first", hook(clock, result)), ("second", hook(clock, None)))
    run = ex.execute(P, ctx())
    assert [t.hook_name for t in run.trace] == ["first", "second"]
    expected = Modified({"x": 1}) if isinstance(result, Modified) else CONTINUE
    assert run.result == expected


def test_modified_merge_patch_seen_by_next_hook_and_input_untouched(clock: VirtualClock) -> None:
    seen: list[dict[str, Any]] = []

    def second(c: HookContext) -> HookResult:
        seen.append(c.data)
        return Modified({"user": {"name": None, "role": "admin"}, "tags": ["b"]})

    ex = setup(
        clock,
        ("first", hook(clock, Modified({"user": {"id": 7}, "drop": None}))),
        ("second", second),
        ("third", hook(clock, None)),
    )
    original = {"user": {"name": "ann"}, "drop": 1, "tags": ["a"]}
    run = ex.execute(P, ctx(original))
    assert seen == [{"user": {"name": "ann", "id": 7}, "tags": ["a"]}]
    final = {"user": {"id": 7, "role": "admin"}, "tags": ["b"]}
    assert run.context.data == final
    assert run.result == Modified(final)
    assert original == {"user": {"name": "ann"}, "drop": 1, "tags": ["a"]}


def test_modified_then_stop_keeps_context_changes(clock: VirtualClock) -> None:
    ex = setup(clock, ("m", hook(clock, Modified({"a": 1}))), ("c", hook(clock, Cancel("no"))))
    run = ex.execute(P, ctx())
    assert run.result == Cancel("no")
    assert run.context.data == {"a": 1}


def test_equal_priority_ties_run_in_registration_order(clock: VirtualClock) -> None:
    order: list[str] = []
    reg = Registry()
    for name, prio in (("b", 5), ("a", 5), ("z", -1), ("c", 5)):
        reg.register(lambda c, n=name: order.append(n), name=name, point=P, priority=prio)
    Executor(reg, clock=clock).execute(P, ctx())
    assert order == ["z", "b", "a", "c"]


def test_timeout_discards_result_and_fail_open_continues(clock: VirtualClock) -> None:
    ex = setup(
        clock,
        ("late", hook(clock, Cancel("too late"), 150)),
        ("edge", hook(clock, Modified({"ok": True}), 100)),
    )
    run = ex.execute(P, ctx())
    assert trace(run) == [
        ("late", "TIMEOUT", "timeout", 150.0, True, "CLOSED"),
        ("edge", "MODIFIED", "", 100.0, True, "CLOSED"),
    ]
    assert run.result == Modified({"ok": True})


def test_raising_after_the_deadline_is_timeout(clock: VirtualClock) -> None:
    ex = setup(clock, ("h", hook(clock, ValueError("boom"), 101)))
    assert trace(ex.execute(P, ctx()))[0][1:3] == ("TIMEOUT", "timeout")


def test_error_fail_open_vs_fail_closed(clock: VirtualClock) -> None:
    ex = setup(clock, ("bad", hook(clock, ValueError("boom"), 3)), ("next", hook(clock)))
    run = ex.execute(P, ctx())
    assert trace(run) == [
        ("bad", "ERROR", "boom", 3.0, False, "CLOSED"),
        ("next", "CONTINUE", "", 0.0, False, "CLOSED"),
    ]
    assert run.result == CONTINUE

    ex = setup(
        VirtualClock(),
        ("bad", hook(clock, ValueError("boom"))),
        ("next", hook(clock)),
        failure_policy=FailurePolicy.FAIL_CLOSED,
    )
    run = ex.execute(P, ctx())
    assert run.result == Cancel("hook bad failed: boom")
    assert [t.hook_name for t in run.trace] == ["bad"]


def test_fail_closed_reasons(clock: VirtualClock) -> None:
    for fn, reason in (
        (hook(clock, None, 200), "hook h failed: timeout"),
        (hook(clock, 42), "hook h failed: invalid_result"),
        (hook(clock, KeyError()), "hook h failed: KeyError"),
    ):
        ex = setup(clock, ("h", fn), failure_policy="FAIL_CLOSED")
        assert ex.execute(P, ctx()).result == Cancel(reason)


@pytest.mark.parametrize(
    "value",
    [42, "continue", {"cancel": {}}, Modified([1]), Retry(-1, 1), Modified({"a": {1}})],  # type: ignore[arg-type]
)
def test_invalid_results(clock: VirtualClock, value: Any) -> None:
    ex = setup(clock, ("h", hook(clock, value)))
    run = ex.execute(P, ctx())
    assert trace(run) == [("h", "ERROR", "invalid_result", 0.0, False, "CLOSED")]
    assert run.result == CONTINUE


def test_sync_function_returning_a_coroutine_is_invalid_and_closed(clock: VirtualClock) -> None:
    async def later() -> None:
        return None

    ex = setup(clock, ("h", lambda c: later()))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "coroutine was never awaited" would fail the test
        run = ex.execute(P, ctx())
    assert trace(run)[0][1:3] == ("ERROR", "invalid_result")


def test_sync_execute_rejects_coroutine_hooks_before_calling_anything(clock: VirtualClock) -> None:
    called: list[str] = []

    async def audit(c: HookContext) -> None:
        called.append("audit")

    reg = Registry()
    reg.register(lambda c: called.append("first"), name="first", point=P)
    reg.register(audit, name="audit", point=P)
    ex = Executor(reg, clock=clock)
    with pytest.raises(AsyncHookNotAllowed) as info:
        ex.execute(P, ctx())
    assert "'audit'" in str(info.value) and "aexecute" in str(info.value)
    assert info.value.code == "FAILED_PRECONDITION"
    assert called == []


def test_disabled_and_feature_off_hooks_leave_no_trace(clock: VirtualClock) -> None:
    reg = Registry()
    reg.register(hook(clock), name="on", point=P)
    reg.register(hook(clock), name="off", point=P, enabled=False)
    reg.register(hook(clock), name="flagged", point=P, feature="beta")
    ex = Executor(reg, clock=clock)
    assert [t.hook_name for t in ex.execute(P, ctx()).trace] == ["on"]
    reg.set_feature("beta", True)
    reg.enable("off")
    assert [t.hook_name for t in ex.execute(P, ctx()).trace] == ["on", "off", "flagged"]


def test_lazy_hook_built_once_and_factory_failure_is_an_error(clock: VirtualClock) -> None:
    built: list[int] = []
    attempts: list[int] = []

    def factory() -> Callable[[HookContext], HookResult]:
        built.append(1)
        return lambda c: Modified({"lazy": True})

    def broken() -> Any:
        attempts.append(1)
        raise RuntimeError("no config")

    reg = Registry()
    reg.register(factory, name="lazy", point=P, lazy=True)
    reg.register(broken, name="broken", point=P, lazy=True)
    ex = Executor(reg, clock=clock)
    assert built == []
    first = ex.execute(P, ctx())
    second = ex.execute(P, ctx())
    assert built == [1]
    assert attempts == [1, 1]
    assert first.result == second.result == Modified({"lazy": True})
    assert trace(second)[1] == (
        "broken",
        "ERROR",
        "lazy factory of hook 'broken' failed: no config",
        0.0,
        False,
        "CLOSED",
    )


def test_lazy_coroutine_hook_rejected_by_sync_execute(clock: VirtualClock) -> None:
    async def real(c: HookContext) -> None:
        return None

    reg = Registry()
    reg.register(lambda: real, name="lz", point=P, lazy=True)
    with pytest.raises(AsyncHookNotAllowed) as info:
        Executor(reg, clock=clock).execute(P, ctx())
    assert "'lz'" in str(info.value)


def test_breaker_opens_skips_and_probes(clock: VirtualClock) -> None:
    reg = Registry()
    reg.register(hook(clock, ValueError("down"), 1), name="flaky", point=P)
    ex = Executor(reg, clock=clock)
    states = [trace(ex.execute(P, ctx()))[0][5] for _ in range(5)]
    assert states == ["CLOSED"] * 4 + ["OPEN"]
    run = ex.execute(P, ctx())
    assert trace(run) == [("flaky", "SKIPPED", "circuit_open", 0.0, False, "OPEN")]
    assert run.result == CONTINUE
    clock.advance(15_000 * MS)
    run = ex.execute(P, ctx())
    # The probe failed: back to OPEN with a doubled open duration.
    assert trace(run) == [("flaky", "ERROR", "down", 1.0, False, "OPEN")]
    assert ex.breaker("flaky").status().current_open_duration_ns == 30_000 * MS
    ex.reset_breaker("flaky")
    assert ex.breaker_states()["flaky"].state is BreakerState.CLOSED


def test_probe_success_closes(clock: VirtualClock) -> None:
    outcomes = iter([ValueError("x")] * 2 + [None] * 10)

    def fn(c: HookContext) -> None:
        o = next(outcomes)
        if o is not None:
            raise o

    reg = Registry()
    reg.register(
        fn,
        name="h",
        point=P,
        breaker=BreakerConfig(minimum_calls=2, window_size=2, half_open_probes=1),
    )
    ex = Executor(reg, clock=clock)
    ex.execute(P, ctx())
    assert trace(ex.execute(P, ctx()))[0][5] == "OPEN"
    clock.advance(15_000 * MS)
    assert trace(ex.execute(P, ctx()))[0][1::4] == ("CONTINUE", "CLOSED")


def test_one_clock_read_per_boundary(clock: Any) -> None:
    ex = setup(clock, *((f"h{i}", hook(clock)) for i in range(5)))
    clock.reads = 0
    ex.execute(P, ctx())
    assert clock.reads == 6


def test_custom_adapter_exceptions(clock: VirtualClock) -> None:
    class Adapter:
        language = "lua"
        is_async = False

        def __init__(self, exc: Exception | None, result: HookResult = CONTINUE) -> None:
            self.exc = exc
            self.result = result

        def call(self, c: HookContext, timeout_ns: int) -> HookResult:
            clock.advance_ms(2)
            if self.exc is not None:
                raise self.exc
            return self.result

        async def acall(self, c: HookContext, timeout_ns: int) -> HookResult:
            return self.call(c, timeout_ns)

    reg = Registry()
    reg.register(Adapter(HookFailed("lua: boom")), name="a", point=P)
    reg.register(Adapter(InvalidResult("table")), name="b", point=P)
    reg.register(Adapter(HookTimedOut()), name="c", point=P)
    reg.register(Adapter(None, Modified({"k": 1})), name="d", point=P)
    run = Executor(reg, clock=clock).execute(P, ctx())
    assert [(t.hook_name, t.language, t.outcome.value, t.reason) for t in run.trace] == [
        ("a", "lua", "ERROR", "lua: boom"),
        ("b", "lua", "ERROR", "invalid_result"),
        ("c", "lua", "TIMEOUT", "timeout"),
        ("d", "lua", "MODIFIED", ""),
    ]


def test_events_and_monitor(clock: VirtualClock, sink: Any) -> None:
    reg = Registry()
    reg.register(hook(clock, ValueError("x"), 60), name="bad", point=P)
    monitor = PerformanceMonitor(clock)
    ex = Executor(reg, clock=clock, monitor=monitor, events=sink)
    for _ in range(6):
        ex.execute(P, ctx())
    types = [t for t, _ in sink.events]
    assert types == ["hookwire.hook.executed"] * 4 + [
        "hookwire.breaker.opened",
        "hookwire.hook.executed",
        "hookwire.hook.executed",
    ]
    assert sink.events[4][1] == {
        "hook": "bad",
        "failure_rate": 1.0,
        "slow_rate": 1.0,
        "open_duration_ms": 15000.0,
    }
    assert sink.events[0][1] == {
        "point": P,
        "hook": "bad",
        "outcome": "ERROR",
        "duration_ns": 60 * MS,
    }
    assert sink.events[-1][1]["outcome"] == "SKIPPED"
    s = monitor.stats("bad")
    assert (s.count, s.failures, s.errors, s.timeouts, s.skipped, s.slow, s.p50_ns) == (
        6,
        5,
        5,
        0,
        1,
        5,
        60 * MS,
    )
    assert monitor.snapshot().executions == 6


def test_bad_input(clock: VirtualClock) -> None:
    ex = Executor(Registry(), clock=clock)
    with pytest.raises(InvalidArgument) as info:
        ex.execute("before_everything", ctx())
    assert info.value.field == "point"
    with pytest.raises(InvalidArgument) as info:
        ex.execute(P, {"data": {}})  # type: ignore[arg-type]
    assert info.value.field == "context"
    with pytest.raises(InvalidArgument):
        Executor("registry", clock=clock)  # type: ignore[arg-type]


def test_execution_proto_round_trip(clock: VirtualClock) -> None:
    ex = setup(
        clock,
        ("m", hook(clock, Modified({"a": 2**70}), 60)),
        ("e", hook(clock, ValueError("bad"), 1)),
        ("r", hook(clock, Retry(MS, 2))),
    )
    run = ex.execute(P, HookContext(P, {"z": 1}, correlation_id="c1"))
    back = execution_from_proto(
        type(execution_to_proto(run)).FromString(execution_to_proto(run).SerializeToString())
    )
    assert back == run
    assert back.trace[0].outcome is Outcome.MODIFIED
    assert back.result == Retry(MS, 2)


def test_registry_change_between_executions(clock: VirtualClock) -> None:
    reg = Registry()
    reg.register(hook(clock), name="a", point=P)
    ex = Executor(reg, clock=clock)
    assert len(ex.execute(P, ctx()).trace) == 1
    reg.register(hook(clock), name="b", point=P)
    assert len(ex.execute(P, ctx()).trace) == 2
    reg.unregister("a")
    assert [t.hook_name for t in ex.execute(P, ctx()).trace] == ["b"]


def test_monitor_tells_refusals_from_hooks_declining_with_the_same_reason(
    clock: VirtualClock,
) -> None:
    reg = Registry()
    reg.register(hook(clock, Skipped("circuit_open")), name="decliner", point=P)
    monitor = PerformanceMonitor(clock)
    Executor(reg, clock=clock, monitor=monitor).execute(P, ctx())
    s = monitor.stats("decliner")
    assert (s.count, s.skipped) == (1, 0)
