"""Field tags read from the descriptors are the bytes protobuf itself writes before a field."""

from __future__ import annotations

import pytest
from google.protobuf import timestamp_pb2
from google.protobuf.message import Message
from hookwire.runtime.wire.tags import field_tag
from hookwire.v1 import common_pb2, event_pb2, event_service_pb2, hook_pb2, json_pb2, replay_pb2

CASES: list[tuple[Message, str]] = [
    (event_pb2.UniversalEvent(id="x"), "id"),  # string
    (event_pb2.UniversalEvent(sequence=300), "sequence"),  # uint64
    (event_pb2.UniversalEvent(source_language=common_pb2.LANGUAGE_LUA), "source_language"),  # enum
    (event_pb2.UniversalEvent(time=timestamp_pb2.Timestamp(seconds=1)), "time"),  # message
    (json_pb2.JsonValue(double_value=1.5), "double_value"),  # double
    (json_pb2.JsonValue(int_value=-1), "int_value"),
    (json_pb2.JsonArray(values=[json_pb2.JsonValue()]), "values"),  # repeated message
    (event_service_pb2.EventBatch(stats=event_service_pb2.SubscriptionStats(delivered=1)), "stats"),
    (replay_pb2.ExecutionRecord(index=1), "index"),
    (
        hook_pb2.HookRegistration(
            honoured_results=[hook_pb2.HOOK_OUTCOME_CONTINUE, hook_pb2.HOOK_OUTCOME_MODIFIED]
        ),
        "honoured_results",
    ),  # packed
]


@pytest.mark.parametrize(("message", "name"), CASES, ids=[n for _, n in CASES])
def test_a_tag_is_what_protobuf_writes_first(message: Message, name: str) -> None:
    assert message.SerializeToString().startswith(field_tag(type(message), name))
