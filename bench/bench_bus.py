"""Event bus throughput, memory and backpressure, each against a baseline measured in the same
run, the two alternating round by round (bench/rounds.py): a raw `collections.deque` append +
popleft + dispatch loop (what any queue-based bus must at least do per event).

Measured:
- publish -> deliver, 1 subscriber, sync API: per-event `publish` with a callback subscriber;
  per-event `publish` + `poll`; and `publish_many` (batches of 1,000) + `poll`. Goal: 1,000,000/s.
- 10 subscribers with mixed patterns (exact, `*`, `>`, some not matching), per-event publish.
- asyncio producer/consumer: `await apublish` and `async for` in one loop. Goal: 250,000/s.
- Memory: a subscriber that never reads, DROP_OLDEST capacity 1024, 1,000,000 events: RSS growth
  (goal <= 10 MB; the retention log's 10,000 events are included).
- BACKPRESSURE with a slow async consumer, 1,000,000 events: zero lost, sequences gap-free.

Example:
    python -m bench bus
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from hookwire.runtime.bus import Backpressure, DropOldest, Event, EventBus

from bench.rounds import interleave

N = 200_000
# The baseline and every subject run once per round, in turn, for 7 rounds (bench/rounds.py:
# machines are shared and noisy); each figure is the median of its rounds, never the best.
REPEATS = 7
BIG = 1_000_000


def _rate(fn: Callable[[], int]) -> Callable[[], float]:
    """Events/second of one run of fn (which returns how many events it moved)."""

    def run() -> float:
        gc.collect()
        t0 = time.perf_counter()
        n = fn()
        return n / (time.perf_counter() - t0)

    return run


def baseline() -> int:
    q: deque[Any] = deque()
    seen = [0]

    def dispatch(item: Any) -> None:
        seen[0] += 1

    payload = {"i": 0}
    append, popleft = q.append, q.popleft
    for _ in range(N):
        append(payload)
        dispatch(popleft())
    assert seen[0] == N
    return N


def one_callback() -> int:
    bus = EventBus(retention=1000)
    seen = [0]

    def on(ev: Event) -> None:
        seen[0] += 1

    bus.subscribe("tool.*", callback=on)
    publish = bus.publish
    payload = {"i": 0}
    for _ in range(N):
        publish("tool.invoked", payload)
    assert seen[0] == N
    return N


def one_poll() -> int:
    bus = EventBus(retention=1000)
    sub = bus.subscribe("tool.*", capacity=4096)
    publish, poll = bus.publish, sub.poll
    payload = {"i": 0}
    got = 0
    for i in range(N):
        publish("tool.invoked", payload)
        if i & 1023 == 1023:
            got += len(poll())
    got += len(poll())
    assert got == N
    return N


def one_batch() -> int:
    bus = EventBus(retention=1000)
    sub = bus.subscribe("tool.*", capacity=4096)
    batch = [{"i": i} for i in range(1000)]
    got = 0
    for _ in range(N // 1000):
        bus.publish_many("tool.invoked", batch)
        got += len(sub.poll())
    assert got == N
    return N


def ten_subscribers() -> int:
    bus = EventBus(retention=1000)
    patterns = [
        ("tool.invoked",),
        ("tool.*",),
        ("tool.>",),
        (">",),
        ("*.invoked",),
        ("agent.*",),  # does not match
        ("tool.*", "agent.>"),
        ("x.y.z",),  # does not match
        ("tool.invoked", "tool.*"),
        ("*.*",),
    ]
    subs = [bus.subscribe(*p, capacity=4096) for p in patterns]
    publish = bus.publish
    payload = {"i": 0}
    for i in range(N):
        publish("tool.invoked", payload)
        if i & 1023 == 1023:
            for s in subs:
                s.poll()
    delivered = 0
    for s in subs:
        s.poll()
        delivered += s.stats().delivered
    assert delivered == 8 * N
    return N


def asyncio_path() -> int:
    async def main() -> int:
        bus = EventBus(retention=1000)
        sub = bus.subscribe("tool.*", capacity=1024, overflow=Backpressure())
        payload = {"i": 0}

        async def produce() -> None:
            apublish = bus.apublish
            for _ in range(N):
                await apublish("tool.invoked", payload)

        async def consume() -> int:
            n = 0
            async for _ev in sub:
                n += 1
                if n == N:
                    break
            return n

        _, n = await asyncio.gather(produce(), consume())
        return n

    n = asyncio.run(main())
    assert n == N
    return N


def _rss_kb() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def memory() -> tuple[float, float, int]:
    """RSS growth over 1,000,000 publishes: from an empty bus (includes filling the queue and
    the 10,000-event retention log), and in steady state (after the first 10,000)."""
    gc.collect()
    empty = _rss_kb()
    bus = EventBus()
    sub = bus.subscribe("tool.*", capacity=1024, overflow=DropOldest())
    publish = bus.publish
    for i in range(10_000):
        publish("tool.invoked", {"i": i})
    gc.collect()
    warm = _rss_kb()
    for i in range(BIG - 10_000):
        publish("tool.invoked", {"i": i})
    gc.collect()
    after = _rss_kb()
    s = sub.stats()
    assert s.received == BIG and s.queued == 1024
    assert s.dropped_oldest == s.received - 1024
    return (after - empty) / 1024, (after - warm) / 1024, s.dropped_oldest


def backpressure() -> tuple[int, float]:
    async def main() -> int:
        bus = EventBus()
        sub = bus.subscribe("tool.*", capacity=1024, overflow=Backpressure())
        batch = [Event("tool.invoked", {"i": i}) for i in range(100)]

        async def produce() -> None:
            for _ in range(BIG // 100):
                await bus.apublish_batch(batch)

        async def consume() -> int:
            expected = 1
            async for ev in sub:
                if ev.sequence != expected:
                    raise AssertionError(f"gap: expected {expected}, got {ev.sequence}")
                expected += 1
                if expected & 63 == 0:
                    await asyncio.sleep(0)  # the slow part: yield to everyone else
                if expected > BIG:
                    break
            return expected - 1

        _, n = await asyncio.gather(produce(), consume())
        s = sub.stats()
        assert s.timed_out == 0 and s.dropped == 0 and s.received == BIG == s.delivered
        return n

    t0 = time.perf_counter()
    n = asyncio.run(main())
    return n, time.perf_counter() - t0


def run() -> None:
    subjects = (
        ("publish -> callback, 1 subscriber", one_callback, 1_000_000),
        ("publish + poll, 1 subscriber", one_poll, 1_000_000),
        ("publish_many(1000) + poll, 1 subscriber", one_batch, 1_000_000),
        ("publish + poll, 10 subscribers (8 match)", ten_subscribers, None),
        ("asyncio apublish -> async for", asyncio_path, 250_000),
    )
    cases = {"baseline": _rate(baseline)} | {name: _rate(fn) for name, fn, _ in subjects}
    # The collector stays on: a publisher's events are garbage-collected objects like any other.
    rates = {name: m.median for name, m in interleave(cases, REPEATS, no_gc=False).items()}
    base = rates["baseline"]
    print(f"baseline deque append+popleft+dispatch: {base:>12,.0f} events/s")
    for name, _fn, goal in subjects:
        rate = rates[name]
        verdict = "" if goal is None else f"  goal {goal:,}: {'met' if rate >= goal else 'NOT met'}"
        print(f"{name:<42} {rate:>12,.0f} events/s  ratio to baseline {rate / base:.3f}{verdict}")
    growth, steady, dropped = memory()
    print(
        f"memory: never-reading DROP_OLDEST(1024) subscriber, {BIG:,} events: RSS grew "
        f"{growth:.2f} MB from an empty bus ({steady:.2f} MB after the first 10,000, which fill "
        f"the queue and the retention log) (goal <= 10 MB: "
        f"{'met' if growth <= 10 else 'NOT met'}); dropped_oldest={dropped:,}"
    )
    n, secs = backpressure()
    print(
        f"backpressure: slow async consumer, {n:,} events in {secs:.1f} s: "
        "0 lost, sequences gap-free (asserted)"
    )
