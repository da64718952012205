"""Monitoring, event emission, tracing and metrics watch executions from outside the loop."""

from __future__ import annotations

import asyncio
import doctest
import importlib
from collections.abc import Callable
from typing import Any

import pytest
from hookwire.runtime.breaker import BreakerConfig
from hookwire.runtime.clock import VirtualClock
from hookwire.runtime.context import DistributedContext, HookContext
from hookwire.runtime.executor import Executor
from hookwire.runtime.monitor import FOLD_EVERY, PerformanceMonitor
from hookwire.runtime.otel.metrics import HookMetrics
from hookwire.runtime.otel.tracing import HookTracer
from hookwire.runtime.registry import Registry
from hookwire.runtime.results import Modified, Outcome
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

P = "before_tool_execution"
TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


@pytest.mark.parametrize(
    "name",
    [
        "observer",
        "otel.tracing",
        "otel.metrics",
        "otel.remote",
        "config.schema",
        "config.file",
        "config.hooks",
    ],
)
def test_doctests(name: str) -> None:
    module = importlib.import_module(f"hookwire.runtime.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def _tracer() -> tuple[HookTracer, InMemorySpanExporter]:
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    return HookTracer(provider), spans


def _boom(ctx: HookContext) -> None:
    raise RuntimeError("boom")


def _registry(clock: VirtualClock) -> Registry:
    reg = Registry(clock=clock)
    reg.register(lambda ctx: None, name="a", point=P, priority=1)
    reg.register(_boom, name="b", point=P, priority=2)

    def slow(ctx: HookContext) -> Modified:
        clock.advance(60_000_000)  # slow (>= 50 ms by default), within the 100 ms timeout
        return Modified({"n": 1})

    reg.register(slow, name="c", point=P, priority=3)
    return reg


def test_the_monitor_counts_what_it_did_before_it_became_an_observer() -> None:
    clock = VirtualClock()
    monitor = PerformanceMonitor(clock)
    ex = Executor(_registry(clock), clock=clock, monitor=monitor)
    runs = FOLD_EVERY + 3  # one bulk fold on the way, the rest folded on read
    for _ in range(runs):
        ex.execute(P, HookContext(P))
    a, b, c = (monitor.stats(n) for n in "abc")
    assert (a.count, a.failures, a.slow) == (runs, 0, 0)
    # b fails every call: its breaker opens, and what it refuses is counted as skipped.
    assert b.count == runs and b.errors >= 5 and b.errors + b.skipped == runs
    assert c.count == runs and c.slow + c.skipped == runs and c.p50_ns == 60_000_000
    assert monitor.snapshot().executions == runs


def test_the_monitor_folds_plain_continue_chains_in_bulk() -> None:
    clock = VirtualClock()
    reg = Registry(clock=clock)
    for i in range(3):
        reg.register(lambda ctx: clock.advance(1000), name=f"h{i}", point=P)
    monitor = PerformanceMonitor(clock, sample_size=4)
    ex = Executor(reg, clock=clock, monitor=monitor)
    for _ in range(10):
        ex.execute(P, HookContext(P))
    s = monitor.stats("h1")
    assert (s.count, s.total_ns, s.p99_ns) == (10, 10_000, 1000)


def test_the_monitor_keeps_chains_apart_when_executions_alternate() -> None:
    clock = VirtualClock()
    reg = Registry(clock=clock)
    reg.register(lambda ctx: clock.advance(1000), name="p1", point=P)
    reg.register(lambda ctx: clock.advance(3000), name="s1", point="session_start")
    monitor = PerformanceMonitor(clock)
    ex = Executor(reg, clock=clock, monitor=monitor)
    for point in (P, "session_start", P, P, "session_start"):
        ex.execute(point, HookContext(point))
    # A registry change makes a new chain for P: its records start a new run of the buffer.
    reg.register(lambda ctx: clock.advance(5000), name="p2", point=P, priority=9)
    ex.execute(P, HookContext(P))
    got = {n: (s.count, s.total_ns) for n, s in monitor.snapshot().hooks.items()}
    assert got == {"p1": (4, 4000), "s1": (2, 6000), "p2": (1, 5000)}
    assert monitor.snapshot().executions == 6


def test_refused_calls_are_counted_not_sampled() -> None:
    clock = VirtualClock()
    reg = Registry(clock=clock)
    reg.register(_boom, name="b", point=P, breaker=BreakerConfig(window_size=2, minimum_calls=2))
    monitor = PerformanceMonitor(clock)
    ex = Executor(reg, clock=clock, monitor=monitor)
    for _ in range(5):
        ex.execute(P, HookContext(P))
    s = monitor.stats("b")
    assert (s.count, s.errors, s.skipped) == (5, 2, 3)


class _Sink:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def emit(self, type: str, payload: dict[str, Any]) -> None:
        self.events.append((type, payload))


def test_hook_events_follow_the_chain_after_the_execution() -> None:
    clock = VirtualClock()
    sink = _Sink()
    ex = Executor(_registry(clock), clock=clock, events=sink)
    ex.execute(P, HookContext(P))
    assert [(p["hook"], p["outcome"], p["duration_ns"]) for _, p in sink.events] == [
        ("a", "CONTINUE", 0),
        ("b", "ERROR", 0),
        ("c", "MODIFIED", 60_000_000),
    ]


def test_a_tracer_without_a_configured_sdk_is_left_out() -> None:
    reg = Registry()
    reg.register(lambda ctx: None, name="a", point=P)
    tracer = HookTracer()  # the global provider: nothing configured in this process
    assert not tracer.active
    ex = Executor(reg, observers=[tracer])
    assert ex.execute(P, HookContext(P)).result.kind == "CONTINUE"
    assert ex._observers == ()


def _by_name(spans: tuple[ReadableSpan, ...]) -> dict[str, ReadableSpan]:
    return {s.name: s for s in spans}


def test_spans_follow_the_incoming_traceparent_and_each_hook() -> None:
    clock = VirtualClock()
    tracer, exporter = _tracer()
    seen: list[str] = []
    reg = _registry(clock)
    reg.register(
        lambda ctx: seen.append(ctx.distributed.traceparent),
        name="d",
        point=P,
        priority=4,
    )
    ex = Executor(reg, clock=clock, observers=[tracer])
    ctx = HookContext(P, distributed=DistributedContext(traceparent=TRACEPARENT))
    run = ex.execute(P, ctx)
    assert run.context.data == {"n": 1}
    spans = _by_name(exporter.get_finished_spans())
    root = spans[f"hookwire.execute {P}"]
    assert root.parent is not None and root.parent.span_id == 0xB7AD6B7169203331
    assert root.context.trace_id == 0x0AF7651916CD43DD8448EB211C80319C
    assert root.attributes is not None and root.attributes["hookwire.result"] == "MODIFIED"
    for name in "abcd":
        span = spans[f"hookwire.hook {name}"]
        assert span.parent is not None and span.parent.span_id == root.context.span_id
    b = spans["hookwire.hook b"]
    assert b.status.status_code is StatusCode.ERROR
    assert b.attributes is not None and b.attributes["hookwire.hook.outcome"] == "ERROR"
    c = spans["hookwire.hook c"]
    assert c.attributes is not None and c.attributes["hookwire.hook.slow"] is True
    # The hook received its own span's context.
    d = spans["hookwire.hook d"]
    assert seen == [f"00-{d.context.trace_id:032x}-{d.context.span_id:016x}-01"]


def test_a_refused_hook_gets_a_span_recording_the_refusal() -> None:
    tracer, exporter = _tracer()
    reg = Registry()
    reg.register(_boom, name="b", point=P, breaker=BreakerConfig(window_size=2, minimum_calls=2))
    ex = Executor(reg, observers=[tracer])
    for _ in range(3):
        ex.execute(P, HookContext(P))
    hooks = [s for s in exporter.get_finished_spans() if s.name == "hookwire.hook b"]
    assert [s.attributes["hookwire.hook.outcome"] for s in hooks if s.attributes] == [
        "ERROR",
        "ERROR",
        "SKIPPED",
    ]
    assert hooks[2].attributes is not None
    assert hooks[2].attributes["hookwire.breaker.state"] == "OPEN"


def test_async_hooks_get_spans_ending_when_they_finish() -> None:
    tracer, exporter = _tracer()
    reg = Registry()

    async def waits(ctx: HookContext) -> None:
        await asyncio.sleep(0.01)

    reg.register(waits, name="w", point=P)
    ex = Executor(reg, observers=[tracer])
    asyncio.run(ex.aexecute(P, HookContext(P)))
    span = _by_name(exporter.get_finished_spans())["hookwire.hook w"]
    assert span.end_time is not None and span.start_time is not None
    assert span.end_time - span.start_time >= 10_000_000


def test_a_chain_that_raises_still_ends_its_spans() -> None:
    class Stop(BaseException):  # not a hook failure: it escapes the executor
        pass

    def stops(ctx: HookContext) -> None:
        raise Stop

    tracer, exporter = _tracer()
    reg = Registry()
    reg.register(stops, name="w", point=P)
    ex = Executor(reg, observers=[tracer])
    with pytest.raises(Stop):
        ex.execute(P, HookContext(P))
    hook, root = exporter.get_finished_spans()
    assert hook.name == "hookwire.hook w" and root.status.status_code is StatusCode.ERROR
    # The next execution is traced on its own.
    reg.unregister("w")
    reg.register(lambda ctx: None, name="ok", point=P)
    ex.execute(P, HookContext(P))
    last = exporter.get_finished_spans()[-1]
    assert last.name == f"hookwire.execute {P}" and last.parent is None


def _points(reader: InMemoryMetricReader) -> dict[str, list[Any]]:
    data = reader.get_metrics_data()
    assert data is not None
    out: dict[str, list[Any]] = {}
    for rm in data.resource_metrics:
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                out[m.name] = list(m.data.data_points)
    return out


def test_metrics_count_outcomes_durations_and_breaker_transitions() -> None:
    clock = VirtualClock()
    reader = InMemoryMetricReader()
    reg = _registry(clock)
    reg.register(_boom, name="e", point=P, breaker=BreakerConfig(window_size=2, minimum_calls=2))
    metrics = HookMetrics(MeterProvider(metric_readers=[reader]), registry=reg)
    ex = Executor(reg, clock=clock, observers=[metrics])
    for _ in range(4):
        ex.execute(P, HookContext(P))
    pts = _points(reader)
    calls = {
        (p.attributes["hook"], p.attributes["outcome"], p.attributes.get("reason", "")): p.value
        for p in pts["hookwire.hook.calls"]
    }
    assert calls[("a", "CONTINUE", "")] == 4
    assert calls[("b", "ERROR", "")] == 4
    assert calls[("e", "ERROR", "")] == 2
    assert calls[("e", "SKIPPED", "circuit_open")] == 2
    durations = {p.attributes["hook"]: p for p in pts["hookwire.hook.duration"]}
    assert durations["c"].count == 4 and durations["c"].sum == pytest.approx(0.24)
    states = {p.attributes["hook"]: p.value for p in pts["hookwire.breaker.state"]}
    assert states["e"] == 2 and states["a"] == 0
    [transition] = pts["hookwire.breaker.transitions"]
    assert transition.attributes == {"hook": "e", "to": "OPEN"} and transition.value == 1


def test_raw_records_survive_reading_the_trace() -> None:
    clock = VirtualClock()
    ex = Executor(_registry(clock), clock=clock)
    run = ex.execute(P, HookContext(P))
    before = run.raw_records()[1]
    trace = run.trace
    entries, raw = run.raw_records()
    assert [e.name for e in entries] == [t.hook_name for t in trace]
    assert [r if isinstance(r, int) else r[2] for r in before] == [
        r if isinstance(r, int) else r[2] for r in raw
    ]
    assert not isinstance(raw[1], int) and raw[1][0] is Outcome.ERROR


def test_events_published_inside_a_remote_hook_span_carry_its_context() -> None:
    from hookwire.runtime.otel.remote import current_traceparent, remote_hook_span

    provider = TracerProvider()
    assert current_traceparent() == ""
    with remote_hook_span("audit", TRACEPARENT, provider=provider) as span:
        tp = current_traceparent()
    sc = span.get_span_context()
    assert tp == f"00-{sc.trace_id:032x}-{sc.span_id:016x}-01"
    assert sc.trace_id == 0x0AF7651916CD43DD8448EB211C80319C


def test_an_execution_the_sampler_drops_hides_the_enclosing_one_from_its_hooks() -> None:
    from opentelemetry.sdk.trace.sampling import (
        Decision,
        Sampler,
        SamplingResult,
    )

    class DropInner(Sampler):
        def should_sample(
            self, parent_context: Any, trace_id: int, name: str, *a: Any, **k: Any
        ) -> SamplingResult:
            inner = name in ("hookwire.execute session_start", "hookwire.hook inner")
            return SamplingResult(Decision.DROP if inner else Decision.RECORD_AND_SAMPLE)

        def get_description(self) -> str:
            return "DropInner"

    spans = InMemorySpanExporter()
    provider = TracerProvider(sampler=DropInner())
    provider.add_span_processor(SimpleSpanProcessor(spans))
    reg = Registry()
    ex = Executor(reg, observers=[HookTracer(provider)])
    inner_saw: list[Any] = []
    reg.register(lambda ctx: inner_saw.append(ctx.distributed), name="inner", point="session_start")

    def outer(ctx: HookContext) -> None:
        for _ in range(2):  # nested, dropped, twice: the outer run is current again after
            ex.execute("session_start", HookContext("session_start"))

    reg.register(outer, name="outer", point=P, priority=1)
    reg.register(lambda ctx: None, name="after", point=P, priority=2)
    ex.execute(P, HookContext(P))
    ex.execute("session_start", HookContext("session_start"))
    assert inner_saw == [None, None, None]  # untraced: the context as given
    got = _by_name(spans.get_finished_spans())
    assert sorted(got) == [f"hookwire.execute {P}", "hookwire.hook after", "hookwire.hook outer"]
    root = got[f"hookwire.execute {P}"]
    for name in ("outer", "after"):
        hook = got[f"hookwire.hook {name}"]
        assert hook.parent is not None and hook.parent.span_id == root.context.span_id
        assert hook.attributes is not None and hook.attributes["hookwire.point"] == P


def test_without_a_traceparent_the_current_span_is_the_parent(
    exporting: Callable[[], tuple[TracerProvider, InMemorySpanExporter]],
) -> None:
    provider, exporter = exporting()
    tracer = HookTracer(provider)
    reg = Registry()
    reg.register(lambda ctx: None, name="a", point=P)
    ex = Executor(reg, observers=[tracer])
    with provider.get_tracer("app").start_as_current_span("request") as request:
        ex.execute(P, HookContext(P))
    got = _by_name(exporter.get_finished_spans())
    root = got[f"hookwire.execute {P}"]
    assert root.parent is not None
    assert root.parent.span_id == request.get_span_context().span_id
    assert got["hookwire.hook a"].parent.span_id == root.context.span_id  # type: ignore[union-attr]


def test_an_observed_executor_follows_registry_changes_and_refuses_bad_contexts() -> None:
    from hookwire.runtime.errors import InvalidArgument

    tracer, exporter = _tracer()
    monitor = PerformanceMonitor()
    reg = Registry()
    reg.register(lambda ctx: None, name="a", point=P)
    traced = Executor(reg, observers=[tracer])
    watched = Executor(reg, monitor=monitor)
    for ex in (traced, watched):
        ex.execute(P, HookContext(P))
        with pytest.raises(InvalidArgument, match="HookContext"):
            ex.execute(P, {"point": P})  # type: ignore[arg-type]
    reg.register(lambda ctx: None, name="b", point=P)
    for ex in (traced, watched):
        ex.execute(P, HookContext(P))
    assert {n: s.count for n, s in monitor.snapshot().hooks.items()} == {"a": 2, "b": 1}
    *_, b, root = exporter.get_finished_spans()
    assert b.name == "hookwire.hook b" and b.parent is not None
    assert b.parent.span_id == root.context.span_id and root.parent is None


def test_a_dropped_trace_still_runs_the_other_wrappers() -> None:
    from hookwire.runtime.bus.bus import EventBus
    from hookwire.runtime.hook_call import HookCalls, publish
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

    bus = EventBus()
    sub = bus.subscribe("audit.*")
    reg = Registry()
    reg.register(lambda ctx: publish(bus, "audit.seen", 1), name="audit", point=P)
    dropping = HookTracer(TracerProvider(sampler=ALWAYS_OFF))
    ex = Executor(reg, observers=[dropping, HookCalls()])
    for _ in range(2):  # the second one takes the executor's cached path
        ex.execute(P, HookContext(P, correlation_id="run-1"))
    assert [(e.correlation_id, e.causation_id) for e in sub.poll()] == [
        ("run-1", f"{P}/audit"),
        ("run-1", f"{P}/audit"),
    ]
