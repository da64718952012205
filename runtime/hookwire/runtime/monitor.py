"""Per-hook performance: counts, failures, slow calls, duration percentiles, executor overhead.

Percentiles use the nearest-rank method over each hook's last `sample_size` called durations
(hooks skipped by their breaker are counted, not sampled).

Given to an executor (`Executor(monitor=...)`), the monitor is one of the bulk consumers of the
executor's `ExecutionRecords` (hookwire.runtime.observer): an execution costs the executor one
list append, and the monitor folds the records into its counters in bulk, per chain, when they
are handed over (every `DRAIN_EVERY` executions; when each execution is handed over at once,
every `FOLD_EVERY`) and whenever it is read (`stats`, `snapshot`
drain its executors' records first, so nothing finished is missing). Overhead is the time
between the executor's clock readings around the chain not spent in hook calls; on the
compiled path those readings are the chain's own first and last, so it is near zero there.

Example:
    >>> from hookwire.runtime.clock import VirtualClock
    >>> from hookwire.runtime.results import Outcome
    >>> m = PerformanceMonitor(VirtualClock())
    >>> for ms in range(1, 101):
    ...     m.record("h", Outcome.CONTINUE, ms * 1_000_000, slow=ms >= 50)
    >>> s = m.stats("h")
    >>> (s.count, s.slow, s.p50_ns, s.p95_ns, s.p99_ns)
    (100, 51, 50000000, 95000000, 99000000)
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from hookwire.runtime.clock import Clock, SystemClock
from hookwire.runtime.errors import InvalidArgument, NotFound
from hookwire.runtime.observer import DRAIN_EVERY, REFUSED, ExecutionRecord, ExecutionRecords
from hookwire.runtime.results import Outcome

# Pending executions folded in at once (as many as an executor hands over in one drain).
FOLD_EVERY = DRAIN_EVERY

__all__ = ["HookStats", "MonitorSnapshot", "PerformanceMonitor"]


@dataclass(frozen=True, slots=True)
class HookStats:
    """One hook's numbers since the monitor started (or was reset)."""

    hook_name: str
    count: int
    failures: int
    errors: int
    timeouts: int
    skipped: int  # calls the breaker refused
    slow: int
    total_ns: int
    p50_ns: int
    p95_ns: int
    p99_ns: int

    @property
    def mean_ns(self) -> float:
        called = self.count - self.skipped
        return self.total_ns / called if called else 0.0


@dataclass(frozen=True, slots=True)
class MonitorSnapshot:
    """Every hook's stats and the executor's own overhead."""

    taken_at_ns: int
    hooks: dict[str, HookStats]
    executions: int
    overhead_total_ns: int

    @property
    def overhead_mean_ns(self) -> float:
        return self.overhead_total_ns / self.executions if self.executions else 0.0


class _HookCounters:
    __slots__ = ("count", "errors", "samples", "skipped", "slow", "timeouts", "total_ns")

    def __init__(self, sample_size: int) -> None:
        self.count = self.errors = self.timeouts = self.skipped = self.slow = 0
        self.total_ns = 0
        self.samples: deque[int] = deque(maxlen=sample_size)


_ERROR = Outcome.ERROR
_TIMEOUT = Outcome.TIMEOUT
_CONTINUE = Outcome.CONTINUE


_chain = itemgetter(0)
_raw = itemgetter(1)
_started = itemgetter(2)
_ended = itemgetter(3)


def _nearest_rank(sorted_samples: list[int], p: float) -> int:
    if not sorted_samples:
        return 0
    rank = max(1, math.ceil(p / 100 * len(sorted_samples)))
    return sorted_samples[rank - 1]


