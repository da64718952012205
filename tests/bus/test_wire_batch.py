"""read_batch (a serialized PublishRequest read from its bytes) against Event.from_proto of the
same messages, and EventBus.apublish_read of it."""

from __future__ import annotations

import asyncio

import pytest
from google.protobuf import duration_pb2
from hookwire.runtime.bus import Event, EventBus
from hookwire.runtime.bus.event import IdSource
from hookwire.runtime.errors import InvalidArgument
from hookwire.runtime.wire.bus_publish import GIVEN_ID, GIVEN_TIME, read_batch
from hookwire.runtime.wire.event import event_from_proto, event_to_proto
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
        event_to_proto(Event("a.b", {"x": [1, "y", None, True]})),
        event_to_proto(Event("a.b", {"x": [2, "z"]})),  # same head as the one before
        event_to_proto(Event("a.b", {"n": 2.5, "big": 2**70})),  # doubles / number text
        event_to_proto(Event("a.b", "s" * 300)),  # a payload of more than 127 bytes
        event_to_proto(Event("a.b", "t" * 10)),  # the head again after a long one
        event_to_proto(Event("a.c", None)),  # JSON null
        event_pb2.UniversalEvent(type="a.d"),  # no payload
        event_to_proto(
            Event("a.e", 1, id="given", source="src", correlation_id="c", causation_id="k")
        ),
        event_to_proto(Event("a.e", 2, source="src", correlation_id="c", causation_id="k")),
        event_to_proto(Event("a.e", 3, source="src", correlation_id="other")),
        event_to_proto(Event("a.f", 4, time_ns=5_000_000_123, ttl_ns=2**62)),  # alive in tests
        event_to_proto(Event("a.g", 5, metadata={"k": "v"}, traceparent="00-ab-cd-01")),
        event_to_proto(Event("a.h", [], source_language="lua")),
        event_to_proto(Event("a.h", [1], sequence=99)),  # a sequence on the wire is ignored
    ]
    pbs[-2].source_language = common_pb2.LANGUAGE_PYTHON
    return pbs


def test_read_batch_reads_every_field_like_from_proto() -> None:
    pbs = _varied()
    batch = read_batch(_encode(pbs))
    assert len(batch.events) == len(pbs) == len(batch.bodies) == len(batch.given)
    for pb, ev, body in zip(pbs, batch.events, batch.bodies, strict=True):
        expected = event_from_proto(pb)
        assert ev.sequence == 0
        assert _fields(ev) == _fields(expected), pb
        assert event_pb2.UniversalEvent.FromString(body) == pb
    assert batch.given[7] == GIVEN_ID
    assert batch.given[10] == GIVEN_TIME
    assert batch.given[0] == batch.given[1] == 0


def test_unknown_fields_of_the_request_and_of_an_event_are_tolerated() -> None:
    pb = event_to_proto(Event("a.b", {"k": 1}))
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
    pbs = [event_to_proto(Event("a.b", {"i": 1})), event_to_proto(Event("a.b", {"i": 2})), bad]
    with pytest.raises(InvalidArgument) as info:
        read_batch(_encode(pbs))
    assert info.value.field == field


def test_a_nan_after_a_shared_head_is_still_refused() -> None:
    pbs = [event_to_proto(Event("a.b", {"i": 1})), event_to_proto(Event("a.b", {"i": 2}))]
    pbs.append(
        event_pb2.UniversalEvent(type="a.b", payload=json_pb2.JsonValue(double_value=float("inf")))
    )
    with pytest.raises(InvalidArgument) as info:
        read_batch(_encode(pbs))
    assert info.value.field == "events[2].payload"


def test_truncated_input_is_an_invalid_argument() -> None:
    encoded = _encode([event_to_proto(Event("a.b", {"i": 1}))])
    with pytest.raises(InvalidArgument) as info:
        read_batch(encoded[:-3])
    assert info.value.field is not None and info.value.field.startswith("events")


def test_apublish_read_of_a_batch_publishes_in_order_and_checks_types(bus: EventBus) -> None:
    sub = bus.subscribe(">")
    pbs = _varied()
    batch = asyncio.run(bus.apublish_read(lambda: read_batch(_encode(pbs))))
    assert [e.sequence for e in batch.events] == list(range(1, len(pbs) + 1))
    got = sub.poll()
    assert [_fields(e)[:3] for e in got] == [_fields(event_from_proto(pb))[:3] for pb in pbs]
    assert got[7].id == "given" and got[0].id and got[0].id != got[1].id
    with pytest.raises(InvalidArgument) as info:
        asyncio.run(
            bus.apublish_read(
                lambda: read_batch(_encode([pbs[0], event_pb2.UniversalEvent(type="a..b")]))
            )
        )
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
