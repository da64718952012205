from __future__ import annotations

import math
import re
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from hookwire.runtime.bus import NO_DATA, Backpressure, Event, EventAttrs, EventBus
from hookwire.runtime.clock import VirtualClock
from hookwire.runtime.errors import FailedPrecondition, InvalidArgument, RateLimited

UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\Z")


def test_sequences_are_gap_free_and_stamped_at_publish(bus: EventBus, clock: VirtualClock) -> None:
    sub = bus.subscribe(">")
    made = Event("late.event", 1)  # constructed before the others are published
    assert bus.publish("a", 0) == 1
    clock.advance(5)
    assert bus.publish("b") == 2
    published = bus.publish_event(made)
    assert published.sequence == 3
    assert made.sequence == 0  # the caller's event is not changed
    events = sub.poll()
    assert [e.sequence for e in events] == [1, 2, 3]
    assert events[0].time_ns == 1_700_000_000_000_000_000
    assert events[1].time_ns == 1_700_000_000_000_000_005
    assert events[1].payload is NO_DATA
    ids = [e.id for e in events]
    assert len(set(ids)) == 3
    for i in ids:
        assert UUID_RE.match(i), i
        assert uuid.UUID(i).version == 4


def test_given_id_time_and_attributes_are_kept(bus: EventBus) -> None:
    sub = bus.subscribe("a")
    bus.publish(
        "a",
        None,
        id="my-id",
        time_ns=42,
        ttl_ns=10**19,
        source="hookwire://x",
        source_language="lua",
        correlation_id="c",
        causation_id="d",
        metadata={"k": "v"},
        traceparent="00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        tracestate="v=1",
    )
    (ev,) = sub.poll()
    assert (ev.id, ev.time_ns, ev.payload, ev.source, ev.source_language) == (
        "my-id",
        42,
        None,
        "hookwire://x",
        "lua",
    )
    assert (ev.correlation_id, ev.causation_id, ev.metadata, ev.tracestate) == (
        "c",
        "d",
        {"k": "v"},
        "v=1",
    )


def test_ids_are_unique_across_buses(make_bus: Callable[..., EventBus]) -> None:
    a, b = make_bus(), make_bus()
    sa, sb = a.subscribe("x"), b.subscribe("x")
    for _ in range(100):
        a.publish("x")
        b.publish("x")
    ids = [e.id for e in sa.poll()] + [e.id for e in sb.poll()]
    assert len(set(ids)) == 200


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({1, 2}, "payload"),
        (math.nan, "payload"),
        ({"a": math.inf}, "payload.a"),
        ({1: "x"}, "payload"),
        ({"a": [1, object()]}, "payload.a[1]"),
        ({"a": {"b": b"bytes"}}, "payload.a.b"),
    ],
)
def test_payload_must_be_json(bus: EventBus, payload: Any, field: str) -> None:
    sub = bus.subscribe(">")
    with pytest.raises(InvalidArgument) as info:
        bus.publish("a", payload)
    assert info.value.field == field
    assert bus.publish("a", 1) == 1  # the rejected event used no sequence
    assert bus.stats().invalid == 1
    assert len(sub.poll()) == 1