class PerformanceMonitor:
    """Collects what the executor records; read with `stats(name)` or `snapshot()`."""

    def __init__(self, clock: Clock | None = None, *, sample_size: int = 1024) -> None:
        if not isinstance(sample_size, int) or isinstance(sample_size, bool) or sample_size < 1:
            raise InvalidArgument("sample_size", f"must be an int >= 1, got {sample_size!r}")
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.sample_size = sample_size
        self._hooks: dict[str, _HookCounters] = {}
        self._executions = 0
        self._overhead_ns = 0
        # Executions not folded in yet, and the executors' records this monitor consumes.
        self._pending: list[ExecutionRecord] = []
        self._sources: list[ExecutionRecords] = []

    def add_source(self, records: ExecutionRecords) -> None:
        """Consume an executor's records (what `Executor(monitor=...)` calls)."""
        records.add_consumer(self.take)
        self._sources.append(records)

    def take(self, records: list[ExecutionRecord]) -> None:
        """Bulk consumer entry: executions' records, folded in once FOLD_EVERY are pending
        (a drained batch at once, while it is still in the processor's caches: folding is
        mostly reading it), or when read."""
        pending = self._pending
        pending += records
        if len(pending) >= FOLD_EVERY:
            self._fold_pending()

    def executed(self, point: str, execution: Any, started_ns: int, ended_ns: int) -> None:
        """Observer entry (`observers=[monitor]`; see hookwire.runtime.observer)."""
        self.take([(*execution.raw_records(), started_ns, ended_ns)])

    def _fold_pending(self) -> None:
        records, self._pending = self._pending, []
        if records:
            self._fold(records)

    def _fold(self, records: list[ExecutionRecord]) -> None:
        self._executions += len(records)
        elapsed = sum(map(_ended, records)) - sum(map(_started, records))
        chains = list(map(_chain, records))
        first = chains[0]
        if chains.count(first) == len(chains):
            groups = [(first, records)]  # the common case: one chain
        else:
            by_chain: dict[int, tuple[Any, list[Any]]] = {}
            for record in records:
                by_chain.setdefault(id(record[0]), (record[0], []))[1].append(record)
            groups = list(by_chain.values())
        in_hooks = 0
        for entries, runs in groups:
            # Hook i's records of every execution (as many as the shortest run has).
            columns = list(zip(*map(_raw, runs), strict=False))
            if len(columns) == len(entries):
                # The common case in bulk: every execution ran the whole chain and every hook
                # returned CONTINUE in time, not slow (plain int records: any other makes
                # `sum` raise TypeError).
                try:
                    totals = list(map(sum, columns))
                except TypeError:
                    pass
                else:
                    for e, durations, total in zip(entries, columns, totals, strict=True):
                        c = self._counters(e.name)
                        c.count += len(durations)
                        c.total_ns += total
                        in_hooks += total
                        c.samples.extend(durations)
                    continue
            for entries, raw, _started_ns, _ended_ns in runs:
                for e, r in zip(entries, raw, strict=False):
                    if type(r) is int:
                        self.record(e.name, _CONTINUE, r, False)
                        in_hooks += r
                    else:
                        outcome, reason, dur, slow, _state = r
                        self.record(e.name, outcome, dur, slow, reason is not REFUSED)
                        in_hooks += dur
        self._overhead_ns += max(0, elapsed - in_hooks)

    def _collect(self) -> None:
        """Everything finished so far, folded in (the sources drained first)."""
        for source in self._sources:
            source.drain()
        self._fold_pending()

    def _counters(self, hook_name: str) -> _HookCounters:
        c = self._hooks.get(hook_name)
        if c is None:
            c = self._hooks[hook_name] = _HookCounters(self.sample_size)
        return c

    def record(
        self,
        hook_name: str,
        outcome: Outcome,
        duration_ns: int,
        slow: bool,
        called: bool = True,
    ) -> None:
        """Count one trace entry of a hook (`called=False`: its breaker refused the call)."""
        c = self._counters(hook_name)
        c.count += 1
        if not called:
            # Refused by the breaker: counted, not sampled.
            c.skipped += 1
            return
        if outcome is _ERROR:
            c.errors += 1
        elif outcome is _TIMEOUT:
            c.timeouts += 1
        if slow:
            c.slow += 1
        c.total_ns += duration_ns
        c.samples.append(duration_ns)

    def record_execution(self, overhead_ns: int) -> None:
        """Count one execution and the time the executor spent outside hook calls."""
        self._executions += 1
        self._overhead_ns += overhead_ns

    def stats(self, name: str) -> HookStats:
        """One hook's numbers; NotFound if nothing was recorded for it."""
        self._collect()
        return self._stats(name)

    def _stats(self, name: str) -> HookStats:
        c = self._hooks.get(name)
        if c is None:
            raise NotFound("hook_name", f"no calls recorded for hook {name!r}")
        s = sorted(c.samples)
        return HookStats(
            name,
            c.count,
            c.errors + c.timeouts,
            c.errors,
            c.timeouts,
            c.skipped,
            c.slow,
            c.total_ns,
            _nearest_rank(s, 50),
            _nearest_rank(s, 95),
            _nearest_rank(s, 99),
        )

    def snapshot(self) -> MonitorSnapshot:
        """All hooks' stats and the executor overhead, now."""
        self._collect()
        return MonitorSnapshot(
            self.clock.time_ns(),
            # Collected once: every hook's numbers cover the same executions.
            {name: self._stats(name) for name in self._hooks},
            self._executions,
            self._overhead_ns,
        )

    def reset(self) -> None:
        """Forget everything recorded."""
        for source in self._sources:
            source.drain()
        self._pending = []
        self._hooks.clear()
        self._executions = 0
        self._overhead_ns = 0
