from __future__ import annotations

import uuid

import pytest
from hookwire.runtime.bus import NO_DATA, Event
from hookwire.runtime.bus.event import IdSource
from hookwire.runtime.errors import InvalidArgument
from hookwire.runtime.wire.event import event_from_proto, event_to_proto
from hookwire.v1 import common_pb2, event_pb2


def test_proto_round_trip_keeps_null_versus_no_payload() -> None:
    null = event_to_proto(Event("a", None, id="1"))
    none = event_to_proto(Event("a", id="1"))
    assert null.HasField("payload") and null.payload.WhichOneof("kind") == "null_value"
    assert not none.HasField("payload")
    assert event_from_proto(null).payload is None
    assert event_from_proto(none).payload is NO_DATA


def test_proto_fields() -> None:
    ev = Event(
        "a.b",
        {"n": 2**64},
        id="i",
        time_ns=1_000_000_001,
        sequence=9,
        ttl_ns=2_000_000_003,
        source="s",
        source_language="javascript",
        correlation_id="c",
        causation_id="k",
        metadata={"m": "v"},
        traceparent="tp",
        tracestate="ts",
    )
    pb = event_to_proto(ev)
    assert (pb.time.seconds, pb.time.nanos, pb.ttl.seconds, pb.ttl.nanos) == (1, 1, 2, 3)
    assert pb.source_language == common_pb2.LANGUAGE_JAVASCRIPT
    assert pb.payload.object_value.fields["n"].number_text == "18446744073709551616"
    assert (pb.trace_context.traceparent, pb.trace_context.tracestate) == ("tp", "ts")
    assert event_from_proto(event_pb2.UniversalEvent.FromString(pb.SerializeToString())) == ev
    bare = event_to_proto(Event("a", id="i"))
    assert (
        not bare.HasField("time")
        and not bare.HasField("ttl")
        and not bare.HasField("trace_context")
    )


def test_negative_ttl_in_proto_is_refused() -> None:
    pb = event_pb2.UniversalEvent(type="a")
    pb.ttl.seconds = -1
    with pytest.raises(InvalidArgument) as info:
        event_from_proto(pb)
    assert info.value.field == "ttl"


def test_derived_ids_are_version_4_uuids_and_distinct() -> None:
    src = IdSource(bytes(range(16)))
    ids = [src.derive(n) for n in (1, 2, 2**40)]
    assert len(set(ids)) == 3
    for i in ids:
        u = uuid.UUID(i)
        assert u.version == 4 and u.variant == uuid.RFC_4122
    assert src.derive(1) == IdSource(bytes(range(16))).derive(1)  # a function of (bus, seq)


def test_expiry_boundary() -> None:
    ev = Event("a", time_ns=100, ttl_ns=10)
    assert not ev.expired(109)
    assert ev.expired(110)
    assert not Event("a", time_ns=100).expired(10**20)


def test_replace() -> None:
    ev = Event("a", 1, id="x", correlation_id="c")
    r = ev.replace(payload=2, type="b")
    assert (r.type, r.payload, r.id, r.correlation_id) == ("b", 2, "x", "c")
    with pytest.raises(InvalidArgument) as info:
        ev.replace(colour="red")
    assert info.value.field == "changes"


@pytest.mark.parametrize(
    ("field", "value"),
    [("ttl_ns", 10**30), ("time_ns", 10**30), ("ttl_ns", 315_576_000_001 * 10**9)],
)
def test_times_beyond_the_wire_range_are_refused_by_validate_and_publish(
    field: str, value: int
) -> None:
    from hookwire.runtime.bus import EventBus

    ev = Event("a.b", {"k": 1}, ttl_ns=value) if field == "ttl_ns" else Event("a.b", time_ns=value)
    with pytest.raises(InvalidArgument) as info:
        ev.validate()
    assert info.value.field == field and "the wire's range" in str(info.value)
    bus = EventBus()
    with pytest.raises(InvalidArgument):
        bus.publish_event(ev)
    # Nothing was accepted: the next event gets the first sequence.
    assert bus.publish("a.b", {"k": 1}) == 1


def test_the_largest_wire_duration_still_round_trips() -> None:
    most = 315_576_000_000 * 10**9 + 999_999_999
    back = event_from_proto(event_to_proto(Event("a.b", id="i", ttl_ns=most)))
    assert back.ttl_ns == most
