"""Every value of the hookwire.v1 enums the runtime names has exactly one runtime name, read
from the descriptors, and the runtime's list of points is HookPoint's."""

from __future__ import annotations

from typing import Any

import pytest
from hookwire.runtime.errors import InvalidArgument
from hookwire.runtime.points import ALL_POINTS
from hookwire.runtime.wire import enums
from hookwire.v1 import common_pb2, hook_pb2

TABLES: dict[str, enums.EnumTable[Any]] = {
    "Language": enums.LANGUAGE,
    "HookPoint": enums.HOOK_POINT,
    "HookOutcome": enums.HOOK_OUTCOME,
    "BreakerState": enums.BREAKER_STATE,
    "FailurePolicy": enums.FAILURE_POLICY,
    "ComponentType": enums.COMPONENT_TYPE,
    "CompositeKind": enums.COMPOSITE_KIND,
    "TieBreaker": enums.TIE_BREAKER,
}
#: Values with no runtime name of their own (HOOK_POINT_CUSTOM is a point's custom form).
NAMELESS = {"HOOK_POINT_CUSTOM"}


@pytest.mark.parametrize("enum", sorted(TABLES))
def test_every_proto_value_has_one_runtime_name(enum: str) -> None:
    table = TABLES[enum]
    assert table.enum == enum
    descriptor = (
        hook_pb2.DESCRIPTOR.enum_types_by_name.get(enum)
        or common_pb2.DESCRIPTOR.enum_types_by_name[enum]
    )
    numbers = {v.number for v in descriptor.values if v.name not in NAMELESS}
    if 0 not in table.from_number:  # UNSPECIFIED is refused, not named
        numbers.discard(0)
    assert set(table.from_number) == numbers
    assert len(table.to_number) == len(table.from_number)  # one name per value


def test_points_are_hookpoint_in_number_order() -> None:
    values = [v for v in hook_pb2.HookPoint.DESCRIPTOR.values if v.number not in (0, 100)]
    expected = [v.name.removeprefix("HOOK_POINT_").lower() for v in values]
    assert list(ALL_POINTS) == sorted(expected, key=lambda p: enums.HOOK_POINT.to_number[p])
    assert [enums.HOOK_POINT.to_number[p] for p in ALL_POINTS] == sorted(v.number for v in values)


def test_points_round_trip_and_refuse_unknown_values() -> None:
    for point in (*ALL_POINTS, "custom:audit"):
        assert enums.point_from_proto(*enums.point_to_proto(point)) == point
    with pytest.raises(InvalidArgument, match="unknown or unspecified HookPoint value 0"):
        enums.point_from_proto(0)
    with pytest.raises(InvalidArgument, match="custom_point: must be empty"):
        enums.point_from_proto(10, "x")


def test_unknown_names_and_numbers_name_the_field() -> None:
    with pytest.raises(InvalidArgument, match=r"context\.language: unknown language 'cobol'"):
        enums.language_to_proto("cobol", "context.language")
    with pytest.raises(
        InvalidArgument, match=r"trace\.outcome: unknown or unspecified HookOutcome 0"
    ):
        enums.outcome_from_proto(0, "trace.outcome")
    with pytest.raises(InvalidArgument, match="state: unknown or unspecified BreakerState 9"):
        enums.breaker_state_from_proto(9, "state")
    assert enums.language_from_proto(0) == ""
