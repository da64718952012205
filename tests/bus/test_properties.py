"""Random operation sequences and concurrent publishers: the bus's invariants hold throughout."""

from __future__ import annotations

import threading
from collections.abc import Callable

from hookwire.runtime.bus import (
    Backpressure,
    DropNewest,
    DropOldest,
    EventBus,
    OverflowStrategy,
    Sample,
    Subscription,
)
from hookwire.runtime.clock import VirtualClock
from hookwire.runtime.errors import OutOfRange
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

strategies = st.sampled_from(
    [
        DropOldest(),
        DropNewest(),
        Backpressure(timeout_ns=0),
        Sample(rate=0.5),
        Sample(rate=0.3, high_water_mark=0.5),
        Sample(rate=1),
    ]
)
types = st.sampled_from(["a", "a.b", "a.c", "b.x.y"])
patterns = st.sampled_from(["a", "a.*", "a.>", ">", "*.x.*", "b.>"])
ops = st.lists(
    st.one_of(
        st.tuples(st.just("publish"), types, st.one_of(st.none(), st.integers(0, 5))),
        st.tuples(st.just("subscribe"), patterns, st.integers(1, 4), strategies, st.integers(0, 8)),
        st.tuples(st.just("poll"), st.integers(0, 5), st.integers(1, 3)),
        st.tuples(st.just("close"), st.integers(0, 5)),
        st.tuples(st.just("advance"), st.integers(0, 3)),
    ),
    max_size=60,
)


# `balanced` is a stateless function, safe to share between generated inputs.
@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=ops)
def test_random_operations_keep_every_invariant(
    ops: list[tuple[object, ...]], balanced: Callable[[EventBus], None]
) -> None:
    clock = VirtualClock()
    bus = EventBus(clock=clock, retention=5)
    subs: list[Subscription] = []
    delivered: dict[int, list[int]] = {}
    published: list[tuple[int, str]] = []
    for op in ops:
        if op[0] == "publish":
            _, t, ttl = op
            assert isinstance(t, str)
            seq = bus.publish(t, len(published), ttl_ns=ttl if isinstance(ttl, int) else None)
            published.append((seq, t))
            assert seq == len(published)  # gap-free
        elif op[0] == "subscribe":
            _, pattern, capacity, overflow, back = op
            assert isinstance(pattern, str) and isinstance(capacity, int) and isinstance(back, int)
            assert isinstance(overflow, (DropOldest, DropNewest, Backpressure, Sample))
            strategy: OverflowStrategy = overflow
            start = max(0, bus.next_sequence - back) if back else 0
            try:
                sub = bus.subscribe(
                    pattern, capacity=capacity, overflow=strategy, from_sequence=start
                )
            except OutOfRange:
                assert start < bus.stats().oldest_retained
                continue
            subs.append(sub)
            delivered[id(sub)] = []
        elif op[0] == "poll" and subs:
            _, index, n = op
            assert isinstance(index, int) and isinstance(n, int)
            sub = subs[index % len(subs)]
            delivered[id(sub)].extend(e.sequence for e in sub.poll(n))
        elif op[0] == "close" and subs:
            _, index = op
            assert isinstance(index, int)
            subs[index % len(subs)].close()
        elif op[0] == "advance":
            _, n = op
            assert isinstance(n, int)
            clock.advance(n)
        balanced(bus)
    for sub in subs:
        seqs = delivered[id(sub)] + [e.sequence for e in sub.poll()]
        assert seqs == sorted(set(seqs))  # strictly increasing, no duplicates
        for seq in seqs:
            assert sub.matches(published[seq - 1][1])
    balanced(bus)


def test_concurrent_publishers_and_backpressure_consumers(
    balanced: Callable[[EventBus], None],
) -> None:
    bus = EventBus()
    per_thread = 2000
    publishers = 4
    total = per_thread * publishers
    subs = [bus.subscribe(">", capacity=8, overflow=Backpressure()) for _ in range(3)]
    lossy = bus.subscribe("p.*", capacity=4, overflow=DropOldest())
    got: dict[int, list[int]] = {i: [] for i in range(len(subs))}

    def consume(i: int) -> None:
        while len(got[i]) < total:
            ev = subs[i].get(timeout=10)
            assert ev is not None
            got[i].append(ev.sequence)

    def publish(k: int) -> None:
        for j in range(per_thread):
            bus.publish(f"p.t{k}", j)

    threads = [threading.Thread(target=consume, args=(i,)) for i in range(len(subs))]
    threads += [threading.Thread(target=publish, args=(k,)) for k in range(publishers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
        assert not t.is_alive()
    for i in range(len(subs)):
        assert got[i] == list(range(1, total + 1))  # nothing lost, one order for everyone
    s = lossy.stats()
    assert s.received == total and s.dropped_oldest == total - 4
    balanced(bus)
