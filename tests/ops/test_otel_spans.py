"""The spans hookwire builds itself for sampled executions are the spans the SDK path records
(ids, parents, times, attributes, status, events), and it falls back to SDK spans where its own
cannot stand in for them."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hookwire.runtime.breaker import BreakerConfig
from hookwire.runtime.clock import VirtualClock
from hookwire.runtime.context import DistributedContext, HookContext
from hookwire.runtime.executor import Executor
from hookwire.runtime.otel import tracing
from hookwire.runtime.otel.spans import FinishedSpans
from hookwire.runtime.otel.tracing import HookTracer
from hookwire.runtime.registry import Registry
from hookwire.runtime.results import Modified
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    DEFAULT_ON,
    ParentBasedTraceIdRatio,
    Sampler,
)
from opentelemetry.trace import SpanContext, Status, StatusCode

P = "before_tool_execution"
TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
RESOURCE = Resource({"service.name": "spans-test"})
Exporting = Callable[..., tuple[TracerProvider, InMemorySpanExporter]]  # the conftest fixture


class Stop(BaseException):
    """Not a hook failure: it escapes the executor."""


def _registry(clock: VirtualClock, *, stop: bool = False) -> Registry:
    reg = Registry(clock=clock)
    reg.register(lambda ctx: None, name="a", point=P, priority=1)

    def boom(ctx: HookContext) -> None:
        raise RuntimeError("boom")

    reg.register(boom, name="b", point=P, priority=2)

    def slow(ctx: HookContext) -> Modified:
        clock.advance(60_000_000)
        return Modified({"n": 1})

    reg.register(slow, name="c", point=P, priority=3)
    reg.register(
        boom, name="e", point=P, priority=4, breaker=BreakerConfig(window_size=2, minimum_calls=2)
    )

    def stops(ctx: HookContext) -> None:
        if stop:
            raise Stop("stopped")

    reg.register(stops, name="s", point=P, priority=5)
    return reg


def _hook_tracer(
    provider: TracerProvider,
    *,
    sdk: bool,
    monkeypatch: pytest.MonkeyPatch,
    clock: VirtualClock | None = None,
) -> HookTracer:
    """A HookTracer on `provider` recording hookwire's own spans, or with `sdk` SDK spans."""
    with monkeypatch.context() as m:
        if sdk:
            m.setattr(FinishedSpans, "of", classmethod(lambda cls, tracer: None))
        tracer = HookTracer(provider, clock=clock)
    assert tracer.records_spans_itself is not sdk
    return tracer


def _traced(
    sampler: Sampler,
    *,
    sdk: bool,
    monkeypatch: pytest.MonkeyPatch,
    exporting: Exporting,
    stop: bool = False,
    ids: IdGenerator | None = None,
) -> tuple[Executor, InMemorySpanExporter, HookTracer, TracerProvider]:
    provider, exporter = exporting(sampler=sampler, resource=RESOURCE, id_generator=ids)
    clock = VirtualClock()
    tracer = _hook_tracer(provider, sdk=sdk, monkeypatch=monkeypatch, clock=clock)
    return (
        Executor(_registry(clock, stop=stop), clock=clock, observers=[tracer]),
        exporter,
        tracer,
        provider,
    )


def _one_hook(
    provider: TracerProvider,
    hook: Callable[[HookContext], Any] = lambda ctx: None,
    *,
    name: str = "h",
    tracer: HookTracer | None = None,
) -> Executor:
    """An executor running `hook` alone, traced by `tracer` (default: one on `provider`)."""
    reg = Registry()
    reg.register(hook, name=name, point=P)
    return Executor(reg, observers=[tracer or HookTracer(provider)])


def _contexts() -> Iterator[tuple[str, Callable[[Any], HookContext]]]:
    yield "root", lambda provider: HookContext(P, correlation_id="run-1")
    yield (
        "traceparent",
        lambda provider: HookContext(
            P, distributed=DistributedContext(traceparent=TRACEPARENT, tracestate="v=1")
        ),
    )
    yield (
        "not sampled",
        lambda provider: HookContext(
            P, distributed=DistributedContext(traceparent=TRACEPARENT[:-2] + "00")
        ),
    )


