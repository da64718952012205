"""`EventBus.emit_batch`: an execution's events travel the one commit path as one EventRun,
built only when read, and the bus's invariants hold exactly as for events emitted one by one:
sequences, ids, retention and resume, stats."""

from __future__ import annotations

from typing import Any

import pytest
from hookwire.runtime.bus import Backpressure, DropOldest, EventBus
from hookwire.runtime.bus.event_run import EventRun
from hookwire.runtime.clock import VirtualClock
from hookwire.runtime.context import HookContext
from hookwire.runtime.errors import InvalidArgument, OutOfRange, RateLimited
from hookwire.runtime.events import ExecutedPayloads, JsonPayloads
from hookwire.runtime.executor import Executor
from hookwire.runtime.registry import Registry

T = "hookwire.hook.executed"


class Counted(JsonPayloads):
    """Payloads that count how often they were built."""

    def __init__(self, n: int, start: int = 0) -> None:
        self.n = n
        self.start = start
        self.built = 0

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict[str, Any]:
        self.built += 1
        return {"i": self.start + i}


def fields(ev: Any) -> tuple[Any, ...]:
    return (ev.type, ev.payload, ev.sequence, ev.time_ns, ev.ttl_ns, ev.source, ev.source_language)


def test_a_run_is_what_emitting_one_by_one_gives() -> None:
    clock = VirtualClock()
    one, batched = EventBus(clock=clock), EventBus(clock=clock)
    subs = [one.subscribe(">"), batched.subscribe(">")]
    for bus in (one, batched):
        bus.publish("a.first", 0)
    for i in range(3):
        one.emit(T, {"i": i})
    batched.emit_batch(T, Counted(3))
    for bus in (one, batched):
        bus.publish("a.last", 4)
    a, b = (s.poll() for s in subs)
    assert [fields(e) for e in a] == [fields(e) for e in b]
    assert [e.sequence for e in b] == [1, 2, 3, 4, 5]
    assert b[1].source == "hookwire://runtime" and b[1].source_language == "native"
    ids = [e.id for e in b]
    assert len(set(ids)) == 5 and all(ids)


def test_nobody_reading_builds_nothing_and_a_replay_builds_the_rest() -> None:
    bus = EventBus()
    payloads = Counted(5)
    bus.emit_batch(T, payloads)
    assert payloads.built == 0
    assert bus.stats().published == 5 and bus.next_sequence == 6
    # A resume from inside the run replays exactly its remaining events.
    assert [(e.sequence, e.payload) for e in bus.retained(4)] == [(4, {"i": 3}), (5, {"i": 4})]
    assert payloads.built == 5
    # Built once: the same events on every read.
    assert bus.retained(4)[0] is bus.retained(4)[0]


def test_retention_counts_every_event_of_a_run() -> None:
    bus = EventBus(retention=4)
    bus.emit_batch(T, Counted(3, start=1))  # sequences 1-3
    bus.emit_batch(T, Counted(3, start=4))  # 4-6: evicts 1 and 2
    assert bus.stats().oldest_retained == 3
    with pytest.raises(OutOfRange, match="oldest available is 3"):
        bus.subscribe(">", from_sequence=2)
    sub = bus.subscribe(">", from_sequence=3)
    assert [(e.sequence, e.payload["i"]) for e in sub.poll()] == [(3, 3), (4, 4), (5, 5), (6, 6)]
    bus.publish("a.b", 7)  # evicts 3: the first run is gone whole
    assert bus.stats().oldest_retained == 4
    assert [e.sequence for e in bus.retained(4)] == [4, 5, 6, 7]


def test_a_run_larger_than_the_log_keeps_its_last_events() -> None:
    bus = EventBus(retention=2)
    bus.emit_batch(T, Counted(5))
    assert [(e.sequence, e.payload["i"]) for e in bus.retained(4)] == [(4, 3), (5, 4)]
    empty = EventBus(retention=0)
    empty.emit_batch(T, Counted(2))
    assert empty.stats().published == 2 and empty.retained(3) == []


def test_subscription_stats_add_up_for_a_run() -> None:
    bus = EventBus()
    small = bus.subscribe(T, capacity=2, overflow=DropOldest())
    bus.emit_batch(T, Counted(5))
    st = small.stats()
    assert st.received == 5
    assert st.received == st.delivered + st.dropped_oldest + st.queued
    assert [e.payload["i"] for e in small.poll()] == [3, 4]


def test_a_callback_subscription_smaller_than_the_run_loses_nothing() -> None:
    bus = EventBus()
    seen: list[int] = []
    bus.subscribe(
        T, capacity=2, overflow=Backpressure(), callback=lambda e: seen.append(e.sequence)
    )
    bus.emit_batch(T, Counted(5))
    assert seen == [1, 2, 3, 4, 5]


def test_a_rate_limited_run_takes_no_sequence() -> None:
    bus = EventBus(clock=VirtualClock(), rate_limit=(1.0, 3))
    with pytest.raises(RateLimited):
        bus.emit_batch(T, Counted(5))
    assert bus.next_sequence == 1 and bus.stats().rate_limited == 5


def test_plain_payloads_are_validated_naming_the_index() -> None:
    bus = EventBus()
    with pytest.raises(InvalidArgument, match=r"payloads\[1\]"):
        bus.emit_batch(T, [{"ok": 1}, {"bad": object()}])
    assert bus.next_sequence == 1
    bus.emit_batch(T, iter([{"ok": 1}]))
    bus.emit_batch(T, [])
    assert bus.next_sequence == 2


def test_a_run_read_before_its_commit_is_stamped_like_any_event() -> None:
    bus = EventBus()
    run = EventRun(T, [{"i": 0}, {"i": 1}], bus._emit_attrs)
    early = list(run)  # built before it has an id, a time or a sequence
    bus._send(run)
    assert [e.sequence for e in early] == [1, 2]
    assert all(e.id and e.time_ns is not None for e in early)
    assert bus.retained(1) == early


def test_the_executor_emits_its_deferred_executions_as_one_run() -> None:
    reg = Registry()
    for name in ("a", "b"):
        reg.register(lambda ctx: None, name=name, point="session_start")
    bus = EventBus()
    ex = Executor(reg, events=bus)
    for _ in range(2):
        ex.execute("session_start", HookContext("session_start"))
    assert bus.next_sequence == 5  # a read: the deferred executions are committed first
    (run,) = set(bus._transport.log._log)  # type: ignore[attr-defined]
    assert type(run) is EventRun and run._events is None  # retained, not built
    assert [(e.sequence, e.payload["hook"]) for e in bus.retained(1)] == [
        (1, "a"),
        (2, "b"),
        (3, "a"),
        (4, "b"),
    ]
    executed = ExecutedPayloads([], 0)
    assert len(executed) == 0
