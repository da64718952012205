"""The transport seam: a bus over a non-synchronous transport (as NATS JetStream would be)
keeps publishers' and subscribers' code and semantics."""

from __future__ import annotations

import asyncio
import concurrent.futures
import queue
import threading
import time
from collections.abc import Callable, Sequence

import pytest
from hookwire.runtime.bus import Backpressure, Event, EventBus, InProcessTransport, Transport
from hookwire.runtime.bus.retention import RetentionLog
from hookwire.runtime.bus.transport import Deliver
from hookwire.runtime.clock import VirtualClock
from hookwire.runtime.errors import FailedPrecondition, InvalidArgument


class ThreadedTransport:
    """Sequences events like a remote server and delivers them from its own thread."""

    synchronous = False

    def __init__(self) -> None:
        self._log = RetentionLog(100)
        self.next_sequence = 1
        self._deliver: Deliver | None = None
        self._inbox: queue.Queue[list[Event] | None] = queue.Queue()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def attach(self, deliver: Deliver) -> None:
        self._deliver = deliver

    def publish(self, events: Sequence[Event]) -> None:
        with self._lock:
            for ev in events:
                ev.sequence = self.next_sequence
                self.next_sequence += 1
                self._log.append(ev)
        self._inbox.put(list(events))

    def _run(self) -> None:
        while (batch := self._inbox.get()) is not None:
            assert self._deliver is not None
            self._deliver(batch)

    def replay(self, from_sequence: int) -> list[Event]:
        return self._log.since(from_sequence, self.next_sequence)

    @property
    def oldest_retained(self) -> int:
        return self._log.oldest(self.next_sequence)

    def close(self) -> None:
        self._inbox.put(None)
        self._thread.join(5)


def test_bus_over_an_asynchronous_transport(balanced: Callable[[EventBus], None]) -> None:
    assert_balanced = balanced
    transport = ThreadedTransport()
    assert isinstance(transport, Transport)
    bus = EventBus(clock=VirtualClock(), transport=transport)
    seen: list[int] = []
    done = threading.Event()

    def cb(ev: Event) -> None:
        seen.append(ev.sequence)
        if len(seen) == 3:
            done.set()

    bus.subscribe("x.*", callback=cb)
    sub = bus.subscribe("x.>")
    assert bus.publish("x.a", 1) == 1
    bus.publish_batch([Event("x.b", 2), Event("x.c", 3)])
    assert done.wait(5)
    assert seen == [1, 2, 3]
    got = [sub.get(timeout=5) for _ in range(3)]
    assert [e.payload for e in got if e is not None] == [1, 2, 3]
    resumed = bus.subscribe("x.*", from_sequence=2)
    assert [e.sequence for e in resumed.poll()] == [2, 3]
    bus.close()
    assert_balanced(bus)


def test_in_process_transport_is_attached_once() -> None:
    t = InProcessTransport()
    EventBus(transport=t)
    with pytest.raises(FailedPrecondition):
        EventBus(transport=t)


def test_not_a_transport() -> None:
    with pytest.raises(InvalidArgument) as info:
        EventBus(transport=object())  # type: ignore[arg-type]
    assert info.value.field == "transport"


class GatedTransport:
    """An asynchronous transport driven by the test: `publish` only queues (as a network
    transport does under the bus lock); `store()` sequences, retains and acknowledges what is
    queued; `deliver()` hands stored events to the bus from another thread."""

    synchronous = False

    def __init__(self) -> None:
        self.log = RetentionLog(100)
        self.next_sequence = 1
        self.deliver_to: Deliver | None = None
        self.queued: list[tuple[list[Event], concurrent.futures.Future[list[int]]]] = []
        self.stored: list[Event] = []
        self.ids_seen_at_publish: list[str] = []

    def attach(self, deliver: Deliver) -> None:
        self.deliver_to = deliver

    def publish(self, events: Sequence[Event]) -> concurrent.futures.Future[list[int]]:
        self.ids_seen_at_publish.extend(ev.id for ev in events)
        ack: concurrent.futures.Future[list[int]] = concurrent.futures.Future()
        self.queued.append((list(events), ack))
        return ack

    def store(self) -> None:
        queued, self.queued = self.queued, []
        for events, ack in queued:
            seqs = []
            for ev in events:
                ev.sequence = self.next_sequence
                self.next_sequence += 1
                self.log.append(ev)
                self.stored.append(ev)
                seqs.append(ev.sequence)
            ack.set_result(seqs)

    def deliver(self, timeout: float = 10) -> threading.Thread:
        batch, self.stored = self.stored, []
        assert self.deliver_to is not None
        t = threading.Thread(target=self.deliver_to, args=(batch,))
        t.start()
        return t

    def replay(self, from_sequence: int) -> list[Event]:
        return self.log.since(from_sequence, self.next_sequence)

    @property
    def oldest_retained(self) -> int:
        return self.log.oldest(self.next_sequence)

    def close(self) -> None:
        pass


