"""What observability costs: `execute()` of 5 no-op Python hooks with and without it.

Subjects, each against the same executor with everything off:
- a PerformanceMonitor (goal: none; shown);
- the event sink alone, an EventBus with no subscriber (goal <= 1.5x), and the same with a
  subscriber reading every event (no goal: its events are then built and delivered);
- monitor and event sink together (no goal; shown: what the tracing goal leaves to tracing);
- `hookwire[otel]` installed but nothing configured: a HookTracer made while no SDK is set up
  (goal <= 1.1x);
- monitor + event sink + tracing with the OpenTelemetry SDK configured (spans to a processor
  that drops them, so the span cost is what is measured): 1% sampled
  (ParentBased(TraceIdRatioBased(0.01)), a production setting; goal <= 2x), and every
  execution sampled (no goal: an execution traced in full builds 6 spans);
- tracing alone at 1% through SDK spans (a sampler hookwire does not recognise: the SDK
  decides and records; no goal);
- the same with OpenTelemetry metrics added (no goal; shown).

Then what the OpenTelemetry SDK itself costs here, for reading the tracing rows: one recorded
span started and ended, and one root span the sampler drops (the SDK makes the sampling
decision in `start_span`); and hookwire's own decision for a dropped execution (`begin`).

Method (bench/rounds.py): a fresh HookContext per call; subject and baseline interleaved round
after round (ROUNDS rounds of N calls, garbage collector on); the MEDIAN of each one's rounds,
in ns per call, and their ratio. Each round is timed twice: on the CPU time of the calling
thread (`time.thread_time_ns`: the executions and the garbage collection they cause, not the
time other processes on a shared machine take from it) and on the wall clock (what a caller
waits). A goal is met only when both ratios meet it: CPU time alone would hide work moved to
another thread, the wall clock alone swings with the machine's load.

Example:
    python -m bench observability
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from hookwire.runtime.bus.bus import EventBus
from hookwire.runtime.context import HookContext
from hookwire.runtime.executor import Executor
from hookwire.runtime.monitor import PerformanceMonitor
from hookwire.runtime.registry import Registry

from bench.rounds import interleave, verdict

POINT = "before_tool_execution"
HOOKS = 5
N = 2_000
ROUNDS = 30


def _noop(ctx: Any) -> None:
    return None


def _registry() -> Registry:
    reg = Registry()
    for i in range(HOOKS):
        reg.register(_noop, name=f"h{i}", point=POINT)
    return reg


def _case(ex: Executor) -> Callable[[], tuple[int, int]]:
    execute = ex.execute

    def run() -> tuple[int, int]:
        """(thread CPU ns, wall ns) of N calls."""
        contexts = [HookContext(POINT, {"i": i}) for i in range(N)]
        c0 = time.thread_time_ns()
        t0 = time.perf_counter_ns()
        for ctx in contexts:
            execute(POINT, ctx)
        wall = time.perf_counter_ns() - t0
        return time.thread_time_ns() - c0, wall

    return run


def _pair(
    subject: Callable[[], tuple[int, int]], baseline: Callable[[], tuple[int, int]]
) -> tuple[float, float, float]:
    """Median CPU ns per call of subject and baseline, interleaved round by round (the garbage
    collector on, as users run: tracing leaves garbage to collect), and the ratio of their
    wall-clock medians."""
    walls: dict[str, list[float]] = {"subject": [], "baseline": []}

    def timed(name: str, case: Callable[[], tuple[int, int]]) -> Callable[[], float]:
        def run() -> float:
            cpu, wall = case()
            walls[name].append(wall / N)
            return cpu / N

        return run

    got = interleave(
        {"subject": timed("subject", subject), "baseline": timed("baseline", baseline)},
        ROUNDS,
        no_gc=False,
    )
    # The warm-up round is not one of the timed rounds.
    wall = {name: statistics.median(w[-ROUNDS:]) for name, w in walls.items()}
    return got["subject"].median, got["baseline"].median, wall["subject"] / wall["baseline"]


def _tracing(ratio: float = 1.0, *, custom: bool = False) -> tuple[Any, Any]:
    """A configured SDK whose spans go nowhere (the span cost, not an exporter's), sampling
    `ratio` of the executions; `custom`: through a sampler hookwire does not recognise (the
    same decisions, made by the SDK)."""
    from hookwire.runtime.otel.tracing import HookTracer
    from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
    from opentelemetry.sdk.trace.sampling import ParentBased, Sampler, TraceIdRatioBased

    sampler: Sampler = ParentBased(TraceIdRatioBased(ratio))
    if custom:

        class Custom(Sampler):
            def should_sample(self, *args: Any, **kwargs: Any) -> Any:
                return inner.should_sample(*args, **kwargs)

            def get_description(self) -> str:
                return "custom"

        inner, sampler = sampler, Custom()
    provider = TracerProvider(sampler=sampler)
    provider.add_span_processor(SpanProcessor())
    tracer = HookTracer(provider)
    assert tracer.records_spans_itself is not custom
    return tracer, provider


def run() -> None:
    from hookwire.runtime.otel.metrics import HookMetrics
    from hookwire.runtime.otel.tracing import HookTracer
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    baseline = _case(Executor(_registry()))
    tracer, _provider = _tracing()
    reg = _registry()
    metrics = HookMetrics(MeterProvider(metric_readers=[InMemoryMetricReader()]), registry=reg)
    all_on = [PerformanceMonitor(), EventBus(), tracer]
    rows: list[tuple[str, Callable[[], tuple[int, int]], float | None]] = [
        ("monitor", _case(Executor(_registry(), monitor=PerformanceMonitor())), None),
        (
            "event sink (EventBus, no subscriber)",
            _case(Executor(_registry(), events=EventBus())),
            1.5,
        ),
        (
            "monitor + event sink (no tracing)",
            _case(Executor(_registry(), monitor=PerformanceMonitor(), events=EventBus())),
            None,
        ),
        (
            "otel installed, nothing configured",
            _case(Executor(_registry(), observers=[HookTracer()])),
            1.1,
        ),
        (
            "monitor + event sink + tracing, every execution sampled",
            _case(
                Executor(_registry(), monitor=all_on[0], events=all_on[1], observers=[all_on[2]])
            ),
            None,
        ),
        (
            "monitor + event sink + tracing 1% sampled",
            _case(
                Executor(
                    _registry(),
                    monitor=PerformanceMonitor(),
                    events=EventBus(),
                    observers=[_tracing(0.01)[0]],
                )
            ),
            2.0,
        ),
        (
            "monitor + tracing (no event sink)",
            _case(Executor(_registry(), monitor=PerformanceMonitor(), observers=[_tracing()[0]])),
            None,
        ),
        (
            "monitor + event sink + tracing + metrics",
            _case(
                Executor(
                    reg,
                    monitor=PerformanceMonitor(),
                    events=EventBus(),
                    observers=[_tracing()[0], metrics],
                )
            ),
            None,
        ),
    ]
    read = EventBus()
    read.subscribe("hookwire.hook.*", callback=lambda ev: ev.payload)
    rows.insert(
        2, ("event sink, a subscriber reading it", _case(Executor(_registry(), events=read)), None)
    )
    rows.insert(
        7,
        (
            "tracing alone, 1% sampled",
            _case(Executor(_registry(), observers=[_tracing(0.01)[0]])),
            None,
        ),
    )
    rows.insert(
        8,
        (
            "tracing alone, 1% sampled, SDK spans",
            _case(Executor(_registry(), observers=[_tracing(0.01, custom=True)[0]])),
            None,
        ),
    )
    width = max(len(r[0]) for r in rows)
    print(
        f"execute() of {HOOKS} no-op hooks, fresh context per call; median of {ROUNDS} "
        f"alternating rounds x {N} calls; ns per call of thread CPU time (wall: the ratio on "
        "the wall clock)"
    )
    print(f"{'subject':<{width}}  subject ns  baseline ns   ratio    wall  goal")
    for name, subject, goal in rows:
        s, b, wall = _pair(subject, baseline)
        ratio = s / b
        goal_text = "" if goal is None else f"<= {goal:.1f}x {verdict(max(ratio, wall) <= goal)}"
        print(f"{name:<{width}}  {s:10.0f}  {b:11.0f}  {ratio:6.2f}  {wall:6.2f}  {goal_text}")
    sdk = _sdk_spans()
    print(
        f"OpenTelemetry SDK alone: a recorded span started and ended {sdk['recorded']:.0f} ns, "
        f"a dropped root span {sdk['dropped']:.0f} ns; hookwire's decision for a dropped "
        f"execution {sdk['decision']:.0f} ns (medians of {ROUNDS} rounds)"
    )


def _sdk_spans() -> dict[str, float]:
    """Median thread CPU ns of one SDK span start + end: recorded (every execution sampled)
    and dropped (a root span under 0% sampling); and of HookTracer.begin for an execution
    its sampler drops (what hookwire does instead of the SDK's start_span)."""
    recorded = _tracing(1.0)[1].get_tracer("bench")
    dropped = _tracing(0.0)[1].get_tracer("bench")
    begin = _tracing(0.0)[0].begin

    def spans(tracer: Any) -> Callable[[], float]:
        def run() -> float:
            t0 = time.thread_time_ns()
            for _ in range(N):
                tracer.start_span("s").end()
            return (time.thread_time_ns() - t0) / N

        return run

    def decisions() -> float:
        contexts = [HookContext(POINT, {"i": i}) for i in range(N)]
        t0 = time.thread_time_ns()
        for ctx in contexts:
            begin(POINT, ctx)
        return (time.thread_time_ns() - t0) / N

    got = interleave(
        {"recorded": spans(recorded), "dropped": spans(dropped), "decision": decisions},
        ROUNDS,
        no_gc=False,
    )
    return {name: m.median for name, m in got.items()}
