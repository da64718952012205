"""Models built by the generated *_from_pb (without validation) behave like validated ones."""

from __future__ import annotations

from hookwire.v1 import convert, hook_pb2, json_pb2, models


def sample() -> hook_pb2.HookContext:
    pb = hook_pb2.HookContext(
        point=hook_pb2.HOOK_POINT_BEFORE_TOOL_EXECUTION,
        correlation_id="c-1",
        metadata={"a": "1"},
    )
    pb.data.fields["q"].string_value = "weather"
    pb.data.fields["n"].int_value = 3
    pb.data.fields["list"].array_value.values.add().bool_value = True
    pb.data.fields["obj"].object_value.fields["x"].null_value = json_pb2.JSON_NULL
    pb.timestamp.seconds, pb.timestamp.nanos = 1_764_000_000, 120_000_000
    return pb


def test_converted_model_equals_the_validated_model_in_every_respect() -> None:
    pb = sample()
    built = convert.hook_context_from_pb(pb)
    dumped = built.model_dump(mode="json", by_alias=True)
    validated = models.HookContext.model_validate(dumped)
    assert built == validated
    assert repr(built) == repr(validated)
    # Same field order (pydantic dumps __dict__ in order) and every field marked as set.
    assert list(built.__dict__) == list(models.HookContext.model_fields)
    assert list(dumped) == list(validated.model_dump(mode="json", by_alias=True))
    assert built.model_fields_set == set(models.HookContext.model_fields)
    assert built.timestamp == "2025-11-24T16:00:00.120Z"


def test_oneof_models_keep_declaration_order_and_one_member() -> None:
    value = convert.json_value_from_pb(json_pb2.JsonValue(number_text="1e400"))
    assert list(value.__dict__) == list(models.JsonValue.model_fields)
    assert {k: v for k, v in value.__dict__.items() if v is not None} == {"number_text": "1e400"}
    empty = convert.json_value_from_pb(json_pb2.JsonValue())
    assert all(v is None for v in empty.__dict__.values())


def test_converted_models_are_independent_and_mutable_like_validated_ones() -> None:
    a = convert.hook_context_from_pb(sample())
    b = convert.hook_context_from_pb(sample())
    a.correlation_id = "changed"
    assert b.correlation_id == "c-1"
    assert a.model_fields_set is not b.model_fields_set
    assert convert.hook_context_to_pb(a).correlation_id == "changed"