def test_json_payloads_of_every_kind_are_accepted(bus: EventBus) -> None:
    sub = bus.subscribe(">")
    payloads: list[Any] = [
        None,
        True,
        0,
        2**80,
        1.5,
        Decimal("1.10"),
        "s",
        [],
        {},
        {"a": [{"b": None}]},
    ]
    for p in payloads:
        bus.publish("a", p)
    assert [e.payload for e in sub.poll()] == payloads


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"source_language": "cobol"}, "source_language"),
        ({"metadata": {"k": 1}}, "metadata"),
        ({"time_ns": -1}, "time_ns"),
        ({"ttl_ns": 1.5}, "ttl_ns"),
        ({"id": 5}, "id"),
        ({"source": 3}, "source"),
        ({"metadata": 5}, "metadata"),
        ({"metadata": [("k", "v")]}, "metadata"),
    ],
)
def test_bad_fields_are_named(bus: EventBus, kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        bus.publish("a", 1, **kwargs)
    assert info.value.field == field
    assert bus.next_sequence == 1


def test_invalid_type_uses_no_sequence(bus: EventBus) -> None:
    with pytest.raises(InvalidArgument) as info:
        bus.publish("a..b", 1)
    assert info.value.field == "type"
    for bad in (["a"], None, 5):
        with pytest.raises(InvalidArgument) as info:
            bus.publish(bad, 1)  # type: ignore[arg-type]
        assert info.value.field == "type"
        with pytest.raises(InvalidArgument) as info:
            bus.publish_many(bad, [1])  # type: ignore[arg-type]
        assert info.value.field == "type"
    assert bus.publish("a.b") == 1


def test_rate_limit_rejects_without_using_a_sequence(
    make_bus: Callable[..., EventBus], clock: VirtualClock
) -> None:
    bus = make_bus(rate_limit=(10, 2))
    sub = bus.subscribe(">")
    assert [bus.publish("a", i) for i in range(2)] == [1, 2]
    with pytest.raises(RateLimited) as info:
        bus.publish("a", 3)
    assert info.value.code == "RESOURCE_EXHAUSTED"
    clock.advance_ms(99)
    with pytest.raises(RateLimited):
        bus.publish("a", 3)
    clock.advance_ms(1)  # 100 ms at 10/s: exactly one token
    assert bus.publish("a", 3) == 3
    assert bus.stats().rate_limited == 2
    assert [e.sequence for e in sub.poll()] == [1, 2, 3]


def test_rate_limit_batch_is_all_or_nothing(
    make_bus: Callable[..., EventBus], clock: VirtualClock
) -> None:
    bus = make_bus(rate_limit=(1, 3))
    with pytest.raises(RateLimited):
        bus.publish_batch([Event("a")] * 4)
    assert bus.next_sequence == 1
    assert [e.sequence for e in bus.publish_batch([Event("a")] * 3)] == [1, 2, 3]


@pytest.mark.parametrize(
    ("rate_limit", "field"),
    [
        ((0, 1), "rate"),
        ((-1.0, 1), "rate"),
        ((math.inf, 1), "rate"),
        ((1, 0), "burst"),
        (5, "rate_limit"),
    ],
)
def test_rate_limit_arguments(rate_limit: Any, field: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        EventBus(clock=VirtualClock(), rate_limit=rate_limit)
    assert info.value.field == field


def test_batch_is_validated_whole_before_anything_is_accepted(bus: EventBus) -> None:
    sub = bus.subscribe(">")
    with pytest.raises(InvalidArgument) as info:
        bus.publish_batch([Event("a", 1), Event("b", 2), Event("bad..type", 3)])
    assert info.value.field == "events[2].type"
    with pytest.raises(InvalidArgument) as info:
        bus.publish_batch([Event("a", 1), Event("b", {"x": {1}})])
    assert info.value.field == "events[1].payload.x"
    with pytest.raises(InvalidArgument) as info:
        bus.publish_batch([Event("a", 1), "not an event"])  # type: ignore[list-item]
    assert info.value.field == "events[1]"
    with pytest.raises(InvalidArgument) as info:
        bus.publish_batch(5)  # type: ignore[arg-type]
    assert info.value.field == "events"
    with pytest.raises(InvalidArgument) as info:
        bus.publish_many("a", 5)  # type: ignore[arg-type]
    assert info.value.field == "payloads"
    assert sub.poll() == []
    out = bus.publish_batch([Event("a", 1), Event("b", 2)])
    assert [(e.type, e.sequence) for e in out] == [("a", 1), ("b", 2)]
    assert [e.payload for e in sub.poll()] == [1, 2]


def test_publish_many(bus: EventBus) -> None:
    sub = bus.subscribe("m.*")
    cb: list[int] = []
    bus.subscribe("m.x", callback=lambda e: cb.append(e.sequence))
    assert bus.publish_many("m.x", [{"v": 1}, [2], None]) == [1, 2, 3]
    with pytest.raises(InvalidArgument) as info:
        bus.publish_many("m.x", [1, {"a": {2}}])
    assert info.value.field == "payloads[1].a"
    assert [e.payload for e in sub.poll()] == [{"v": 1}, [2], None]
    assert cb == [1, 2, 3]
    assert bus.next_sequence == 4


def test_emit_is_an_event_sink(bus: EventBus) -> None:
    sub = bus.subscribe("hookwire.>")
    bus.emit(
        "hookwire.hook.executed",
        {"point": "p", "hook": "h", "outcome": "CONTINUE", "duration_ns": 5},
    )
    (ev,) = sub.poll()
    assert ev.type == "hookwire.hook.executed"
    assert ev.payload["duration_ns"] == 5
    assert (ev.source, ev.source_language) == ("hookwire://runtime", "native")
    with pytest.raises(InvalidArgument):
        bus.emit("hookwire..x", {})


def test_attrs_object_is_shared_not_copied(bus: EventBus) -> None:
    attrs = EventAttrs(source="s", correlation_id="run")
    sub = bus.subscribe(">")
    bus.publish("a", attrs=attrs)
    bus.publish("b", attrs=attrs)
    a, b = sub.poll()
    assert a.attrs is b.attrs is attrs


def test_closed_bus_refuses_publish(bus: EventBus) -> None:
    bus.close()
    with pytest.raises(FailedPrecondition):
        bus.publish("a")
    with pytest.raises(FailedPrecondition):
        bus.subscribe("a")


def test_publish_many_waits_for_backpressure_room(bus: EventBus) -> None:
    import threading

    sub = bus.subscribe("m", capacity=2, overflow=Backpressure())
    result: list[list[int]] = []
    thread = threading.Thread(target=lambda: result.append(bus.publish_many("m", [1, 2, 3, 4])))
    thread.start()
    got: list[int] = []
    while len(got) < 4:
        ev = sub.get(timeout=5)
        assert ev is not None
        got.append(ev.payload)
    thread.join(5)
    assert got == [1, 2, 3, 4]
    assert result == [[1, 2, 3, 4]]
    assert sub.stats().timed_out == 0


def test_close_releases_a_blocked_publisher_with_an_error(bus: EventBus) -> None:
    import threading
    import time

    sub = bus.subscribe("x", capacity=1, overflow=Backpressure())
    bus.publish("x", 1)
    outcome: list[object] = []

    def publisher() -> None:
        try:
            outcome.append(bus.publish("x", 2))
        except FailedPrecondition as e:
            outcome.append(e)

    thread = threading.Thread(target=publisher)
    thread.start()
    time.sleep(0.05)
    bus.close()
    thread.join(5)
    assert len(outcome) == 1 and isinstance(outcome[0], FailedPrecondition)
    assert bus.stats().published == 1
    assert [e.payload for e in sub.poll()] == [1]
    with pytest.raises(FailedPrecondition):
        bus.publish_many("x", [1])


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"clock": "now"}, "clock"),
        ({"on_callback_error": 3}, "on_callback_error"),
        ({"emit_source": 1}, "emit_source"),
        ({"retention": 1.5}, "retention"),
    ],
)
def test_bus_arguments(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        EventBus(**kwargs)
    assert info.value.field == field


@pytest.mark.parametrize(
    "payload",
    [
        {"a": 1, "b": "x", "c": None, "d": True},
        {"a": 1.5},
        {"a": float("nan")},
        {1: "int key"},
        {"a": {"deep": [1, {2}]}},
        [1, 2],
        "text",
        float("inf"),
        {"a": b"bytes"},
        object(),
    ],
    ids=repr,
)
def test_publish_checks_payloads_like_validate_json(payload: object) -> None:
    # `publish` inlines the quick accept of `_trivially_valid`; every entry point refuses
    # what validate_json refuses, and accepts the rest.
    from hookwire.runtime.bus.bus import _trivially_valid
    from hookwire.runtime.json_value import validate_json

    try:
        validate_json(payload, "payload")
        valid = True
    except InvalidArgument:
        valid = False
    if _trivially_valid(payload):
        assert valid
    entry_points: list[Callable[[EventBus], object]] = [
        lambda bus: bus.publish("p.x", payload),
        lambda bus: bus.publish_many("p.x", [payload]),
        lambda bus: bus.emit("p.x", payload),  # type: ignore[arg-type]
    ]
    for publish in entry_points:
        bus = EventBus()
        if valid:
            publish(bus)
            assert bus.stats().published == 1
        else:
            with pytest.raises(InvalidArgument):
                publish(bus)
            assert bus.stats().published == 0 and bus.stats().invalid == 1


def test_publish_many_events_are_what_publishing_each_gives() -> None:
    """publish_many travels as one run (stamped, sequenced and retained whole): a reader, here
    a replay (nobody subscribed when it was published), sees the payloads as they were at the
    call (the list may change afterwards), with the times, sequences and consecutive id
    numbers publishing the same events in one batch gives."""
    clock = VirtualClock()
    many, each = EventBus(clock=clock), EventBus(clock=clock)
    payloads: list[Any] = [{"v": 1}, [2], None]
    assert many.publish_many("m.x", payloads) == [1, 2, 3]
    payloads[0] = "changed"
    payloads.append(4)
    each.publish_batch([Event("m.x", p) for p in ({"v": 1}, [2], None)])

    def seen(ev: Event) -> tuple[Any, ...]:
        # The id's number: its low 62 bits are the bus's random base plus the number.
        return ev.sequence, ev.type, ev.payload, ev.time_ns, uuid.UUID(ev.id).int & (2**62 - 1)

    got = [[seen(e) for e in b.subscribe("m.*", from_sequence=1).poll()] for b in (many, each)]
    for events in got:  # ids numbered consecutively from the bus's base
        assert [e[4] - events[0][4] for e in events] == [0, 1, 2]
    assert [e[:4] for e in got[0]] == [e[:4] for e in got[1]]
    assert [e[2] for e in got[0]] == [{"v": 1}, [2], None]
    assert [seen(e) for e in many.retained(2)] == got[0][1:]
