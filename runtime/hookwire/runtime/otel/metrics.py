"""OpenTelemetry metrics of a hookwire executor, its breakers, its bus and its server.

`HookMetrics` is an execution observer (hookwire.runtime.observer). Like the
PerformanceMonitor it keeps each execution's raw records and records them in bulk, every
`FOLD_EVERY` executions and whenever the metrics are collected, so an execution pays a list
append. Instruments (Prometheus names replace dots with underscores and add unit suffixes):

- `hookwire.hook.duration` (histogram, s; attributes hook, outcome): each hook call;
- `hookwire.hook.calls` (counter; hook, outcome): hook calls by outcome (SKIPPED with reason
  circuit_open: refused by the breaker);
- `hookwire.breaker.state` (gauge; hook): 0 CLOSED, 1 HALF_OPEN, 2 OPEN;
- `hookwire.breaker.transitions` (counter; hook, to): breaker transitions;
- `hookwire.bus.published` (counter): events the bus accepted;
- `hookwire.bus.delivered` / `hookwire.bus.dropped` (counters; subscription, and reason for
  drops: oldest, newest, sampled, timed_out, expired): per open subscription;
- `hookwire.workers.connected` (gauge) and `hookwire.calls.in_flight` (gauge): remote workers
  and Execute calls running, when given the server's executor service.

Example:
    >>> from opentelemetry.sdk.metrics import MeterProvider
    >>> from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    >>> from hookwire.runtime.context import HookContext
    >>> from hookwire.runtime.executor import Executor
    >>> from hookwire.runtime.registry import Registry
    >>> reader = InMemoryMetricReader()
    >>> reg = Registry()
    >>> _ = reg.register(lambda ctx: None, name="audit", point="session_start")
    >>> metrics = HookMetrics(MeterProvider(metric_readers=[reader]), registry=reg)
    >>> ex = Executor(reg, observers=[metrics])
    >>> _ = ex.execute("session_start", HookContext("session_start"))
    >>> data = reader.get_metrics_data()
    >>> names = {m.name for rm in data.resource_metrics for sm in rm.scope_metrics
    ...          for m in sm.metrics}
    >>> sorted(n for n in names if n.startswith("hookwire.hook"))
    ['hookwire.hook.calls', 'hookwire.hook.duration']
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from hookwire.runtime.breaker import BreakerState
from hookwire.runtime.events import TransitionListener
from hookwire.runtime.observer import REFUSED, RecordBuffer
from hookwire.runtime.results import Outcome
from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Observation

__all__ = ["FOLD_EVERY", "HookMetrics"]

FOLD_EVERY = 512
# Hook durations from 10 µs to 10 s.
_BUCKETS_S = [1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0]
_STATE_VALUE = {BreakerState.CLOSED: 0, BreakerState.HALF_OPEN: 1, BreakerState.OPEN: 2}
_CONTINUE = Outcome.CONTINUE.value
_DROPS = (
    ("oldest", "dropped_oldest"),
    ("newest", "dropped_newest"),
    ("sampled", "sampled_out"),
    ("timed_out", "timed_out"),
    ("expired", "expired"),
)


class HookMetrics(TransitionListener):
    """Hook, breaker, bus and worker metrics (see the module docstring)."""

    def __init__(
        self,
        meter_provider: Any = None,
        *,
        registry: Any = None,
        bus: Any = None,
        service: Any = None,
    ) -> None:
        provider = meter_provider if meter_provider is not None else metrics.get_meter_provider()
        meter = provider.get_meter("hookwire")
        self._registry = registry
        self._bus = bus
        self._service = service
        self._buffer = RecordBuffer()
        self._lock = threading.Lock()
        self._duration = meter.create_histogram(
            "hookwire.hook.duration",
            unit="s",
            description="Duration of each hook call",
            explicit_bucket_boundaries_advisory=_BUCKETS_S,
        )
        self._calls = meter.create_counter(
            "hookwire.hook.calls", description="Hook calls by hook and outcome"
        )
        self._transitions = meter.create_counter(
            "hookwire.breaker.transitions", description="Breaker transitions by hook and target"
        )
        if registry is not None:
            meter.create_observable_gauge(
                "hookwire.breaker.state",
                callbacks=[self._breaker_states],
                description="Breaker state per hook: 0 CLOSED, 1 HALF_OPEN, 2 OPEN",
            )
        if bus is not None:
            meter.create_observable_counter(
                "hookwire.bus.published", callbacks=[self._published], description="Events accepted"
            )
            meter.create_observable_counter(
                "hookwire.bus.delivered",
                callbacks=[self._delivered],
                description="Events delivered per subscription",
            )
            meter.create_observable_counter(
                "hookwire.bus.dropped",
                callbacks=[self._dropped],
                description="Events dropped per subscription and reason",
            )
        self._meter = meter
        if service is not None:
            self.watch_service(service)
        # Collected first on every collection: the pending records reach the instruments.
        meter.create_observable_gauge("hookwire.metrics.pending", callbacks=[self._flush])

    def watch_service(self, service: Any) -> None:
        """Report the connected workers and Execute calls in flight of a server's
        ExecutorService (`connections`, `in_flight`)."""
        self._service = service
        meter = self._meter
        meter.create_observable_gauge(
            "hookwire.workers.connected", callbacks=[self._workers], description="Workers"
        )
        meter.create_observable_gauge(
            "hookwire.calls.in_flight", callbacks=[self._in_flight], description="Execute calls"
        )

    # -- ExecutionObserver ----------------------------------------------------------------------

    def executed(self, point: str, execution: Any, started_ns: int, ended_ns: int) -> None:
        with self._lock:
            pending = self._buffer.add(execution, started_ns, ended_ns)
        if pending >= FOLD_EVERY:
            self.fold()

    def fold(self) -> None:
        """Record what is pending now."""
        with self._lock:
            chains = self._buffer.drain()
        record = self._duration.record
        counts: dict[tuple[str, str, str], int] = {}
        for chain in chains:
            if chain.uniform():
                n = len(chain.entries)
                for i, e in enumerate(chain.entries):
                    attrs = {"hook": e.name, "outcome": _CONTINUE}
                    durations = chain.records[i::n]
                    for dur in durations:
                        record(dur / 1e9, attrs)
                    key = (e.name, _CONTINUE, "")
                    counts[key] = counts.get(key, 0) + len(durations)
                continue
            for entries, raw in chain.executions():
                for e, r in zip(entries, raw, strict=False):
                    if type(r) is int:
                        outcome, dur, reason = _CONTINUE, r, ""
                    else:
                        outcome, dur = r[0].value, r[2]
                        reason = "circuit_open" if r[1] is REFUSED else ""
                    if not reason:
                        record(dur / 1e9, {"hook": e.name, "outcome": outcome})
                    key = (e.name, outcome, reason)
                    counts[key] = counts.get(key, 0) + 1
        for (hook, outcome, reason), n in counts.items():
            attrs = {"hook": hook, "outcome": outcome}
            if reason:
                attrs["reason"] = reason
            self._calls.add(n, attrs)

    # -- TransitionListener ------------------------------------------------------------------------

    def transitioned(self, hook_name: str, new: BreakerState, payload: dict[str, Any]) -> None:
        self._transitions.add(1, {"hook": hook_name, "to": new.value})

    # -- observable callbacks -------------------------------------------------------------------

    def _flush(self, options: CallbackOptions) -> Iterable[Observation]:
        n = self._buffer.pending
        self.fold()
        return [Observation(n)]

    def _breaker_states(self, options: CallbackOptions) -> Iterable[Observation]:
        return [
            Observation(_STATE_VALUE[b.state], {"hook": name})
            for name, b in self._registry.breakers().items()
        ]

    def _published(self, options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(self._bus.stats().published)]

    def _delivered(self, options: CallbackOptions) -> Iterable[Observation]:
        return [
            Observation(s.stats().delivered, {"subscription": s.name or "?"})
            for s in self._bus.subscriptions()
        ]

    def _dropped(self, options: CallbackOptions) -> Iterable[Observation]:
        out = []
        for s in self._bus.subscriptions():
            st = s.stats()
            for reason, field in _DROPS:
                out.append(
                    Observation(
                        getattr(st, field), {"subscription": s.name or "?", "reason": reason}
                    )
                )
        return out

    def _workers(self, options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(len(self._service.connections))]

    def _in_flight(self, options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(self._service.in_flight)]
