"""The direct codec of hookwire.runtime.wire.event is pinned to the reference (the generated
upb messages): `event_to_bytes` writes what `event_to_proto(ev).SerializeToString()` parses
back to, and `events_from_bytes` reads every message exactly as the reference does, or refuses
it as the reference does (InvalidArgument), whatever the bytes."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import pytest
from google.protobuf.message import DecodeError
from hookwire.runtime.bus import NO_DATA, Event, EventAttrs
from hookwire.runtime.errors import InvalidArgument
from hookwire.runtime.wire.event import event_from_proto, event_to_bytes, event_to_proto
from hookwire.runtime.wire.event import events_from_bytes as read
from hookwire.v1 import event_pb2, json_pb2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

TP = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

PAYLOADS: list[Any] = [
    NO_DATA, None, True, False, 0, -1, 1, 63, 64, -64, -65, 2**63 - 1, -(2**63), 2**63,
    -(2**63) - 1, 2**100, 1.5, -0.0, 1e300, "", "text", "ünïcødé ✓", [], [1, "a", None, [2, [3]]],
    {}, {"a": 1, "b": {"c": [True, {"d": None}]}}, {"k" * 300: "v" * 5000}, {"k": "v" * 120},
    {"k" * 120: 1}, {"n": -1, "p": 5, "z": 0, "m": -64, "b": False, "t": True, "s": "x", "u": None},
    {"a": 100, "b": -100, "c": 10000, "d": -10000, "e": 1000000, "f": -(2**40), "g": 8191},
    Decimal("1.10"), (1, 2), list(range(200)), {"": ""}, {"x": 1.25, "y": [2.5]},
]  # fmt: skip

ATTRS = [
    EventAttrs(),
    EventAttrs(source="hookwire://x"),
    EventAttrs(
        source="hookwire://x", source_language="lua", correlation_id="c", causation_id="d",
        metadata={"m": "1", "n": ""}, traceparent=TP, tracestate="k=v",
    ),
    EventAttrs(tracestate="only=state"),
    EventAttrs(source_language="native", metadata={"k": "v" * 200}),
]  # fmt: skip


def reference(data: bytes, sequence: int) -> Event | type[InvalidArgument]:
    """What the generated parser and `event_from_proto` make of `data` (and the checks the bus
    makes at publish): the event, or InvalidArgument."""
    try:
        ev = event_from_proto(event_pb2.UniversalEvent.FromString(data))
        ev.validate()
    except (DecodeError, InvalidArgument):
        return InvalidArgument
    return ev.replace(sequence=sequence)


def outcome(data: bytes, sequence: int) -> Event | type[InvalidArgument]:
    try:
        [ev] = read([data], [sequence])
    except InvalidArgument:
        return InvalidArgument
    return ev


def assert_pinned(ev: Event) -> None:
    want = event_to_proto(ev)
    raw = event_to_bytes(ev)
    assert event_pb2.UniversalEvent.FromString(raw) == want
    for data in (raw, want.SerializeToString()):
        got = outcome(data, 42)
        assert got == reference(data, 42)
        assert got == event_from_proto(want).replace(sequence=42)


@pytest.mark.parametrize("payload", PAYLOADS, ids=repr)
@pytest.mark.parametrize("attrs", range(len(ATTRS)))
def test_bytes_are_the_reference_message(payload: Any, attrs: int) -> None:
    for ev in (
        Event("a.b", payload, id="id-1", time_ns=1_700_000_000_123_456_789, ttl_ns=5,
              attrs=ATTRS[attrs]),
        Event("a.b", payload, attrs=ATTRS[attrs]),
        Event("a.b", payload, time_ns=0, ttl_ns=2_000_000_000, sequence=7),
        Event("a." + "t" * 200, payload, time_ns=1, id="x" * 130, sequence=2**64 - 1),
    ):  # fmt: skip
        assert_pinned(ev)


def test_ids_given_by_the_bus_are_written() -> None:
    from hookwire.runtime.bus import EventBus
    from hookwire.runtime.clock import VirtualClock

    for start in (0, 1_700_000_000_999_999_999, -5_500_000_000):
        bus = EventBus(clock=VirtualClock(start_unix_ns=start))
        sub = bus.subscribe(">")
        bus.publish("a.b", {"x": 1}, source="s")
        [ev] = list(sub)
        assert isinstance(ev.id, str) and len(ev.id) == 36
        assert event_pb2.UniversalEvent.FromString(event_to_bytes(ev)) == event_to_proto(ev)


def test_events_in_a_row_share_nothing_they_should_not() -> None:
    """The reader remembers the type and attributes of the message before: the next one
    that only looks alike is still read as itself."""
    evs = [
        Event("a.b", 1, attrs=ATTRS[1]),
        Event("a.b", 2, attrs=ATTRS[1]),
        Event("a.b", 3, attrs=ATTRS[2]),
        Event("a.c", 4, attrs=ATTRS[2]),
        Event("a.c", 5),
        Event("a.c", 6, attrs=EventAttrs(source="hookwire://x", correlation_id="c")),
        Event("a.c", 7, attrs=ATTRS[1]),
        Event("a.c", 8, attrs=ATTRS[1], time_ns=3_000_000_001),
        Event("a.c", 9, attrs=ATTRS[1], time_ns=3_000_000_002),
        Event("a.c", 10, attrs=ATTRS[1], time_ns=4_000_000_002),
        Event("a.c", 11, attrs=ATTRS[1], ttl_ns=3_000_000_005),
    ]
    got = read([event_to_bytes(ev) for ev in evs], range(1, len(evs) + 1))
    assert got == [ev.replace(sequence=i) for i, ev in enumerate(evs, 1)]
    # Mutable payloads are never shared between events.
    a, b = read([event_to_bytes(Event("a.b", {"k": [1]}))] * 2, [1, 2])
    assert a.payload == b.payload and a.payload is not b.payload
    assert a.payload["k"] is not b.payload["k"]


@pytest.mark.parametrize(
    "value",
    [
        json_pb2.JsonValue(double_value=math.nan),
        json_pb2.JsonValue(double_value=math.inf),
        json_pb2.JsonValue(number_text="1e"),
        json_pb2.JsonValue(number_text="12345678901234567890123"),
        json_pb2.JsonValue(double_value=0.5),
    ],
    ids=str,
)
def test_numbers_the_reader_leaves_to_the_reference(value: json_pb2.JsonValue) -> None:
    pb = event_pb2.UniversalEvent(type="a.b")
    pb.payload.object_value.fields["n"].CopyFrom(value)
    data = pb.SerializeToString()
    assert outcome(data, 1) == reference(data, 1)


def test_a_bad_message_is_named_by_its_index() -> None:
    good = event_to_bytes(Event("a.b", 1))
    with pytest.raises(InvalidArgument) as info:
        read([good, good[:-1]], [1, 2])
    assert info.value.field is not None and info.value.field.startswith("events[1]")
    deep: Any = 1
    for _ in range(40):
        deep = [deep]
    pb = event_pb2.UniversalEvent(type="a.b")
    value = pb.payload
    for _ in range(40):
        value = value.array_value.values.add()
    with pytest.raises(InvalidArgument, match="nested deeper"):
        read([pb.SerializeToString()], [1])


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-70, 70) | st.integers(-(2**70), 2**70)
    | st.text(max_size=20)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)  # fmt: skip
texts = st.text(max_size=12)
events = st.builds(
    lambda t, p, ident, time, ttl, seq, src, lang, corr, cause, meta, tp, ts: Event(
        t, p, id=ident, time_ns=time, ttl_ns=ttl, sequence=seq, source=src, source_language=lang,
        correlation_id=corr, causation_id=cause, metadata=meta, traceparent=tp, tracestate=ts,
    ),
    st.sampled_from(["a", "a.b", "tool.invoked", "x" * 140]),
    st.just(NO_DATA) | json_values,
    texts, st.none() | st.integers(0, 2**62), st.none() | st.integers(0, 2**62),
    st.integers(0, 2**64 - 1), texts,
    st.sampled_from(["", "python", "lua", "javascript", "native"]),
    texts, texts, st.dictionaries(texts, texts, max_size=3), texts, texts,
)  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events)
def test_any_event_round_trips_like_the_reference(ev: Event) -> None:
    assert_pinned(ev)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events, st.data())
def test_damaged_bytes_are_read_or_refused_like_the_reference(ev: Event, data: Any) -> None:
    raw = bytearray(event_to_bytes(ev))
    for _ in range(data.draw(st.integers(1, 3))):
        kind = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        at = data.draw(st.integers(0, max(len(raw) - 1, 0)))
        if kind == "flip" and raw:
            raw[at] = data.draw(st.integers(0, 255))
        elif kind == "cut":
            del raw[at:]
        else:
            raw[at:at] = data.draw(st.binary(min_size=1, max_size=4))
    damaged = bytes(raw)
    assert outcome(damaged, 3) == reference(damaged, 3)