def _span(s: ReadableSpan) -> dict[str, Any]:
    return {
        "name": s.name,
        "context": s.context,
        "trace_state": s.context.trace_state if s.context else None,
        "parent": s.parent,
        "times": (s.start_time, s.end_time),
        "attributes": dict(s.attributes or {}),
        "status": (s.status.status_code, s.status.description),
        "events": [
            (
                e.name,
                e.timestamp,
                {k: v for k, v in (e.attributes or {}).items() if k != "exception.stacktrace"},
            )
            for e in s.events
        ],
        "resource": s.resource,
        "scope": (s.instrumentation_scope.name, s.instrumentation_scope.version)
        if s.instrumentation_scope
        else None,
        "kind": s.kind,
        "links": [(k.context, dict(k.attributes or {})) for k in s.links],
        "dropped": (s.dropped_attributes, s.dropped_events, s.dropped_links),
    }


def _run(
    ex: Executor, exporter: InMemorySpanExporter, provider: TracerProvider, seed: int, make: Any
) -> list[dict[str, Any]]:
    """Spans of three executions, each from the same random state (ids are drawn from it),
    one of them inside an application span (the current span is the parent)."""
    exporter.clear()
    for i in range(3):
        random.seed(seed * 10 + i)
        if i == 2:
            with (
                provider.get_tracer("app").start_as_current_span("request", start_time=1),
                contextlib.suppress(Stop),
            ):
                ex.execute(P, make(provider))
        else:
            with contextlib.suppress(Stop):
                ex.execute(P, make(provider))
    return [_span(s) for s in exporter.get_finished_spans() if s.name != "request"]


@pytest.mark.parametrize("case", list(_contexts()), ids=lambda c: c[0])
@pytest.mark.parametrize("stop", [False, True], ids=["ends", "raises"])
def test_spans_built_by_hookwire_are_the_sdk_paths(
    case: tuple[str, Any], stop: bool, monkeypatch: pytest.MonkeyPatch, exporting: Exporting
) -> None:
    _name, make = case
    got = {}
    for sdk in (True, False):
        ex, exporter, _tracer, provider = _traced(
            DEFAULT_ON, sdk=sdk, monkeypatch=monkeypatch, exporting=exporting, stop=stop
        )
        got[sdk] = _run(ex, exporter, provider, 7, make)
    assert got[False] == got[True]
    if _name == "not sampled":
        assert got[False] == []
        return
    roots = [s for s in got[False] if s["name"] == f"hookwire.execute {P}"]
    assert len(roots) == 3
    if stop:
        assert all(r["events"][0][0] == "exception" for r in roots)
    else:
        # The breaker of "e" opened after two failures: its third span records the refusal.
        refused = [s for s in got[False] if s["name"] == "hookwire.hook e"][-1]
        assert refused["attributes"]["hookwire.hook.outcome"] == "SKIPPED"


def test_spans_with_another_id_generator_are_the_sdk_paths(
    monkeypatch: pytest.MonkeyPatch, exporting: Exporting, counting_ids: Callable[[], IdGenerator]
) -> None:
    got = {}
    for sdk in (True, False):
        ex, exporter, _tracer, _provider = _traced(
            DEFAULT_ON, sdk=sdk, monkeypatch=monkeypatch, exporting=exporting, ids=counting_ids()
        )
        for _ in range(3):
            ex.execute(P, HookContext(P))
        got[sdk] = [_span(s) for s in exporter.get_finished_spans()]
    assert got[False] == got[True]
    assert got[False][0]["context"].span_id == 3  # trace id 1, execution span 2, first hook 3


def test_sampling_at_a_ratio_picks_the_executions_the_sdk_would(
    monkeypatch: pytest.MonkeyPatch, exporting: Exporting
) -> None:
    got = {}
    for sdk in (True, False):
        ex, exporter, _tracer, _provider = _traced(
            ParentBasedTraceIdRatio(0.3), sdk=sdk, monkeypatch=monkeypatch, exporting=exporting
        )
        for seed in range(60):
            random.seed(seed)
            ex.execute(P, HookContext(P))
        got[sdk] = [_span(s) for s in exporter.get_finished_spans()]
    roots = [s for s in got[False] if s["name"] == f"hookwire.execute {P}"]
    assert 8 < len(roots) < 30
    assert got[False] == got[True]


