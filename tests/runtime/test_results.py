"""Results: kinds, validation, plain JSON and proto forms."""

from __future__ import annotations

from typing import Any

import pytest
from hookwire.runtime.errors import InvalidArgument
from hookwire.runtime.results import (
    CONTINUE,
    PRECEDENCE,
    STOPPING_KINDS,
    Cache,
    Cancel,
    Fork,
    ForkOperation,
    HookResult,
    Modified,
    Redirect,
    Replace,
    ResultKind,
    Retry,
    Skipped,
    duration_from_json,
    duration_to_json,
    result_from_json,
    result_to_json,
    validate_result,
)
from hookwire.runtime.wire.results import result_from_proto, result_to_proto
from hookwire.v1 import hook_pb2

EXAMPLES: list[tuple[HookResult, dict[str, Any]]] = [
    (CONTINUE, {"continue": {}}),
    (Modified({"a": 1, "b": None}), {"modified": {"data": {"a": 1, "b": None}}}),
    (Cancel("x"), {"cancel": {"reason": "x"}}),
    (Redirect("other"), {"redirect": {"target": "other"}}),
    (Replace([1, 2]), {"replace": {"value": [1, 2]}}),
    (Replace(None), {"replace": {"value": None}}),
    (Retry(60_000_000, 3), {"retry": {"delay": "0.060s", "maxAttempts": 3}}),
    (
        Fork((ForkOperation("op", {}), ForkOperation("op2", {"k": 2**70}))),
        {
            "fork": {
                "operations": [
                    {"operation": "op", "parameters": {}},
                    {"operation": "op2", "parameters": {"k": 2**70}},
                ]
            }
        },
    ),
    (Cache("k", 30_000_000_000), {"cache": {"key": "k", "ttl": "30s"}}),
    (Skipped("r"), {"skipped": {"reason": "r"}}),
]


@pytest.mark.parametrize(("result", "as_json"), EXAMPLES)
def test_json_form(result: HookResult, as_json: dict[str, Any]) -> None:
    assert result_to_json(result) == as_json
    assert result_from_json(as_json) == result


@pytest.mark.parametrize(("result", "as_json"), EXAMPLES)
def test_proto_round_trip(result: HookResult, as_json: dict[str, Any]) -> None:
    pb = result_to_proto(result)
    assert pb.WhichOneof("kind") == next(iter(as_json))
    again = hook_pb2.HookResult.FromString(pb.SerializeToString())
    assert result_from_proto(again) == result


def test_kinds_and_tables() -> None:
    assert [r.kind for r, _ in EXAMPLES][:3] == [
        ResultKind.CONTINUE,
        ResultKind.MODIFIED,
        ResultKind.CANCEL,
    ]
    assert {
        ResultKind.CANCEL,
        ResultKind.REDIRECT,
        ResultKind.REPLACE,
        ResultKind.RETRY,
        ResultKind.FORK,
        ResultKind.CACHE,
    } == STOPPING_KINDS
    assert [k.value for k in PRECEDENCE] == [
        "CANCEL",
        "REDIRECT",
        "REPLACE",
        "RETRY",
        "FORK",
        "CACHE",
        "MODIFIED",
        "CONTINUE",
    ]


@pytest.mark.parametrize(
    ("ns", "text"),
    [
        (0, "0s"),
        (1, "0.000000001s"),
        (1_500_000_000, "1.500s"),
        (1_000, "0.000001s"),
        (-2, "-0.000000002s"),
    ],
)
def test_durations(ns: int, text: str) -> None:
    assert duration_to_json(ns) == text
    assert duration_from_json(text, "d") == ns


def test_duration_parse_accepts_any_fraction_width() -> None:
    assert duration_from_json("1.5s", "d") == 1_500_000_000
    with pytest.raises(InvalidArgument) as info:
        duration_from_json("1.5", "retry.delay")
    assert str(info.value) == "retry.delay: must be a duration string like '1.5s', got '1.5'"


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ({}, "result"),
        ({"continue": {}, "cancel": {}}, "result"),
        ({"explode": {}}, "result"),
        ({"cancel": {"reason": 3}}, "result.cancel.reason"),
        ({"cancel": {"why": "x"}}, "result.cancel"),
        ({"modified": {"data": [1]}}, "result.modified.data"),
        ({"retry": {"delay": "1s", "maxAttempts": 0}}, "result.retry.maxAttempts"),
        ({"retry": {"delay": "soon", "maxAttempts": 1}}, "result.retry.delay"),
        ({"fork": {"operations": [{"operation": 1}]}}, "result.fork.operations[0].operation"),
        ("cancel", "result"),
    ],
)
def test_from_json_errors_name_the_field(value: Any, field: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        result_from_json(value)
    assert info.value.field == field


def test_empty_proto_result_is_invalid() -> None:
    with pytest.raises(InvalidArgument) as info:
        result_from_proto(hook_pb2.HookResult())
    assert "no result kind is set" in str(info.value)


@pytest.mark.parametrize(
    ("result", "field"),
    [
        (Modified([1]), "result.modified.data"),  # type: ignore[arg-type]
        (Modified({"a": {1}}), "result.modified.data.a"),
        (Redirect(""), "result.redirect.target"),
        (Retry(-1, 1), "result.retry.delay_ns"),
        (Retry(0, 0), "result.retry.max_attempts"),
        (Cache("k", -5), "result.cache.ttl_ns"),
        (Fork(("op",)), "result.fork.operations[0]"),  # type: ignore[arg-type]
        (42, "result"),
    ],
)
def test_validate_result(result: Any, field: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        validate_result(result)
    assert info.value.field == field
