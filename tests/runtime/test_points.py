"""Hook points in text form and their proto values."""

from __future__ import annotations

import pytest
from hookwire.runtime.errors import InvalidArgument
from hookwire.runtime.points import ALL_POINTS, parse_point
from hookwire.runtime.wire.enums import point_from_proto, point_to_proto
from hookwire.v1 import hook_pb2


def test_all_43_points_in_enum_order() -> None:
    assert len(ALL_POINTS) == 43
    assert ALL_POINTS[0] == "before_agent_init"
    assert ALL_POINTS[9] == "before_tool_execution"
    assert ALL_POINTS[-1] == "cpu_usage_high"


def test_point_proto_round_trip() -> None:
    assert point_to_proto("before_tool_execution") == (
        hook_pb2.HOOK_POINT_BEFORE_TOOL_EXECUTION,
        "",
    )
    assert point_to_proto("custom:billing.audit") == (hook_pb2.HOOK_POINT_CUSTOM, "billing.audit")
    assert point_from_proto(hook_pb2.HOOK_POINT_CUSTOM, "billing.audit") == "custom:billing.audit"
    for p in ALL_POINTS:
        assert point_from_proto(*point_to_proto(p)) == p


@pytest.mark.parametrize("bad", ["", "BEFORE_TOOL_EXECUTION", "custom:", "custom:a b", "nope"])
def test_parse_point_rejects(bad: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        parse_point(bad)
    assert info.value.field == "point"
    assert repr(bad) in str(info.value) or "custom point" in str(info.value)


def test_point_from_proto_rejects_unspecified_and_stray_custom_name() -> None:
    with pytest.raises(InvalidArgument):
        point_from_proto(hook_pb2.HOOK_POINT_UNSPECIFIED)
    with pytest.raises(InvalidArgument) as info:
        point_from_proto(hook_pb2.HOOK_POINT_SESSION_START, "x")
    assert info.value.field == "custom_point"