def test_async_hook_spans_match(monkeypatch: pytest.MonkeyPatch, exporting: Exporting) -> None:
    got = {}
    for sdk in (True, False):
        provider, exporter = exporting(resource=RESOURCE)
        clock = VirtualClock()
        tracer = _hook_tracer(provider, sdk=sdk, monkeypatch=monkeypatch, clock=clock)
        reg = Registry(clock=clock)

        async def waits(ctx: HookContext, clock: VirtualClock = clock) -> None:
            await asyncio.sleep(0)
            clock.advance(5_000_000)

        reg.register(waits, name="w", point=P)
        random.seed(3)
        asyncio.run(Executor(reg, clock=clock, observers=[tracer]).aexecute(P, HookContext(P)))
        got[sdk] = [_span(s) for s in exporter.get_finished_spans()]
    assert got[False] == got[True]
    hook = got[False][0]
    assert hook["times"][1] - hook["times"][0] == 5_000_000


def test_a_hooks_own_spans_are_children_of_its_hook_span(exporting: Exporting) -> None:
    provider, exporter = exporting()
    tracer = HookTracer(provider)
    assert tracer.records_spans_itself

    def inner(ctx: HookContext) -> None:
        with provider.get_tracer("hook").start_as_current_span("inside"):
            pass

    _one_hook(provider, inner, tracer=tracer).execute(P, HookContext(P))
    by_name = {s.name: s for s in exporter.get_finished_spans()}
    inside, hook = by_name["inside"], by_name["hookwire.hook h"]
    assert inside.parent is not None and hook.context is not None
    assert inside.parent.span_id == hook.context.span_id
    assert inside.context is not None and inside.context.trace_id == hook.context.trace_id


def test_a_dropped_execution_costs_its_begin_only_and_hides_an_enclosing_one(
    exporting: Exporting,
) -> None:
    provider, exporter = exporting()
    tracer = HookTracer(provider)
    assert tracer.records_spans_itself
    not_sampled = DistributedContext(traceparent=TRACEPARENT[:-2] + "00")
    assert tracer.begin(P, HookContext(P, distributed=not_sampled)) is None
    reg = Registry()
    ex = Executor(reg, observers=[tracer])
    saw: list[Any] = []
    reg.register(lambda ctx: saw.append(ctx.distributed), name="inner", point="session_start")

    def outer(ctx: HookContext) -> None:
        for _ in range(2):
            ex.execute("session_start", HookContext("session_start", distributed=not_sampled))

    reg.register(outer, name="outer", point=P)
    ex.execute(P, HookContext(P))
    assert saw == [not_sampled, not_sampled]  # untraced: the context as given
    assert sorted(s.name for s in exporter.get_finished_spans()) == [
        f"hookwire.execute {P}",
        "hookwire.hook outer",
    ]


class _OnStart(SpanProcessor):
    """Acts when a span starts: hookwire's spans cannot stand in for SDK spans here."""

    def __init__(self) -> None:
        self.started: list[str] = []

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        self.started.append(span.name)


def test_a_processor_acting_on_span_start_gets_sdk_spans() -> None:
    provider = TracerProvider()
    processor = _OnStart()
    provider.add_span_processor(processor)
    tracer = HookTracer(provider)
    assert not tracer.records_spans_itself
    _one_hook(provider, name="a", tracer=tracer).execute(P, HookContext(P))
    assert processor.started == [f"hookwire.execute {P}", "hookwire.hook a"]


def test_such_a_processor_added_later_gets_sdk_spans_from_then_on(exporting: Exporting) -> None:
    provider, exporter = exporting()
    tracer = HookTracer(provider)
    assert tracer.records_spans_itself
    ex = _one_hook(provider, name="a", tracer=tracer)
    ex.execute(P, HookContext(P))
    processor = _OnStart()
    provider.add_span_processor(processor)
    ex.execute(P, HookContext(P))
    assert processor.started == [f"hookwire.execute {P}", "hookwire.hook a"]
    assert len(exporter.get_finished_spans()) == 4
    assert not tracer.records_spans_itself


