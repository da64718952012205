"""The bus on a real JetStream stream (one server): one order for every bus, sequences that
mean the same everywhere, resume on another bus, OUT_OF_RANGE, retries stored once."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from hookwire.runtime.bus import Event, EventBus
from hookwire.runtime.bus.jetstream import JetStreamOptions, JetStreamTransport
from hookwire.runtime.errors import FailedPrecondition, OutOfRange


def _bus(url: str, closing: Callable[[Any], Any], **options: Any) -> EventBus:
    bus = EventBus(transport=JetStreamTransport(url, JetStreamOptions(**options)))
    closing(bus)
    return bus


def _wait(pred: Callable[[], bool], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_two_buses_see_one_gap_free_order(nats_server: Any, closing: Any) -> None:
    a = _bus(nats_server.url, closing)
    b = _bus(nats_server.url, closing)
    seen_a: list[tuple[int, str]] = []
    seen_b: list[tuple[int, str]] = []
    a.subscribe("t.>", callback=lambda ev: seen_a.append((ev.sequence, ev.id)))
    sub_b = b.subscribe("t.>", capacity=10_000)

    def publish(bus: EventBus, tag: str) -> None:
        for i in range(50):
            bus.publish("t.x", {"from": tag, "i": i})
        bus.publish_many("t.y", [{"from": tag, "batch": i} for i in range(30)])

    threads = [
        threading.Thread(target=publish, args=(bus, tag)) for bus, tag in ((a, "a"), (b, "b"))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    _wait(lambda: len(seen_a) == 160 and len(sub_b) == 160)
    for ev in sub_b.poll():
        seen_b.append((ev.sequence, ev.id))
    assert seen_a == seen_b
    assert [s for s, _ in seen_a] == list(range(1, 161))
    assert len({i for _, i in seen_a}) == 160


def test_publish_returns_the_stream_sequence_and_a_batch_is_consecutive(
    nats_server: Any, closing: Any
) -> None:
    bus = _bus(nats_server.url, closing)
    assert bus.publish("t.a", 1) == 1
    assert bus.publish_many("t.b", list(range(5))) == [2, 3, 4, 5, 6]
    published = bus.publish_batch([Event("t.c", i) for i in range(2500)])  # > 1000: split
    assert [e.sequence for e in published] == list(range(7, 2507))

    async def main() -> int:
        return await bus.apublish("t.d", {"k": "v"})

    assert asyncio.run(main()) == 2507


def test_resume_on_another_bus_continues_exactly(nats_server: Any, closing: Any) -> None:
    a = _bus(nats_server.url, closing)
    for i in range(20):
        a.publish("r.x", i)
    sub = a.subscribe("r.*", from_sequence=1)
    _wait(lambda: len(sub) == 20)
    seen = [ev.sequence for ev in sub.poll(10)]
    last = seen[-1]
    b = _bus(nats_server.url, closing)  # another host, started later
    resumed = b.subscribe("r.*", from_sequence=last + 1)
    a.publish("r.x", 20)
    _wait(lambda: len(resumed) == 11)
    assert [ev.sequence for ev in resumed.poll()] == list(range(11, 22))
    assert [ev.payload for ev in b.retained(1)][:3] == [0, 1, 2]


def test_out_of_range_names_the_oldest_after_limits_dropped_events(
    nats_server: Any, closing: Any
) -> None:
    bus = _bus(nats_server.url, closing, max_msgs=10)
    bus.publish_many("o.x", list(range(25)))
    with pytest.raises(OutOfRange) as info:
        bus.subscribe("o.>", from_sequence=3)
    assert "the oldest available is 16" in str(info.value)
    sub = bus.subscribe("o.>", from_sequence=16)
    _wait(lambda: len(sub) == 10)
    assert [ev.payload for ev in sub.poll()] == list(range(15, 25))


def test_a_retry_with_the_same_id_is_stored_once(nats_server: Any, closing: Any) -> None:
    bus = _bus(nats_server.url, closing)
    sub = bus.subscribe("d.>", capacity=100)
    first = bus.publish_event(Event("d.x", 1, id="fixed-id"))
    again = bus.publish_event(Event("d.x", 1, id="fixed-id"))  # a retry: same id
    assert again.sequence == first.sequence == 1
    bus.publish("d.y", 2)
    _wait(lambda: len(sub) == 2)
    assert [(ev.sequence, ev.payload) for ev in sub.poll()] == [(1, 1), (2, 2)]


def test_distributed_context_travels_with_the_event(nats_server: Any, closing: Any) -> None:
    a = _bus(nats_server.url, closing)
    b = _bus(nats_server.url, closing)
    sub = b.subscribe("c.>")
    tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    a.publish(
        "c.x", {"n": 1}, correlation_id="run-7", causation_id="call-3", traceparent=tp,
        tracestate="k=v", metadata={"m": "1"}, source="hookwire://a", source_language="lua",
    )  # fmt: skip
    _wait(lambda: len(sub) == 1)
    [ev] = sub.poll()
    assert (ev.correlation_id, ev.causation_id, ev.traceparent, ev.tracestate) == (
        "run-7", "call-3", tp, "k=v",
    )  # fmt: skip
    assert (ev.metadata, ev.source, ev.source_language) == ({"m": "1"}, "hookwire://a", "lua")


def test_an_existing_stream_without_the_settings_is_refused(nats_server: Any) -> None:
    import nats
    from nats.js import api

    async def make() -> None:
        nc = await nats.connect(nats_server.url)
        await nc.jetstream().add_stream(
            api.StreamConfig(name="HOOKWIRE", subjects=["hookwire.events.>"])
        )
        await nc.close()

    asyncio.run(make())
    with pytest.raises(FailedPrecondition) as info:
        JetStreamTransport(nats_server.url)
    assert "allow_atomic" in str(info.value) and "never changes" in str(info.value)


def test_no_server_is_a_clear_error() -> None:
    with pytest.raises(FailedPrecondition) as info:
        JetStreamTransport("nats://127.0.0.1:1", JetStreamOptions(connect_timeout_s=0.5))
    assert "cannot connect" in str(info.value)


def test_a_retried_batch_reads_the_stored_sequences_back(nats_server: Any, closing: Any) -> None:
    bus = _bus(nats_server.url, closing)
    bus.publish("b.first", 0)
    events = [Event("b.x", i, id=f"batch-{i}") for i in range(5)]
    first = [e.sequence for e in bus.publish_batch(events)]
    again = [e.sequence for e in bus.publish_batch(events)]  # the same ids: a retry
    assert first == again == [2, 3, 4, 5, 6]
    assert bus.publish("b.after", 1) == 7


def test_closing_fails_what_was_not_stored_instead_of_hanging(nats_server: Any) -> None:
    transport = JetStreamTransport(nats_server.url)
    bus = EventBus(transport=transport)
    nats_server.kill()  # nothing can be stored any more
    acks = [transport.publish([Event("z.x", i)]) for i in range(3)]
    acks.append(transport.publish([Event("z.y", i) for i in range(3)]))
    bus.close()
    for ack in acks:
        with pytest.raises(FailedPrecondition):
            ack.result(15)
    with pytest.raises(FailedPrecondition):
        bus.publish("z.x", 1)


def test_a_bus_reads_the_stream_from_its_first_subscription(nats_server: Any, closing: Any) -> None:
    """A host that only publishes does not download the stream; its first subscription starts
    reading after the last stored event (what came before is replayed on request)."""
    a = _bus(nats_server.url, closing)
    b = _bus(nats_server.url, closing)
    for i in range(3):
        a.publish("t.x", i)
    b.publish("t.x", 3)
    a_transport = JetStreamTransport(nats_server.url)  # the stream's state as another sees it
    closing(a_transport)
    _wait(lambda: a_transport.replay(1)[-1].sequence == 4)
    assert a.position == 0 and a.stats().published == 0  # nothing read yet
    live = a.subscribe("t.>", capacity=100)
    assert a.position == 4
    a.publish("t.x", 4)
    _wait(lambda: len(live) == 1)
    assert [(e.sequence, e.payload) for e in live.poll()] == [(5, 4)]
    replayed = a.subscribe("t.>", from_sequence=2, capacity=100)
    _wait(lambda: len(replayed) == 4)
    assert [e.sequence for e in replayed.poll()] == [2, 3, 4, 5]


def test_settle_waits_until_this_hosts_events_came_back(nats_server: Any, closing: Any) -> None:
    transport = JetStreamTransport(nats_server.url)
    bus = EventBus(transport=transport)
    closing(bus)
    transport.settle()  # nothing published: returns at once
    seen: list[int] = []
    bus.subscribe("t.>", callback=lambda ev: seen.append(ev.sequence))
    for i in range(20):
        bus.emit("t.x", {"i": i})  # never waits for the stream
    bus.publish_many("t.y", [{"j": j} for j in range(30)])
    transport.settle()
    assert seen == list(range(1, 51))