def test_ids_are_fixed_before_the_transport_sees_the_events() -> None:
    t = GatedTransport()
    bus = EventBus(clock=VirtualClock(), transport=t)
    bus.emit("a.x", {})
    bus.emit("a.x", {})
    bus.emit("a.y", {})
    ids = t.ids_seen_at_publish
    assert len(ids) == 3 and len(set(ids)) == 3 and all(ids)
    t.store()
    # Sequencing does not change them.
    assert [ev.id for ev in t.log.since(1, t.next_sequence)] == ids


def test_publish_waits_for_the_ack_outside_the_lock_and_emit_does_not() -> None:
    t = GatedTransport()
    bus = EventBus(clock=VirtualClock(), transport=t)
    bus.emit("a.x", {"n": 1})  # returns without an ack
    assert len(t.queued) == 1
    result: list[int] = []
    publisher = threading.Thread(target=lambda: result.append(bus.publish("a.x", 2)))
    publisher.start()
    deadline = time.monotonic() + 5
    while len(t.queued) < 2 and time.monotonic() < deadline:
        time.sleep(0.001)
    # The publisher waits for its ack; the bus lock is free meanwhile.
    assert bus.stats().published == 0
    assert not result
    t.store()
    publisher.join(5)
    assert result == [2]

    async def main() -> int:
        task = asyncio.ensure_future(bus.apublish("a.x", 3))
        await asyncio.sleep(0.01)
        assert not task.done()
        t.store()
        return await asyncio.wait_for(task, 5)

    assert asyncio.run(main()) == 3


def test_a_resume_between_store_and_delivery_gets_each_event_once() -> None:
    t = GatedTransport()
    bus = EventBus(clock=VirtualClock(), transport=t)
    bus.emit("a.x", {"n": 1})
    bus.emit("a.x", {"n": 2})
    t.store()
    t.deliver().join(5)
    bus.emit("a.x", {"n": 3})
    t.store()  # stored (retained), not yet delivered
    resumed = bus.subscribe("a.*", from_sequence=1)
    t.deliver().join(5)
    assert [e.sequence for e in resumed.poll()] == [1, 2, 3]
    assert bus.position == 3


def test_backpressure_holds_the_stream_consumer_back() -> None:
    t = GatedTransport()
    bus = EventBus(clock=VirtualClock(), transport=t)
    sub = bus.subscribe("a.*", capacity=2, overflow=Backpressure())
    for i in range(6):
        bus.emit("a.x", {"n": i})
    t.store()
    consumer = t.deliver()
    got: list[int] = []
    deadline = time.monotonic() + 10
    while len(got) < 6 and time.monotonic() < deadline:
        ev = sub.get(timeout=0.05)
        if ev is not None:
            got.append(ev.payload["n"])
            assert len(sub) <= 2
    consumer.join(5)
    assert got == list(range(6))
    s = sub.stats()
    assert s.dropped == 0 and s.timed_out == 0


class HeldTransport(ThreadedTransport):
    """Stores at once, but delivers only once `gate` is set."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        super().__init__()

    def _run(self) -> None:
        self.gate.wait(5)
        super()._run()


def test_retained_reads_what_is_stored_but_not_yet_fanned_out_only_when_asked() -> None:
    transport = HeldTransport()
    bus = EventBus(transport=transport)  # the system clock: `get` times out for real
    try:
        sub = bus.subscribe("x.*")
        assert bus.publish("x.a", 1) == 1
        # Stored (acknowledged) but not yet delivered to this bus.
        assert bus.retained(1) == []
        assert [(e.sequence, e.payload) for e in bus.retained(1, stored=True)] == [(1, 1)]
        transport.gate.set()
        assert sub.get(timeout=5) is not None
        assert [e.sequence for e in bus.retained(1)] == [1]
    finally:
        transport.gate.set()
        bus.close()
