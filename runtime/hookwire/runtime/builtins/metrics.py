"""Metrics: call counters per point and outcome, and operation latency, readable from the object.

The outcome of a call is read from its context: `error:<code>` when the operation carries an
error (error points), `ok` when it carries a result (after points), `call` otherwise (before
points and points without an operation). When the hook sees the same operation (correlation
id + operation id) at a `before_*` point and later at another point, the clock difference is
recorded as that operation type's latency. Register one instance at every point to observe.

Example:
    >>> from hookwire.runtime.clock import VirtualClock
    >>> from hookwire.runtime.context import Operation
    >>> clock = VirtualClock()
    >>> m = MetricsHook(clock)
    >>> m(HookContext("before_tool_execution", operation=Operation("search", "1")))
    >>> clock.advance_ms(30)
    >>> m(HookContext("after_tool_execution", operation=Operation("search", "1", result=[])))
    >>> m.count("before_tool_execution", "call"), m.count("after_tool_execution", "ok")
    (1, 1)
    >>> m.latency("search")
    LatencyStats(count=1, total_ns=30000000, min_ns=30000000, max_ns=30000000)
"""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict
from dataclasses import dataclass

from hookwire.runtime.clock import Clock
from hookwire.runtime.context import HookContext

__all__ = ["LatencyStats", "MetricsHook"]

# Operations seen at a before point whose end has not been seen yet; bounded.
_MAX_OPEN = 10_000


@dataclass(frozen=True, slots=True)
class LatencyStats:
    """Operation latency summary in nanoseconds."""

    count: int = 0
    total_ns: int = 0
    min_ns: int = 0
    max_ns: int = 0

    def add(self, ns: int) -> LatencyStats:
        if self.count == 0:
            return LatencyStats(1, ns, ns, ns)
        return LatencyStats(
            self.count + 1, self.total_ns + ns, min(self.min_ns, ns), max(self.max_ns, ns)
        )


class MetricsHook:
    """Counts calls per (point, outcome) and times operations between before and after points."""

    __slots__ = ("_clock", "_counts", "_latency", "_lock", "_open")

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._counts: Counter[tuple[str, str]] = Counter()
        self._latency: dict[str, LatencyStats] = {}
        self._open: OrderedDict[tuple[str, str], int] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def outcome(ctx: HookContext) -> str:
        """`error:<code>`, `ok` or `call` (see the module docstring)."""
        op = ctx.operation
        if op is not None and op.error is not None:
            return f"error:{op.error.code}"
        if op is not None and op.result is not None:
            return "ok"
        return "call"

    def __call__(self, ctx: HookContext) -> None:
        with self._lock:
            self._observe(ctx)

    def _observe(self, ctx: HookContext) -> None:
        self._counts[(ctx.point, self.outcome(ctx))] += 1
        op = ctx.operation
        if op is None:
            return
        key = (ctx.correlation_id, op.id)
        if ctx.point.startswith("before_"):
            self._open[key] = self._clock.monotonic_ns()
            self._open.move_to_end(key)
            while len(self._open) > _MAX_OPEN:
                self._open.popitem(last=False)
            return
        started = self._open.pop(key, None)
        if started is not None:
            ns = self._clock.monotonic_ns() - started
            self._latency[op.type] = self._latency.get(op.type, LatencyStats()).add(ns)

    def count(self, point: str, outcome: str | None = None) -> int:
        """Calls seen at `point` with `outcome` (every outcome when None)."""
        if outcome is not None:
            return self._counts[(point, outcome)]
        return sum(n for (p, _), n in self._counts.items() if p == point)

    def counts(self) -> dict[tuple[str, str], int]:
        """Every (point, outcome) counter."""
        return dict(self._counts)

    def latency(self, operation_type: str) -> LatencyStats:
        """Latency of operations of one type (zeros when none was timed)."""
        return self._latency.get(operation_type, LatencyStats())

    def snapshot(self) -> dict[str, object]:
        """A JSON-friendly copy: `{"calls": {point: {outcome: n}}, "latency_ns": {type: {...}}}`."""
        calls: dict[str, dict[str, int]] = {}
        for (point, outcome), n in sorted(self._counts.items()):
            calls.setdefault(point, {})[outcome] = n
        lat = {
            t: {"count": s.count, "total": s.total_ns, "min": s.min_ns, "max": s.max_ns}
            for t, s in sorted(self._latency.items())
        }
        return {"calls": calls, "latency_ns": lat}

    def reset(self) -> None:
        """Zero every counter."""
        self._counts.clear()
        self._latency.clear()
        self._open.clear()
