"""Circuit breaker (docs/semantics.md section 5) on a virtual clock."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from hookwire.runtime.breaker import (
    BreakerConfig,
    BreakerState,
    BreakerStatus,
    CircuitBreaker,
)
from hookwire.runtime.clock import VirtualClock
from hookwire.runtime.errors import InvalidArgument
from hookwire.runtime.wire.registration import (
    breaker_config_from_proto,
    breaker_config_to_proto,
    breaker_status_to_proto,
)
from hookwire.v1 import hook_pb2

S = 1_000_000_000
CLOSED, OPEN, HALF = BreakerState.CLOSED, BreakerState.OPEN, BreakerState.HALF_OPEN


class Listener:
    def __init__(self) -> None:
        self.seen: list[tuple[str, BreakerState, BreakerState, float, float, int]] = []

    def breaker_transition(
        self,
        hook_name: str,
        old: BreakerState,
        new: BreakerState,
        failure_rate: float,
        slow_rate: float,
        open_duration_ns: int,
    ) -> None:
        self.seen.append((hook_name, old, new, failure_rate, slow_rate, open_duration_ns))


def make(**config: int | float) -> tuple[CircuitBreaker, VirtualClock, Listener]:
    clock = VirtualClock()
    listener = Listener()
    return CircuitBreaker("h", BreakerConfig(**config), clock, listener), clock, listener  # type: ignore[arg-type]


def call(b: CircuitBreaker, failed: bool = False, slow: bool = False) -> bool:
    if not b.acquire():
        return False
    b.record(failed, slow)
    return True


def test_defaults_are_section_5() -> None:
    c = BreakerConfig.default()
    assert (
        c.window_size,
        c.minimum_calls,
        c.failure_rate_threshold,
        c.slow_call_duration_ns,
        c.slow_call_rate_threshold,
        c.open_duration_ns,
        c.backoff_multiplier,
        c.max_open_duration_ns,
        c.half_open_probes,
    ) == (10, 5, 0.5, 50_000_000, 0.5, 15 * S, 2.0, 300 * S, 2)


def test_does_not_open_below_minimum_calls() -> None:
    b, _, listener = make()
    for _ in range(4):
        assert call(b, failed=True)
    assert b.state is CLOSED
    assert b.status() == BreakerStatus(CLOSED, 4, 4, 0, 15 * S, 0, 0)
    assert listener.seen == []


def test_opens_on_failure_rate_when_minimum_is_reached_by_a_good_call() -> None:
    b, clock, listener = make()
    for _ in range(4):
        call(b, failed=True)
    clock.advance(7)
    call(b)  # 5th call: 4 failures of 5 = 0.8 >= 0.5
    assert b.state is OPEN
    assert listener.seen == [("h", CLOSED, OPEN, 0.8, 0.0, 15 * S)]
    assert not b.acquire()


def test_failure_rate_exactly_at_threshold_opens() -> None:
    b, _, _ = make(window_size=4, minimum_calls=4)
    for failed in (True, False, True, False):
        call(b, failed=failed)
    assert b.state is OPEN  # 2 / 4 = 0.5 >= 0.5


def test_opens_on_slow_rate() -> None:
    b, _, listener = make()
    for i in range(5):
        call(b, slow=i != 2)
    assert b.state is OPEN  # 4 slow of 5
    assert listener.seen == [("h", CLOSED, OPEN, 0.0, 0.8, 15 * S)]


def test_window_slides_and_evicts_old_calls() -> None:
    b, _, _ = make(window_size=4, minimum_calls=4)
    for failed in (True, False, False, False, True):
        call(b, failed=failed)
    # The first failure has left the window: 1 failure among the last 4 calls.
    assert b.status().window_calls == 4
    assert b.status().window_failures == 1
    assert b.state is CLOSED
    call(b, failed=True)  # last 4: [G, G, F, F]
    assert b.state is OPEN


def test_good_calls_in_steady_state_then_failures() -> None:
    b, _, _ = make(window_size=4, minimum_calls=2)
    for _ in range(6):
        b.record_success(0)
    assert b.status() == BreakerStatus(CLOSED, 4, 0, 0, 15 * S, 0, 0)
    call(b, failed=True)
    assert b.state is CLOSED  # 1 / 4
    call(b, failed=True)
    assert b.state is OPEN  # 2 / 4


def open_breaker(b: CircuitBreaker) -> None:
    for _ in range(b.config.minimum_calls):
        call(b, failed=True)
    assert b.state is OPEN


def test_half_open_after_open_duration_boundary_inclusive() -> None:
    b, clock, listener = make()
    open_breaker(b)
    clock.advance(15 * S - 1)
    assert not b.acquire()
    assert b.state is OPEN
    clock.advance(1)
    assert b.acquire()  # t - opened_at == open duration: permitted as a probe
    assert b.state is HALF
    assert listener.seen[-1] == ("h", OPEN, HALF, 1.0, 0.0, 15 * S)


def test_half_open_probe_limit() -> None:
    b, clock, _ = make()
    open_breaker(b)
    clock.advance(15 * S)
    assert b.acquire()
    assert b.acquire()
    assert not b.acquire()  # at most 2 probes in flight
    assert b.status().probes_in_flight == 2
    b.record(False, False)
    assert b.status().probes_in_flight == 1
    assert b.acquire()  # room again
    assert not b.acquire()


def test_closing_after_good_probes_clears_window_and_resets_duration() -> None:
    b, clock, listener = make()
    open_breaker(b)
    clock.advance(15 * S)
    assert b.acquire()
    b.record(True, False)  # failed probe: re-open for 30 s
    assert b.state is OPEN
    assert b.status().current_open_duration_ns == 30 * S
    clock.advance(30 * S)
    assert b.acquire() and b.acquire()
    b.record(False, False)
    assert b.state is HALF
    assert b.status().good_probes == 1
    b.record(False, False)
    assert b.state is CLOSED
    assert b.status() == BreakerStatus(CLOSED, 0, 0, 0, 15 * S, 0, 0)
    assert [(old, new, d) for _, old, new, _, _, d in listener.seen] == [
        (CLOSED, OPEN, 15 * S),
        (OPEN, HALF, 15 * S),
        (HALF, OPEN, 30 * S),
        (OPEN, HALF, 30 * S),
        (HALF, CLOSED, 15 * S),
    ]
    # The next opening uses the base duration again.
    open_breaker(b)
    assert b.status().current_open_duration_ns == 15 * S


def test_backoff_grows_and_is_capped() -> None:
    b, clock, _ = make()
    open_breaker(b)
    durations = []
    for _ in range(7):
        clock.advance(b.status().current_open_duration_ns)
        assert b.acquire()
        b.record(True, False)
        durations.append(b.status().current_open_duration_ns // S)
    assert durations == [30, 60, 120, 240, 300, 300, 300]


def test_slow_probe_reopens() -> None:
    b, clock, _ = make()
    open_breaker(b)
    clock.advance(15 * S)
    assert b.acquire()
    b.record(False, True)
    assert b.state is OPEN
    assert b.status().current_open_duration_ns == 30 * S
    clock.advance(29 * S)
    assert not b.acquire()


def test_record_while_open_is_ignored() -> None:
    b, _, _ = make()
    open_breaker(b)
    before = b.status()
    b.record(True, True)
    b.record(False, False)
    assert b.status() == before


def test_reset_closes_and_reports() -> None:
    b, _, listener = make()
    open_breaker(b)
    b.reset()
    assert b.status() == BreakerStatus(CLOSED, 0, 0, 0, 15 * S, 0, 0)
    assert listener.seen[-1] == ("h", OPEN, CLOSED, 0.0, 0.0, 15 * S)
    count = len(listener.seen)
    b.reset()  # already closed: no transition
    assert len(listener.seen) == count


def test_open_uses_passed_time() -> None:
    b, clock, _ = make(minimum_calls=1, window_size=1)
    clock.advance(100)
    assert b.acquire(clock.monotonic_ns())
    b.record(True, False, now_ns=50)  # opened at 50, not at the clock's 100
    assert not b.acquire(15 * S + 49)
    assert b.acquire(15 * S + 50)


def test_presets() -> None:
    p = BreakerConfig.production()
    c = BreakerConfig.conservative()
    assert (p.window_size, p.minimum_calls, p.half_open_probes) == (100, 20, 3)
    assert (c.window_size, c.minimum_calls, c.failure_rate_threshold) == (20, 3, 0.25)
    assert c.open_duration_ns > BreakerConfig().open_duration_ns


def _semantics_presets() -> dict[str, tuple[float, ...]]:
    """docs/semantics.md D5.6's preset table: name -> the row's values, durations in ns."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "semantics.md").read_text()
    table = text.split("D5.6 Presets", 1)[1].split("D5.7", 1)[0]
    units = {"ms": 1_000_000, "s": 1_000_000_000}
    rows: dict[str, tuple[float, ...]] = {}
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 10 or not re.fullmatch(r"[a-z]+", cells[0]) or cells[0] == "preset":
            continue
        values: list[float] = []
        for cell in cells[1:]:
            number, _, unit = cell.partition(" ")
            values.append(float(number) * units[unit] if unit else float(number))
        rows[cells[0]] = tuple(values)
    return rows


