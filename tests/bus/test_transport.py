"""The transport seam: a bus over a non-synchronous transport (as NATS JetStream would be)
keeps publishers' and subscribers' code and semantics."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence

import pytest
from hookwire.runtime.bus import Event, EventBus, InProcessTransport, Transport
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
