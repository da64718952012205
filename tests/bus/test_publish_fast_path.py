"""`EventBus.publish`'s fast path (admission with nothing to do: commit and run the claimed
callbacks) behaves exactly like the general `_send` it is derived from.

Two buses run the same random operations: one plain (publishes take the fast path whenever its
condition holds), one with a rate limit too generous to ever refuse (which keeps every publish
on the general path). Everything observable must agree: what each publish returns or raises,
what every callback and consumer sees (sequence, type, payload, time, id number), the stats,
and the retention log.
"""

from __future__ import annotations

import uuid
from typing import Any

from hookwire.runtime.bus import (
    Backpressure,
    DropNewest,
    DropOldest,
    Event,
    EventBus,
    Sample,
    Subscription,
)
from hookwire.runtime.clock import VirtualClock
from hookwire.runtime.errors import HookwireError
from hypothesis import example, given, settings
from hypothesis import strategies as st

overflows = st.sampled_from(
    [None, DropOldest(), DropNewest(), Backpressure(timeout_ns=0), Sample(rate=0.5)]
)
types = st.sampled_from(["a.b", "a.c", "b.x", "a..bad"])
payloads = st.one_of(st.none(), st.integers(0, 3), st.just({"k": [1, {"j": 2}]}))
ops = st.lists(
    st.one_of(
        st.tuples(st.just("publish"), types, payloads),
        st.tuples(st.just("publish_ttl"), types, st.integers(0, 3)),
        st.tuples(
            st.just("subscribe"),
            st.sampled_from(["a.*", "a.b", ">", "b.>"]),
            st.integers(1, 3),
            overflows,
            st.sampled_from(["none", "record", "raise", "republish"]),
        ),
        st.tuples(st.just("poll"), st.integers(0, 5)),
        st.tuples(st.just("close"), st.integers(0, 5)),
        st.tuples(st.just("advance"), st.integers(0, 3)),
    ),
    max_size=60,
)

_LOW = (1 << 62) - 1


def _seen(ev: Event) -> tuple[Any, ...]:
    # The id's number: its low 62 bits are the bus's random base plus the number.
    return ("event", ev.sequence, ev.type, ev.payload, ev.time_ns, uuid.UUID(ev.id).int & _LOW)


def _run(ops: list[tuple[Any, ...]], general: bool) -> list[Any]:
    clock = VirtualClock()
    bus = EventBus(
        clock=clock,
        retention=8,
        rate_limit=(1e12, 10**12) if general else None,
        on_callback_error=lambda sub, ev, exc: log.append(("callback error", sub.name, str(exc))),
    )
    log: list[Any] = []
    subs: list[Subscription] = []

    def callback(name: str, mode: str) -> Any:
        def on(ev: Event) -> None:
            log.append((name, _seen(ev)))
            if mode == "raise":
                raise RuntimeError(f"{name} refuses {ev.sequence}")
            if mode == "republish" and ev.type == "a.b":
                # Twice: the second finds a capacity-1 subscription of this callback full
                # (refused: it would wait for this very callback).
                for _ in range(2):
                    try:
                        log.append((name, "republished", bus.publish("b.x", ev.sequence)))
                    except HookwireError as exc:
                        log.append((name, "refused", exc.code, exc.field))

        return on

    for op in ops:
        kind = op[0]
        try:
            if kind == "publish":
                log.append(("publish", bus.publish(op[1], op[2])))
            elif kind == "publish_ttl":
                log.append(("publish", bus.publish(op[1], None, ttl_ns=op[2])))
            elif kind == "subscribe":
                _, pattern, capacity, overflow, mode = op
                name = f"s{len(subs)}"
                cb = None if mode == "none" else callback(name, mode)
                subs.append(
                    bus.subscribe(
                        pattern, capacity=capacity, overflow=overflow, callback=cb, name=name
                    )
                )
            elif kind == "poll" and subs:
                sub = subs[op[1] % len(subs)]
                log.append(("poll", sub.name, [_seen(ev) for ev in sub.poll()]))
            elif kind == "close" and subs:
                subs[op[1] % len(subs)].close()
            elif kind == "advance":
                clock.advance(op[1])
        except HookwireError as exc:
            log.append((kind, "refused", exc.code, exc.field))
    for sub in subs:
        log.append(("final", sub.name, [_seen(ev) for ev in sub.poll()], sub.stats()))
    stats = bus.stats()
    log.append(("stats", stats.published, stats.invalid, stats.next_sequence, stats.totals))
    if bus.next_sequence > 1:
        oldest = stats.oldest_retained
        log.append(("retained", [_seen(ev) for ev in bus.retained(oldest)]))
    # Id numbers relative to the bus's first event (each bus draws its own random base).
    return _relative_ids(log)


def _relative_ids(log: list[Any]) -> list[Any]:
    base: list[int] = []

    def fix(x: Any) -> Any:
        if isinstance(x, tuple) and x and x[0] == "event":
            if not base:
                base.append(x[5])
            return (*x[:5], (x[5] - base[0]) & _LOW)
        if isinstance(x, (list, tuple)):
            return type(x)(fix(y) for y in x)
        return x

    return [fix(entry) for entry in log]


@settings(max_examples=300, deadline=None)
@given(ops=ops)
# A callback publishing into its own full subscription (cached route): refused, not dropped.
@example(
    ops=[
        ("subscribe", ">", 1, None, "republish"),
        ("publish", "b.x", None),
        ("publish", "a.b", 1),
        ("publish", "a.b", 2),
    ]
)
def test_the_fast_path_and_the_general_path_agree(ops: list[tuple[Any, ...]]) -> None:
    assert _run(ops, general=False) == _run(ops, general=True)


def test_the_fast_path_is_taken_and_does_not_go_through_send() -> None:
    bus = EventBus(clock=VirtualClock())
    sends: list[int] = []
    original = bus._send

    def counting(batch: Any, *args: Any) -> Any:
        sends.append(len(batch))
        return original(batch, *args)

    bus._send = counting  # type: ignore[method-assign,assignment]
    seen: list[int] = []
    bus.subscribe("a.*", callback=lambda ev: seen.append(ev.sequence))
    assert [bus.publish("a.b", i) for i in range(3)] == [1, 2, 3]
    # The first publish of a type computes its route in `_send`; the others take the fast path.
    assert sends == [1] and seen == [1, 2, 3]
