"""HookContext: copies and proto round trips."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hookwire.runtime.context import (
    ComponentId,
    DistributedContext,
    HookContext,
    Operation,
    OperationError,
)
from hookwire.runtime.errors import InvalidArgument
from hookwire.runtime.wire.context import context_from_proto, context_to_proto
from hookwire.v1 import hook_pb2


def full_context() -> HookContext:
    parent = HookContext("before_agent_execution", {"depth": 0})
    return HookContext(
        point="custom:billing",
        data={"n": 2**70, "d": Decimal("1.25"), "list": [None, True], "obj": {"x": "y"}},
        metadata={"k": "v"},
        component=ComponentId("tool-1", "tool", "search"),
        language="lua",
        correlation_id="corr-1",
        timestamp_ns=1_700_000_000_123_456_789,
        operation=Operation(
            "tool_call", "op-1", {"q": "x"}, [1, 2], OperationError("timeout", "slow")
        ),
        parent=parent,
        distributed=DistributedContext(
            "agent-b",
            True,
            False,
            True,
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "vendor=1",
        ),
    )


def test_proto_round_trip_keeps_everything() -> None:
    ctx = full_context()
    pb = context_to_proto(ctx)
    assert pb.point == hook_pb2.HOOK_POINT_CUSTOM
    assert pb.custom_point == "billing"
    assert pb.timestamp.seconds == 1_700_000_000
    assert pb.timestamp.nanos == 123_456_789
    back = context_from_proto(hook_pb2.HookContext.FromString(pb.SerializeToString()))
    assert back == ctx


def test_minimal_context_round_trip() -> None:
    ctx = HookContext("session_start")
    back = context_from_proto(context_to_proto(ctx))
    assert back == ctx
    assert back.component is None and back.operation is None and back.parent is None


def test_with_data_is_a_shallow_copy() -> None:
    ctx = full_context()
    other = ctx.with_data({"a": 1})
    assert other.data == {"a": 1}
    assert ctx.data["obj"] == {"x": "y"}
    assert other.metadata is ctx.metadata
    assert other.point == ctx.point and other.parent is ctx.parent


def test_to_proto_errors_name_the_field() -> None:
    with pytest.raises(InvalidArgument) as info:
        context_to_proto(HookContext("session_start", {"a": {1}}))
    assert info.value.field == "context.data.a"
    with pytest.raises(InvalidArgument) as info:
        context_to_proto(HookContext("session_start", language="cobol"))
    assert info.value.field == "context.language"
    with pytest.raises(InvalidArgument) as info:
        context_to_proto(HookContext("nowhere"))
    assert info.value.field == "context.point"
    with pytest.raises(InvalidArgument) as info:
        context_to_proto(HookContext("session_start", component=ComponentId("x", "robot")))
    assert info.value.field == "component.type"
