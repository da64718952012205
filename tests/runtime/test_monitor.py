"""PerformanceMonitor: counts, percentiles (nearest rank), overhead."""

from __future__ import annotations

import pytest
from hookwire.runtime.clock import VirtualClock
from hookwire.runtime.errors import InvalidArgument, NotFound
from hookwire.runtime.monitor import PerformanceMonitor
from hookwire.runtime.results import Outcome


def test_counts_and_percentiles() -> None:
    m = PerformanceMonitor(VirtualClock(start_unix_ns=5))
    for d in (10, 20, 30, 40):
        m.record("h", Outcome.CONTINUE, d, slow=d >= 30)
    m.record("h", Outcome.ERROR, 50, slow=True)
    m.record("h", Outcome.TIMEOUT, 200, slow=True)
    m.record("h", Outcome.SKIPPED, 0, slow=False, called=False)
    s = m.stats("h")
    assert (s.count, s.failures, s.errors, s.timeouts, s.skipped, s.slow) == (7, 2, 1, 1, 1, 4)
    assert (s.p50_ns, s.p95_ns, s.p99_ns) == (30, 200, 200)
    assert s.total_ns == 350
    assert s.mean_ns == 350 / 6
    m.record_execution(100)
    m.record_execution(300)
    snap = m.snapshot()
    assert (snap.taken_at_ns, snap.executions, snap.overhead_total_ns, snap.overhead_mean_ns) == (
        5,
        2,
        400,
        200.0,
    )
    assert snap.hooks["h"] == s


def test_sample_window_keeps_the_latest() -> None:
    m = PerformanceMonitor(sample_size=3)
    for d in (1000, 1000, 1000, 1, 2, 3):
        m.record("h", Outcome.CONTINUE, d, slow=False)
    assert m.stats("h").p99_ns == 3
    assert m.stats("h").count == 6


def test_errors_and_reset() -> None:
    m = PerformanceMonitor()
    with pytest.raises(NotFound):
        m.stats("nope")
    with pytest.raises(InvalidArgument):
        PerformanceMonitor(sample_size=0)
    m.record("h", Outcome.CONTINUE, 1, slow=False)
    m.reset()
    assert m.snapshot().hooks == {}
