"""`CircuitBreaker.quiet`: a good call recorded while quiet changes nothing, so callers (the
executor's fast path) may skip recording it."""

from __future__ import annotations

from hookwire.runtime.breaker import BreakerConfig, BreakerState, CircuitBreaker
from hookwire.runtime.clock import VirtualClock
from hypothesis import given, settings
from hypothesis import strategies as st

CONFIG = BreakerConfig(window_size=4, minimum_calls=3, open_duration_ns=1_000)


def test_quiet_lifecycle() -> None:
    b = CircuitBreaker("h", CONFIG, VirtualClock())
    for i in range(4):
        assert not b.quiet, f"quiet before the window was full ({i} calls)"
        b.record(False, False, 1)
    assert b.quiet
    b.record(False, True, 2)  # slow: one bad call in the window
    assert not b.quiet and b.state is BreakerState.CLOSED
    for _ in range(3):
        b.record(False, False, 3)
        assert not b.quiet  # the slow call is still in the window
    b.record(False, False, 3)
    assert b.quiet
    assert b.status().window_slow == 0
    b.reset()
    assert not b.quiet and b.status().window_calls == 0


def test_quiet_breaker_still_opens_on_failures() -> None:
    b = CircuitBreaker("h", CONFIG, VirtualClock())
    for _ in range(4):
        b.record(False, False, 1)
    assert b.quiet
    b.record(True, False, 5)
    b.record(True, False, 6)
    assert b.state is BreakerState.OPEN and not b.quiet


# One step: ("good" | "fail" | "slow", advance ns) — acquire, then record if permitted.
steps = st.lists(
    st.tuples(st.sampled_from(["good", "good", "good", "fail", "slow"]), st.integers(0, 700)),
    max_size=80,
)


@settings(max_examples=300, deadline=None)
@given(steps)
def test_skipping_good_records_while_quiet_changes_nothing(seq: list[tuple[str, int]]) -> None:
    clocks = VirtualClock(), VirtualClock()
    always = CircuitBreaker("h", CONFIG, clocks[0])
    skipping = CircuitBreaker("h", CONFIG, clocks[1])
    for kind, advance in seq:
        for clock in clocks:
            clock.advance(advance)
        permitted = [b.acquire() for b in (always, skipping)]
        assert permitted[0] == permitted[1]
        if not permitted[0]:
            continue
        failed, slow = kind == "fail", kind == "slow"
        always.record(failed, slow)
        if failed or slow or not skipping.quiet:
            skipping.record(failed, slow)
        assert always.status() == skipping.status()
        assert always.quiet == skipping.quiet
