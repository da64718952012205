"""Generated converters (hookwire.v1.convert): pydantic model <-> protobuf message."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from hookwire.codegen.decode import message_class
from hookwire.codegen.pyconvert import model_attr, snake
from hookwire.codegen.vectors import build_vectors
from hookwire.v1 import common_pb2, convert, executor_service_pb2, hook_pb2, json_pb2, models
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

Converter = Callable[[Any], Any]


def converters(full_name: str) -> tuple[Converter, Converter]:
    name = snake(full_name.rsplit(".", 1)[-1])
    to_pb: Converter = getattr(convert, f"{name}_to_pb")
    from_pb: Converter = getattr(convert, f"{name}_from_pb")
    return to_pb, from_pb


def test_every_message_has_a_model_with_matching_fields(message_name: str) -> None:
    """The converter's naming rule for model fields agrees with datamodel-code-generator's."""
    short = message_name.rsplit(".", 1)[-1]
    model = getattr(models, short)
    assert callable(getattr(convert, f"{snake(short)}_to_pb"))
    assert callable(getattr(convert, f"{snake(short)}_from_pb"))
    pb_fields = [f.name for f in message_class(message_name).DESCRIPTOR.fields]
    model_fields = model.model_fields
    assert sorted(model_fields) == sorted(model_attr(n) for n in pb_fields)
    for name in pb_fields:
        info = model_fields[model_attr(name)]
        assert (info.alias or model_attr(name)) == name


def rich_context() -> models.HookContext:
    leaf = models.HookContext(
        point=models.HookPoint.HOOK_POINT_CUSTOM,
        custom_point="x.y",
        timestamp="1969-12-31T23:59:59.500000001Z",
    )
    return models.HookContext(
        point=models.HookPoint.HOOK_POINT_BEFORE_TOOL_EXECUTION,
        component=models.ComponentId(id="t", type=models.ComponentType.COMPONENT_TYPE_TOOL),
        data=models.JsonObject(
            fields={
                "big": models.JsonValue(int_value=2**63 - 1),
                "huge": models.JsonValue(number_text="18446744073709551616"),
                "null": models.JsonValue(null_value=models.JsonNull.JSON_NULL),
                "no": models.JsonValue(bool_value=False),
                "list": models.JsonValue(
                    array_value=models.JsonArray(
                        values=[models.JsonValue(double_value=0.5), models.JsonValue()]
                    )
                ),
            }
        ),
        metadata={"a": "1", "ключ": "значение"},
        language=models.Language.LANGUAGE_LUA,
        timestamp="2024-01-02T03:04:05.123456789Z",
        parent=models.HookContext(parent=leaf, correlation_id="mid"),
        operation=models.Operation(type="tool_call", parameters=models.JsonValue(string_value="é")),
    )


def test_rich_context_to_pb_field_by_field() -> None:
    pb = convert.hook_context_to_pb(rich_context())
    assert pb.point == hook_pb2.HOOK_POINT_BEFORE_TOOL_EXECUTION
    assert pb.language == common_pb2.LANGUAGE_LUA
    assert pb.component.type == hook_pb2.COMPONENT_TYPE_TOOL
    assert (pb.timestamp.seconds, pb.timestamp.nanos) == (1_704_164_645, 123_456_789)
    assert pb.data.fields["big"].int_value == 2**63 - 1
    assert pb.data.fields["huge"].WhichOneof("kind") == "number_text"
    assert pb.data.fields["null"].WhichOneof("kind") == "null_value"
    assert pb.data.fields["no"].WhichOneof("kind") == "bool_value"  # false, but present
    assert [v.WhichOneof("kind") for v in pb.data.fields["list"].array_value.values] == [
        "double_value",
        None,
    ]
    assert dict(pb.metadata) == {"a": "1", "ключ": "значение"}
    assert pb.parent.correlation_id == "mid"
    assert (pb.parent.parent.timestamp.seconds, pb.parent.parent.timestamp.nanos) == (
        -1,
        500_000_001,
    )
    assert pb.parent.parent.custom_point == "x.y"
    assert not pb.parent.parent.HasField("parent")
    assert not pb.HasField("distributed")
    assert pb.operation.parameters.string_value == "é"
    assert not pb.operation.HasField("result")


def test_rich_context_round_trips() -> None:
    model = rich_context()
    back = convert.hook_context_from_pb(convert.hook_context_to_pb(model))
    assert back == model
    assert back.timestamp == "2024-01-02T03:04:05.123456789Z"  # nanoseconds kept


def test_keyword_and_renamed_fields() -> None:
    # `continue` (keyword) and `register` (a BaseModel attribute) are renamed in the models.
    result = models.HookResult.model_validate({"continue": {}})
    pb = convert.hook_result_to_pb(result)
    assert pb.WhichOneof("kind") == "continue"
    assert convert.hook_result_from_pb(pb).continue_ == models.ContinueResult()
    message = executor_service_pb2.WorkerMessage()
    message.register.request_id = 9
    model = convert.worker_message_from_pb(message)
    assert model.register_ is not None and model.register_.request_id == 9
    assert convert.worker_message_to_pb(model) == message


def test_optional_presence_zero_vs_unset() -> None:
    zero = convert.breaker_config_to_pb(models.BreakerConfig(window_size=0))
    assert zero.HasField("window_size") and not zero.HasField("minimum_calls")
    assert convert.breaker_config_from_pb(zero).window_size == 0
    assert convert.breaker_config_from_pb(hook_pb2.BreakerConfig()).window_size is None


def test_packed_uint64_and_negative_duration() -> None:
    pb = convert.publish_response_to_pb(models.PublishResponse(sequences=[0, 1, 2**64 - 1]))
    assert list(pb.sequences) == [0, 1, 2**64 - 1]
    retry = convert.retry_result_to_pb(models.RetryResult(delay="-1.500s", max_attempts=2))
    assert (retry.delay.seconds, retry.delay.nanos) == (-1, -500_000_000)
    assert convert.retry_result_from_pb(retry).delay == "-1.500s"


def test_two_members_of_one_oneof_is_an_error() -> None:
    both = models.JsonValue(bool_value=True, string_value="x")
    with pytest.raises(
        convert.ConversionError, match=r"JsonValue\.kind: .*bool_value.*string_value"
    ):
        convert.json_value_to_pb(both)


def test_bad_timestamp_text_names_the_field() -> None:
    with pytest.raises(convert.ConversionError, match=r"HookContext\.timestamp"):
        convert.hook_context_to_pb(models.HookContext(timestamp="yesterday"))
    with pytest.raises(convert.ConversionError, match=r"RetryResult\.delay"):
        convert.retry_result_to_pb(models.RetryResult(delay="5 minutes"))


def test_unknown_enum_number_names_the_field() -> None:
    pb = hook_pb2.HookContext()
    pb.ParseFromString(bytes([0x08, 0x63]))  # point = 99: no such HookPoint (open enum)
    with pytest.raises(convert.ConversionError, match=r"HookContext\.point: enum HookPoint .*99"):
        convert.hook_context_from_pb(pb)


@pytest.mark.parametrize("name", sorted(build_vectors()))
def test_every_golden_vector_round_trips_through_the_model(name: str) -> None:
    pb = build_vectors()[name]
    to_pb, from_pb = converters(pb.DESCRIPTOR.full_name)
    model = from_pb(pb)
    assert isinstance(model, getattr(models, pb.DESCRIPTOR.name))
    again = to_pb(model)
    assert again == pb
    assert again.SerializeToString(deterministic=True) == pb.SerializeToString(deterministic=True)


def test_model_json_uses_proto_names_and_base64_bytes() -> None:
    dumped = models.HookResult.model_validate({"continue": {}}).model_dump(
        by_alias=True, exclude_none=True
    )
    assert dumped == {"continue": {}}
    assert models.ProtoModel.model_config.get("ser_json_bytes") == "base64"  # type: ignore[attr-defined]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_messages_round_trip(
    message_name: str,
    message_strategy: Callable[[str], st.SearchStrategy[Message]],
    data: st.DataObject,
) -> None:
    pb = data.draw(message_strategy(message_name))
    to_pb, from_pb = converters(message_name)
    again = to_pb(from_pb(pb))
    assert again == pb


def test_converter_does_not_use_json_format() -> None:
    """The converters are generated field by field (DESIGN.md), not routed through JSON."""
    source = Path(convert.__file__).read_text(encoding="utf-8")
    assert "json_format" not in source
    assert re.search(r"^def hook_context_to_pb\(model: models\.HookContext\)", source, re.M)


def test_from_pb_json_value_recursion_depth() -> None:
    value = json_pb2.JsonValue(string_value="leaf")
    for _ in range(50):
        outer = json_pb2.JsonValue()
        outer.array_value.values.add().CopyFrom(value)
        value = outer
    model = convert.json_value_from_pb(value)
    assert convert.json_value_to_pb(model) == value


@settings(max_examples=300, deadline=None)
@given(
    seconds=st.integers(-62_135_596_800, 253_402_300_799),
    nanos=st.one_of(st.integers(0, 999_999_999), st.sampled_from([0, 1_000_000, 5_000])),
)
def test_timestamp_text_matches_protobuf(seconds: int, nanos: int) -> None:
    pb = Timestamp(seconds=seconds, nanos=nanos)
    text = convert._timestamp_text(pb, "t")
    assert text == pb.ToJsonString()
    back = Timestamp()
    convert._set_timestamp(back, text, "t")
    assert back == pb


@settings(max_examples=300, deadline=None)
@given(seconds=st.integers(-315_576_000_000, 315_576_000_000), nanos=st.integers(0, 999_999_999))
def test_duration_text_matches_protobuf(seconds: int, nanos: int) -> None:
    pb = Duration(seconds=seconds, nanos=-nanos if seconds < 0 else nanos)
    text = convert._duration_text(pb, "d")
    assert text == pb.ToJsonString()
    back = Duration()
    convert._set_duration(back, text, "d")
    assert back == pb


def test_timestamp_offsets_and_bad_dates() -> None:
    pb = Timestamp()
    convert._set_timestamp(pb, "2024-01-01T01:00:00.5+01:00", "t")
    assert (pb.seconds, pb.nanos) == (1_704_067_200, 500_000_000)
    convert._set_timestamp(pb, "2023-12-31T23:00:00-01:00", "t")
    assert pb.seconds == 1_704_067_200
    with pytest.raises(convert.ConversionError, match=r"t: '2024-02-30T00:00:00Z': day is out"):
        convert._set_timestamp(pb, "2024-02-30T00:00:00Z", "t")
    with pytest.raises(convert.ConversionError, match="time of day out of range"):
        convert._set_timestamp(pb, "2024-01-01T24:00:00Z", "t")
    with pytest.raises(convert.ConversionError, match="outside years"):
        convert._set_timestamp(pb, "0001-01-01T00:00:00+00:01", "t")


def test_out_of_range_wire_timestamp_names_the_field() -> None:
    pb = hook_pb2.HookContext()
    pb.timestamp.seconds = 253_402_300_800  # year 10000
    with pytest.raises(convert.ConversionError, match=r"HookContext\.timestamp: Timestamp"):
        convert.hook_context_from_pb(pb)
    cache = hook_pb2.CacheResult()
    cache.ttl.seconds, cache.ttl.nanos = 1, -1  # mixed signs
    with pytest.raises(convert.ConversionError, match=r"CacheResult\.ttl: Duration"):
        convert.cache_result_from_pb(cache)