@pytest.mark.parametrize(
    "limits",
    [SpanLimits(max_span_attribute_length=8), SpanLimits(max_span_attributes=3)],
    ids=["value length", "count"],
)
def test_limits_that_would_cut_attributes_get_sdk_spans(
    limits: SpanLimits, exporting: Exporting
) -> None:
    provider, exporter = exporting(span_limits=limits)
    tracer = HookTracer(provider)
    assert not tracer.records_spans_itself
    _one_hook(provider, name="a-long-hook-name", tracer=tracer).execute(P, HookContext(P))
    hook = {s.name: s for s in exporter.get_finished_spans()}["hookwire.hook a-long-hook-name"]
    assert hook.attributes is not None
    assert len(hook.attributes) <= 3 or hook.attributes["hookwire.hook.name"] == "a-long-h"


def test_a_custom_sampler_is_asked_through_the_sdk(exporting: Exporting) -> None:
    class EveryOther(Sampler):
        def __init__(self) -> None:
            self.n = 0

        def should_sample(self, parent: Any, trace_id: int, name: str, *a: Any) -> Any:
            # Every other execution; hook spans follow theirs.
            self.n += name.startswith("hookwire.execute")
            sampler = DEFAULT_ON if self.n % 2 else ALWAYS_OFF
            return sampler.should_sample(parent, trace_id, name, *a)

        def get_description(self) -> str:
            return "EveryOther"

    sampler = EveryOther()
    provider, exporter = exporting(sampler=sampler)
    tracer = HookTracer(provider)
    assert not tracer.records_spans_itself
    ex = _one_hook(provider, name="a", tracer=tracer)
    for _ in range(2):
        ex.execute(P, HookContext(P))
    assert sampler.n == 2
    assert [s.name for s in exporter.get_finished_spans()] == [
        "hookwire.hook a",
        f"hookwire.execute {P}",
    ]


def test_unconfigured_tracing_stays_out() -> None:
    assert not HookTracer(trace.NoOpTracerProvider()).records_spans_itself
    assert tracing.HookTracer().active is False


def test_a_tracer_the_sdk_disabled_records_nothing(exporting: Exporting) -> None:
    from opentelemetry.sdk import trace as sdk_trace

    disable = getattr(sdk_trace, "_disable_tracer_configurator", None)
    if disable is None:
        pytest.skip("this SDK has no tracer configurator")
    provider, exporter = exporting()
    ex = _one_hook(provider, name="a")
    ex.execute(P, HookContext(P))
    provider._set_tracer_configurator(tracer_configurator=disable)
    ex.execute(P, HookContext(P))
    assert len(exporter.get_finished_spans()) == 2  # the first execution's only


def test_the_current_context_is_read_and_set_as_the_api_does() -> None:
    import threading

    from opentelemetry import context as otel_context

    read, attach, detach = tracing._runtime_context()
    assert read is not otel_context.get_current  # the default runtime context: read directly
    outer = attach(otel_context.set_value("k", 0))
    assert otel_context.get_current().get("k") == 0
    detach(outer)
    assert otel_context.get_current().get("k") is None
    assert read() is otel_context.get_current()
    token = otel_context.attach(otel_context.set_value("k", 1))
    try:
        assert read() is otel_context.get_current() and read().get("k") == 1
        seen: list[bool] = []
        thread = threading.Thread(target=lambda: seen.append(read() is otel_context.get_current()))
        thread.start()
        thread.join()

        async def in_task() -> bool:
            inner = otel_context.attach(otel_context.set_value("k", 2))
            try:
                return read() is otel_context.get_current() and read().get("k") == 2
            finally:
                otel_context.detach(inner)

        assert seen == [True] and asyncio.run(in_task())
    finally:
        otel_context.detach(token)
    assert read() is otel_context.get_current() and read().get("k") is None


def test_a_sampler_dropping_children_of_sampled_spans_gets_sdk_spans() -> None:
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    odd = ParentBased(ALWAYS_OFF, local_parent_sampled=TraceIdRatioBased(0.5))
    assert not HookTracer(TracerProvider(sampler=odd)).records_spans_itself
    ratio = TraceIdRatioBased(0.5)  # one ratio for every span: children follow
    assert HookTracer(TracerProvider(sampler=ratio)).records_spans_itself


# -- what a hook records on the current span ---------------------------------------------------

# Room for 16 attributes, 2 events and 1 link a span: the "many" hook overflows each.
LIMITS = SpanLimits(max_span_attributes=16, max_events=2, max_links=1)