def test_presets_are_the_semantics_table() -> None:
    table = _semantics_presets()
    assert set(table) == {"default", "production", "conservative"}
    for name, config in (
        ("default", BreakerConfig.default()),
        ("production", BreakerConfig.production()),
        ("conservative", BreakerConfig.conservative()),
    ):
        assert dataclasses.astuple(config) == table[name], name


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"window_size": 0}, "breaker.window_size"),
        ({"minimum_calls": 11}, "breaker.minimum_calls"),
        ({"failure_rate_threshold": 0.0}, "breaker.failure_rate_threshold"),
        ({"slow_call_rate_threshold": 1.5}, "breaker.slow_call_rate_threshold"),
        ({"open_duration_ns": 0}, "breaker.open_duration_ns"),
        ({"backoff_multiplier": 0.5}, "breaker.backoff_multiplier"),
        ({"max_open_duration_ns": 1}, "breaker.max_open_duration_ns"),
        ({"half_open_probes": 0}, "breaker.half_open_probes"),
        ({"slow_call_duration_ns": -1}, "breaker.slow_call_duration_ns"),
    ],
)
def test_config_validation(kwargs: dict[str, float], field: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        BreakerConfig(**kwargs)  # type: ignore[arg-type]
    assert info.value.field == field


def test_config_proto_round_trip_and_defaults() -> None:
    c = BreakerConfig.conservative()
    assert breaker_config_from_proto(breaker_config_to_proto(c)) == c
    assert breaker_config_from_proto(hook_pb2.BreakerConfig()) == BreakerConfig()
    partial = hook_pb2.BreakerConfig(window_size=20)
    partial.open_duration.seconds = 1
    got = breaker_config_from_proto(partial)
    assert (got.window_size, got.open_duration_ns, got.minimum_calls) == (20, S, 5)


def test_status_to_proto() -> None:
    pb = breaker_status_to_proto("h", BreakerStatus(HALF, 3, 2, 1, 30 * S, 1, 0))
    assert (pb.hook_name, pb.state, pb.window_failures, pb.current_open_duration.seconds) == (
        "h",
        hook_pb2.BREAKER_STATE_HALF_OPEN,
        2,
        30,
    )
