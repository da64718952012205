"""read_batch (a serialized PublishRequest read from its bytes) against Event.from_proto of the
same messages, and EventBus.apublish_encoded."""

from __future__ import annotations

import asyncio

import pytest
from google.protobuf import duration_pb2
from hookwire.runtime.bus import Event, EventBus
from hookwire.runtime.bus.event import IdSource
from hookwire.runtime.bus.wire_batch import GIVEN_ID, GIVEN_TIME, read_batch
from hookwire.runtime.errors import InvalidArgument
from hookwire.v1 import common_pb2, event_pb2, json_pb2
from hookwire.v1 import event_service_pb2 as bs


def _encode(pbs: list[event_pb2.UniversalEvent]) -> bytes:
    # As the server does it: parse (the client's bytes), then the canonical encoding.
    raw = bs.PublishRequest(events=pbs).SerializeToString()
    return bs.PublishRequest.FromString(raw).SerializeToString()


def _fields(ev: Event) -> tuple[object, ...]:
    return (
        ev.type,
        ev.has_payload,
        ev.payload if ev.has_payload else None,
        ev.id,
        ev.time_ns,
        ev.ttl_ns,
        ev.source,
        ev.source_language,
        ev.correlation_id,
        ev.causation_id,
        ev.metadata,
        ev.traceparent,
        ev.tracestate,
    )


def _varied() -> list[event_pb2.UniversalEvent]:
    pbs = [
        Event("a.b", {"x": [1, "y", None, True]}).to_proto(),
        Event("a.b", {"x": [2, "z"]}).to_proto(),  # same head as the one before
        Event("a.b", {"n": 2.5, "big": 2**70}).to_proto(),  # doubles / number text
        Event("a.b", "s" * 300).to_proto(),  # a payload of more than 127 bytes
        Event("a.b", "t" * 10).to_proto(),  # the head again after a long one
        Event("a.c", None).to_proto(),  # JSON null
        event_pb2.UniversalEvent(type="a.d"),  # no payload
        Event("a.e", 1, id="given", source="src", correlation_id="c", causation_id="k").to_proto(),
        Event("a.e", 2, source="src", correlation_id="c", causation_id="k").to_proto(),
        Event("a.e", 3, source="src", correlation_id="other").to_proto(),
        Event("a.f", 4, time_ns=5_000_000_123, ttl_ns=2**62).to_proto(),  # alive in tests
        Event("a.g", 5, metadata={"k": "v"}, traceparent="00-ab-cd-01").to_proto(),
        Event("a.h", [], source_language="lua").to_proto(),
        Event("a.h", [1], sequence=99).to_proto(),  # a sequence on the wire is ignored
    ]
    pbs[-2].source_language = common_pb2.LANGUAGE_PYTHON
    return pbs


def test_read_batch_reads_every_field_like_from_proto() -> None:
    pbs = _varied()
    batch = read_batch(_encode(pbs))
    assert len(batch.events) == len(pbs) == len(batch.bodies) == len(batch.given)
    for pb, ev, body in zip(pbs, batch.events, batch.bodies, strict=True):
        expected = Event.from_proto(pb)
        assert ev.sequence == 0
        assert _fields(ev) == _fields(expected), pb
        assert event_pb2.UniversalEvent.FromString(body) == pb
    assert batch.given[7] == GIVEN_ID
    assert batch.given[10] == GIVEN_TIME
    assert batch.given[0] == batch.given[1] == 0


def test_unknown_fields_of_the_request_and_of_an_event_are_tolerated() -> None:
    pb = Event("a.b", {"k": 1}).to_proto()
    unknown_event_field = b"\xa8\x06\x01"  # field 101, varint 1
    unknown_request_field = b"\x10\x05"  # field 2, varint 5
    body = pb.SerializeToString() + unknown_event_field
    encoded = b"\x0a" + bytes([len(body)]) + body + unknown_request_field
    batch = read_batch(encoded)
    [ev] = batch.events
    assert (ev.type, ev.payload) == ("a.b", {"k": 1})
    assert batch.bodies == [body]


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        (
            event_pb2.UniversalEvent(
                type="a.b", payload=json_pb2.JsonValue(double_value=float("nan"))
            ),
            "events[2].payload",
        ),
        (
            event_pb2.UniversalEvent(type="a.b", source_language=99),  # type: ignore[arg-type]
            "events[2].source_language",
        ),
        (
            event_pb2.UniversalEvent(type="a.b", ttl=duration_pb2.Duration(seconds=-1)),
            "events[2].ttl",
        ),
    ],
)
def test_bad_events_are_named_by_index(bad: event_pb2.UniversalEvent, field: str) -> None:
    pbs = [Event("a.b", {"i": 1}).to_proto(), Event("a.b", {"i": 2}).to_proto(), bad]
    with pytest.raises(InvalidArgument) as info:
        read_batch(_encode(pbs))
    assert info.value.field == field


def test_a_nan_after_a_shared_head_is_still_refused() -> None:
    pbs = [Event("a.b", {"i": 1}).to_proto(), Event("a.b", {"i": 2}).to_proto()]
    pbs.append(
        event_pb2.UniversalEvent(type="a.b", payload=json_pb2.JsonValue(double_value=float("inf")))
    )
    with pytest.raises(InvalidArgument) as info:
        read_batch(_encode(pbs))
    assert info.value.field == "events[2].payload"


def test_truncated_input_is_an_invalid_argument() -> None:
    encoded = _encode([Event("a.b", {"i": 1}).to_proto()])
    with pytest.raises(InvalidArgument) as info:
        read_batch(encoded[:-3])
    assert info.value.field is not None and info.value.field.startswith("events")


def test_apublish_encoded_publishes_in_order_and_checks_types(bus: EventBus) -> None:
    sub = bus.subscribe(">")
    pbs = _varied()
    batch = asyncio.run(bus.apublish_encoded(_encode(pbs)))
    assert [e.sequence for e in batch.events] == list(range(1, len(pbs) + 1))
    got = sub.poll()
    assert [_fields(e)[:3] for e in got] == [_fields(Event.from_proto(pb))[:3] for pb in pbs]
    assert got[7].id == "given" and got[0].id and got[0].id != got[1].id
    with pytest.raises(InvalidArgument) as info:
        asyncio.run(bus.apublish_encoded(_encode([pbs[0], event_pb2.UniversalEvent(type="a..b")])))
    assert info.value.field == "events[1].type"
    assert bus.stats().invalid == 1
    assert bus.next_sequence == len(pbs) + 1  # nothing of the refused batch was accepted


@pytest.mark.parametrize("seed", [bytes(16), b"\xff" * 16, bytes(9) + b"\xff" * 7])
@pytest.mark.parametrize("first", [1, 2**48 - 5, 2**62 - 3, 12_345])
def test_derived_id_runs_match_single_ids_across_carries(seed: bytes, first: int) -> None:
    ids = IdSource(seed)
    run = ids.derive_ascii_run(first, 10)
    assert run == [ids.derive(first + k).encode() for k in range(10)]
    assert len(set(run)) == 10 and all(len(i) == 36 for i in run)
    assert ids.derive_ascii_run(first, 0) == []