def _recording_registry(clock: VirtualClock, *, asynchronous: bool) -> Registry:
    """Hooks that record on `trace.get_current_span()` (each asserts it is recording)."""
    reg = Registry(clock=clock)

    def current() -> Any:
        span = trace.get_current_span()
        assert span.is_recording()
        return span

    def records(ctx: HookContext) -> None:
        span = current()
        span.set_attribute("app.user", "ada")
        # hookwire's outcome is set when the execution ends: it wins.
        span.set_attributes({"app.n": 3, "app.tags": ["x", "y"], "hookwire.hook.outcome": "x"})
        span.add_event("checked", {"app.ok": True}, timestamp=11)
        span.add_link(SpanContext(0xABC, 0xDEF, False), {"app.why": "cause"})
        span.update_name("app.records")
        span.set_status(Status(StatusCode.ERROR, "hook says"))  # hookwire's UNSET keeps it

    def ok_then_fails(ctx: HookContext) -> None:
        current().set_status(StatusCode.OK)  # an OK status stays
        raise RuntimeError("boom")

    def fails(ctx: HookContext) -> None:
        span = current()
        span.record_exception(ValueError("bad"), {"app.k": 1}, timestamp=12, escaped=True)
        span.set_status(StatusCode.ERROR, "mine")  # hookwire's ERROR replaces it
        raise RuntimeError("boom")

    def many(ctx: HookContext) -> None:
        span = current()
        for i in range(20):
            span.set_attribute(f"app.a{i}", i)
        for i in range(3):
            span.add_event(f"e{i}", timestamp=i)
        for i in range(2):
            span.add_link(SpanContext(0xABC, 0x100 + i, False))

    for priority, hook in enumerate((records, ok_then_fails, fails, many)):
        reg.register(hook, name=hook.__name__, point=P, priority=priority)
    if asynchronous:

        async def later(ctx: HookContext) -> None:
            await asyncio.sleep(0)
            current().set_attribute("app.after_await", True)
            clock.advance(1_000)

        reg.register(later, name="later", point=P, priority=9)
    return reg


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_what_a_hook_records_on_its_span_is_the_sdk_paths(
    asynchronous: bool, monkeypatch: pytest.MonkeyPatch, exporting: Exporting
) -> None:
    got = {}
    for sdk in (True, False):
        provider, exporter = exporting(resource=RESOURCE, span_limits=LIMITS)
        clock = VirtualClock()
        tracer = _hook_tracer(provider, sdk=sdk, monkeypatch=monkeypatch, clock=clock)
        ex = Executor(
            _recording_registry(clock, asynchronous=asynchronous), clock=clock, observers=[tracer]
        )
        random.seed(5)
        if asynchronous:
            asyncio.run(ex.aexecute(P, HookContext(P)))
        else:
            ex.execute(P, HookContext(P))
        got[sdk] = [_span(s) for s in exporter.get_finished_spans()]
    assert got[False] == got[True]
    by_name = {s["name"]: s for s in got[False]}
    records = by_name["app.records"]
    assert records["attributes"]["app.user"] == "ada"
    assert records["attributes"]["app.tags"] == ("x", "y")
    assert records["attributes"]["hookwire.hook.outcome"] == "CONTINUE"
    assert records["status"] == (StatusCode.ERROR, "hook says")
    assert records["events"] == [("checked", 11, {"app.ok": True})]
    assert records["links"] == [(SpanContext(0xABC, 0xDEF, False), {"app.why": "cause"})]
    assert by_name["hookwire.hook ok_then_fails"]["status"][0] is StatusCode.OK
    fails = by_name["hookwire.hook fails"]
    assert fails["status"] == (StatusCode.ERROR, "boom")
    assert fails["events"][0][2]["app.k"] == 1
    assert fails["events"][0][2]["exception.escaped"] == "True"
    many = by_name["hookwire.hook many"]
    # 20 of the hook's and 7 of hookwire's in 16: the 11 oldest went.
    assert len(many["attributes"]) == 16 and many["dropped"] == (11, 1, 1)
    assert many["attributes"]["hookwire.hook.name"] == "many"
    assert [e[0] for e in many["events"]] == ["e1", "e2"]
    if asynchronous:
        assert by_name["hookwire.hook later"]["attributes"]["app.after_await"] is True


