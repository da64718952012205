"""Honoured results: the generated table, custom-point declarations, and the executor's ERROR
`result_not_honoured` (its failure policy applies; never a silent drop)."""

from __future__ import annotations

import pytest
from hookwire.runtime.clock import VirtualClock
from hookwire.runtime.context import HookContext
from hookwire.runtime.errors import InvalidArgument
from hookwire.runtime.executor import Executor
from hookwire.runtime.honoured import ALL_KINDS, honoured_results
from hookwire.runtime.points import ALL_POINTS
from hookwire.runtime.registry import FailurePolicy, HookSpec, Registry
from hookwire.runtime.results import Cancel, Fork, ForkOperation, Modified, Redirect, Replace
from hookwire.runtime.wire.registration import spec_from_proto, spec_to_proto
from hookwire.v1 import hook_pb2


def test_every_built_in_point_has_a_table_that_honours_asking_for_nothing() -> None:
    for point in ALL_POINTS:
        kinds = honoured_results(point)
        assert {"CONTINUE", "SKIPPED"} <= kinds <= ALL_KINDS, point


def test_the_table_follows_the_documented_rule() -> None:
    for point in ALL_POINTS:
        kinds = honoured_results(point)
        if point.startswith("before_"):
            assert kinds == ALL_KINDS
        elif point.startswith("after_"):
            assert kinds == ALL_KINDS - {"REDIRECT"}
        elif point.endswith("_error"):
            assert kinds == {"CONTINUE", "CANCEL", "REDIRECT", "REPLACE", "RETRY", "SKIPPED"}


def _run(hook: object, point: str, **options: object) -> tuple[object, list[tuple[str, str]]]:
    reg = Registry()
    reg.register(hook, name="h", point=point, **options)  # type: ignore[arg-type]
    ex = Executor(reg, clock=VirtualClock())
    execution = ex.execute(point, HookContext(point))
    return execution.result, [(str(e.outcome), e.reason) for e in execution.trace]


def test_a_kind_not_honoured_is_an_error_naming_kind_and_point() -> None:
    result, trace = _run(lambda ctx: Redirect("b"), "after_tool_execution")
    assert result == hook_result_continue()
    assert trace == [("ERROR", "result_not_honoured: REDIRECT at after_tool_execution")]


def hook_result_continue() -> object:
    from hookwire.runtime.results import CONTINUE

    return CONTINUE


def test_fail_closed_applies() -> None:
    result, _ = _run(
        lambda ctx: Fork((ForkOperation("op", {}),)),
        "tool_error",
        failure_policy=FailurePolicy.FAIL_CLOSED,
    )
    assert result == Cancel("hook h failed: result_not_honoured: FORK at tool_error")


def test_honoured_kinds_still_apply() -> None:
    assert _run(lambda ctx: Replace(1), "tool_error")[0] == Replace(1)
    assert _run(lambda ctx: Cancel("x"), "session_start")[0] == Cancel("x")


def test_custom_points_declare_at_registration() -> None:
    result, trace = _run(lambda ctx: Modified({"a": 1}), "custom:pay", honours=["CANCEL"])
    assert result == hook_result_continue()
    assert trace == [("ERROR", "result_not_honoured: MODIFIED at custom:pay")]
    assert _run(lambda ctx: Redirect("t"), "custom:pay")[0] == Redirect("t")  # undeclared: all


def test_declarations_are_checked() -> None:
    with pytest.raises(InvalidArgument, match="honours"):
        HookSpec("h", "after_tool_execution", honours=frozenset({"CANCEL"}))
    with pytest.raises(InvalidArgument, match="unknown result kind"):
        HookSpec("h", "custom:x", honours=frozenset({"NOPE"}))
    # A built-in point's own table may be given (it changes nothing).
    table = honoured_results("after_tool_execution")
    assert HookSpec("h", "after_tool_execution", honours=table).honours is None


def test_registration_proto_carries_the_table_and_declarations() -> None:
    spec = HookSpec("h", "custom:pay", honours=frozenset({"CANCEL"}))
    pb = spec_to_proto(spec)
    assert list(pb.honoured_results) == [
        hook_pb2.HOOK_OUTCOME_CONTINUE,
        hook_pb2.HOOK_OUTCOME_CANCEL,
        hook_pb2.HOOK_OUTCOME_SKIPPED,
    ]
    assert spec_from_proto(pb) == spec
    built_in = spec_to_proto(HookSpec("b", "after_tool_execution"))
    assert hook_pb2.HOOK_OUTCOME_REDIRECT not in built_in.honoured_results
    assert spec_from_proto(built_in) == HookSpec("b", "after_tool_execution")
    bad = hook_pb2.HookRegistration(
        name="x",
        point=hook_pb2.HOOK_POINT_CUSTOM,
        custom_point="c",
        honoured_results=[hook_pb2.HOOK_OUTCOME_ERROR],
    )
    with pytest.raises(InvalidArgument, match="honoured_results"):
        spec_from_proto(bad)
