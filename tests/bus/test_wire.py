"""EventBus.apublish_read of WireEvents.read (UniversalEvent messages, payloads decoded
lazily), the single-publish fast path against the general one, and whole-batch commits under
BACKPRESSURE."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from hookwire.runtime.bus import Backpressure, Event, EventBus
from hookwire.runtime.clock import VirtualClock
from hookwire.runtime.errors import InvalidArgument
from hookwire.runtime.wire.event import WireEvents, event_from_proto, event_to_proto
from hookwire.v1 import event_pb2, json_pb2


def _pb(type: str, payload: object = None, **kw: object) -> event_pb2.UniversalEvent:
    return event_to_proto(Event(type, payload, **kw))  # type: ignore[arg-type]


def test_wire_events_are_published_with_their_fields_and_lazy_payloads(bus: EventBus) -> None:
    sub = bus.subscribe(">")
    pbs = [
        _pb("a.b", {"x": [1, "y", None, True]}, source="s", correlation_id="c"),
        _pb("a.c", {"n": 2.5, "big": 2**70}),
        _pb("a.d", "text", metadata={"k": "v"}, ttl_ns=5_000),
    ]
    pbs.append(event_pb2.UniversalEvent(type="a.e"))  # no payload
    published = asyncio.run(bus.apublish_read(lambda: WireEvents().read(pbs)))
    assert [e.sequence for e in published] == [1, 2, 3, 4]
    got = sub.poll()
    assert [e.payload for e in got[:3]] == [
        {"x": [1, "y", None, True]},
        {"n": 2.5, "big": 2**70},
        "text",
    ]
    assert not got[3].has_payload
    assert (got[0].source, got[0].correlation_id) == ("s", "c")
    assert got[2].metadata == {"k": "v"} and got[2].ttl_ns == 5_000
    assert got[0].id and got[0].id != got[1].id
    # The messages themselves are not changed.
    assert pbs[0].sequence == 0 and pbs[0].id == ""


def test_lazy_payload_can_be_replaced_and_compares_like_a_plain_event(bus: EventBus) -> None:
    [ev] = asyncio.run(bus.apublish_read(lambda: WireEvents().read([_pb("a.b", {"k": [1, 2]})])))
    plain = event_from_proto(event_to_proto(ev))
    assert plain == ev
    assert ev.replace(payload=3).payload == 3


@pytest.mark.parametrize(
    ("value", "field"),
    [
        (json_pb2.JsonValue(double_value=float("nan")), "events[1].payload"),
        (
            json_pb2.JsonValue(
                object_value=json_pb2.JsonObject(
                    fields={"x": json_pb2.JsonValue(double_value=float("inf"))}
                )
            ),
            "events[1].payload.x",
        ),
        (json_pb2.JsonValue(number_text="12abc"), "events[1].payload.number_text"),
    ],
)
def test_wire_payloads_that_are_not_json_are_refused(
    bus: EventBus, value: json_pb2.JsonValue, field: str
) -> None:
    bad = event_pb2.UniversalEvent(type="a.b", payload=value)
    with pytest.raises(InvalidArgument) as info:
        asyncio.run(bus.apublish_read(lambda: WireEvents().read([_pb("a.b", 1), bad])))
    assert info.value.field == field
    assert bus.next_sequence == 1 and bus.stats().invalid == 1


def test_wire_number_text_and_bad_types_and_ttl(bus: EventBus) -> None:
    ok = event_pb2.UniversalEvent(type="a.b", payload=json_pb2.JsonValue(number_text="1.50"))
    [ev] = asyncio.run(bus.apublish_read(lambda: WireEvents().read([ok])))
    assert ev.payload == Decimal("1.50")
    with pytest.raises(InvalidArgument) as info:
        asyncio.run(bus.apublish_read(lambda: WireEvents().read([_pb("a.b"), _pb("a..b")])))
    assert info.value.field == "events[1].type"
    neg = event_pb2.UniversalEvent(type="a.b")
    neg.ttl.seconds = -1
    with pytest.raises(InvalidArgument) as info:
        asyncio.run(bus.apublish_read(lambda: WireEvents().read([neg])))
    assert info.value.field == "events[0].ttl"
    assert bus.stats().invalid == 2


def test_fast_and_general_publish_paths_agree(clock: VirtualClock) -> None:
    fast, general = EventBus(clock=clock), EventBus(clock=clock, rate_limit=(1e9, 10**9))
    for bus in (fast, general):
        sub = bus.subscribe("a.*")
        assert [bus.publish("a.b", {"i": i}) for i in range(3)] == [1, 2, 3]
        assert bus.publish("a.c", [1, {"j": 2}], source="s") == 4
        evs = sub.poll()
        assert [e.payload for e in evs] == [{"i": 0}, {"i": 1}, {"i": 2}, [1, {"j": 2}]]
        assert evs[3].source == "s" and evs[0].time_ns == clock.time_ns()
        with pytest.raises(InvalidArgument) as info:
            bus.publish("a.b", {"x": {1}})
        assert info.value.field == "payload.x"
        with pytest.raises(InvalidArgument) as info:
            bus.publish("a..b")
        assert info.value.field == "type"
        with pytest.raises(TypeError):
            bus.publish("a.b", 1, bogus=1)  # type: ignore[call-arg]


def test_a_batch_with_room_in_backpressure_queues_is_one_commit(bus: EventBus) -> None:
    sub = bus.subscribe("a.*", capacity=10, overflow=Backpressure(timeout_ns=0))
    commits: list[int] = []
    original = bus._commit

    def counting(events: list[Event]) -> None:
        commits.append(len(events))
        original(events)

    bus._commit = counting  # type: ignore[method-assign,assignment]
    asyncio.run(bus.apublish_batch([Event("a.b", i) for i in range(10)]))
    assert [e.payload for e in sub.poll()] == list(range(10))
    bus.publish_batch([Event("a.b", i) for i in range(4)])
    assert commits == [10, 4]
    # One more than there is room for: what fits in one commit, then the last one alone
    # (it times out).
    bus.publish_batch([Event("a.b", i) for i in range(7)])
    assert commits == [10, 4, 6, 1]
    assert sub.stats().timed_out == 1 and len(sub) == 10