@pytest.mark.parametrize("sdk", [False, True], ids=["hookwire", "sdk"])
def test_the_current_span_is_recording_in_a_sampled_hook_only(
    sdk: bool, monkeypatch: pytest.MonkeyPatch, exporting: Exporting
) -> None:
    seen: list[tuple[bool, Any]] = []

    def hook(ctx: HookContext) -> None:
        span = trace.get_current_span()
        seen.append((span.is_recording(), span.get_span_context()))

    for sampler in (DEFAULT_ON, ALWAYS_OFF):
        provider, exporter = exporting(sampler=sampler)
        tracer = _hook_tracer(provider, sdk=sdk, monkeypatch=monkeypatch)
        ex = _one_hook(provider, hook, tracer=tracer)
        ex.execute(P, HookContext(P))
        unsampled = DistributedContext(traceparent=TRACEPARENT[:-2] + "00")
        ex.execute(P, HookContext(P, distributed=unsampled))
        if sampler is DEFAULT_ON:
            hook_span = {s.name: s for s in exporter.get_finished_spans()}["hookwire.hook h"]
            assert seen.pop(0) == (True, hook_span.context)
        assert [recording for recording, _ in seen] == [False] * len(seen)
        seen.clear()


def test_a_hook_ending_its_span_is_ignored(exporting: Exporting) -> None:
    provider, exporter = exporting()

    def hook(ctx: HookContext) -> None:
        span = trace.get_current_span()
        span.end()
        with span:  # a context manager ends it too
            pass
        assert span.is_recording()
        span.set_attribute("app.after_end", 1)

    _one_hook(provider, hook).execute(P, HookContext(P))
    hook_span = {s.name: s for s in exporter.get_finished_spans()}["hookwire.hook h"]
    assert hook_span.attributes is not None
    assert hook_span.attributes["app.after_end"] == 1
    assert hook_span.attributes["hookwire.hook.outcome"] == "CONTINUE"


def test_the_span_stops_recording_when_the_execution_ends(exporting: Exporting) -> None:
    provider, exporter = exporting()
    kept: list[Any] = []
    wrote = _one_hook(provider, lambda ctx: kept.append(trace.get_current_span()))
    silent = _one_hook(provider, lambda ctx: kept.append(trace.get_current_span()))
    for ex in (wrote, silent):
        ex.execute(P, HookContext(P))
    kept[0].set_attribute("app.during", 1)  # nothing recorded yet: still the hook's
    before = [dict(s.attributes or {}) for s in exporter.get_finished_spans()]
    for span in kept:
        assert not span.is_recording()
        span.set_attribute("app.late", 1)
        span.add_event("late")
        span.set_status(StatusCode.ERROR)
        span.update_name("late")
    after = exporter.get_finished_spans()
    assert [dict(s.attributes or {}) for s in after] == before
    assert all(not s.events and s.name != "late" for s in after)
    assert all(s.status.status_code is StatusCode.UNSET for s in after)


def test_an_event_without_a_timestamp_takes_the_tracers_clock(exporting: Exporting) -> None:
    provider, exporter = exporting()
    clock = VirtualClock()
    clock.advance(123_456)
    tracer = HookTracer(provider, clock=clock)
    hook = _one_hook(provider, lambda ctx: trace.get_current_span().add_event("now"), tracer=tracer)
    hook.execute(P, HookContext(P))
    hook_span = {s.name: s for s in exporter.get_finished_spans()}["hookwire.hook h"]
    assert [e.timestamp for e in hook_span.events] == [clock.time_ns()]


def test_threads_writing_on_a_hook_span_lose_nothing_within_the_limit(exporting: Exporting) -> None:
    import threading

    provider, exporter = exporting()

    def hook(ctx: HookContext) -> None:
        span = trace.get_current_span()

        def write(t: int) -> None:
            for i in range(25):
                span.set_attribute(f"app.t{t}.{i}", i)

        threads = [threading.Thread(target=write, args=(t,)) for t in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    _one_hook(provider, hook).execute(P, HookContext(P))
    hook_span = {s.name: s for s in exporter.get_finished_spans()}["hookwire.hook h"]
    assert hook_span.attributes is not None
    assert len(hook_span.attributes) == 107 and hook_span.dropped_attributes == 0


def test_hook_span_doctest() -> None:
    import doctest

    from hookwire.runtime.otel import hook_span

    result = doctest.testmod(hook_span)
    assert result.attempted > 0 and result.failed == 0
