"""OpenTelemetry spans for executions: one span per execution, one child span per hook call.

`HookTracer` is an execution observer that also wraps each hook call
(hookwire.runtime.observer): pass it to `Executor(observers=[...])`. The execution span's
parent is the incoming W3C trace context (`ctx.distributed.traceparent`, which the server fills
from the `traceparent` call metadata), else the current OpenTelemetry context. While a hook
runs, its span is the current span and the context the hook receives carries the hook span's
`traceparent`, so embedded Lua hooks, remote JS and Python workers (whose SDKs start their own
spans as its children) and events published from the hook continue the trace.

Span names: `hookwire.execute <point>` and `hookwire.hook <name>`. Attributes: hookwire.point,
hookwire.hook.name, hookwire.hook.language, hookwire.hook.outcome, hookwire.hook.reason,
hookwire.hook.duration_ns, hookwire.hook.slow, hookwire.breaker.state, hookwire.result (the
execution's result kind); GenAI semantic conventions where they name the attribute:
gen_ai.conversation.id (the context's correlation id). A hook that failed or timed out gets an
ERROR status.

A tracer made while no OpenTelemetry SDK is configured is inactive: the executor leaves it out
(`active` is False) and executions cost what they cost without it.

Example:
    >>> from opentelemetry.sdk.trace import TracerProvider
    >>> from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    >>> from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    >>> from hookwire.runtime.context import HookContext
    >>> from hookwire.runtime.executor import Executor
    >>> from hookwire.runtime.registry import Registry
    >>> spans = InMemorySpanExporter()
    >>> provider = TracerProvider()
    >>> provider.add_span_processor(SimpleSpanProcessor(spans))
    >>> reg = Registry()
    >>> _ = reg.register(lambda ctx: None, name="audit", point="session_start")
    >>> ex = Executor(reg, observers=[HookTracer(provider)])
    >>> _ = ex.execute("session_start", HookContext("session_start"))
    >>> [s.name for s in spans.get_finished_spans()]
    ['hookwire.hook audit', 'hookwire.execute session_start']
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextvars import ContextVar, Token
from copy import copy
from types import CoroutineType
from typing import Any

from hookwire.runtime.context import DistributedContext, HookContext
from hookwire.runtime.observer import REFUSED
from hookwire.runtime.results import Outcome
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import ProxyTracerProvider, Span, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

__all__ = ["HookTracer", "traceparent_of"]

_PROPAGATOR = TraceContextTextMapPropagator()
_FAILED = (Outcome.ERROR, Outcome.TIMEOUT)
_CONTINUE = Outcome.CONTINUE


def traceparent_of(span: Span) -> str:
    """The W3C traceparent of a span ("" for an invalid one)."""
    sc = span.get_span_context()
    if not sc.is_valid:
        return ""
    return f"00-{sc.trace_id:032x}-{sc.span_id:016x}-{sc.trace_flags:02x}"


class _Run:
    """One execution being traced: its span, its context, the hook spans in call order."""

    __slots__ = ("context", "hooks", "recording", "span", "token")

    def __init__(self, span: Span, context: Any) -> None:
        self.recording = True
        self.span = span
        self.context = context
        self.hooks: list[tuple[Span, int]] = []
        self.token: Token[_Run | None] | None = None


def _with_traceparent(ctx: HookContext, traceparent: str) -> HookContext:
    d = ctx.distributed
    dist = (
        DistributedContext(
            d.remote_agent_id,
            d.propagate_to_remote,
            d.propagate_events,
            d.propagate_baggage,
            traceparent,
            d.tracestate,
        )
        if d is not None
        else DistributedContext(traceparent=traceparent)
    )
    c = copy(ctx)
    c.distributed = dist
    return c


class HookTracer:
    """Execution and hook spans (see the module docstring)."""

    def __init__(self, tracer_provider: Any = None) -> None:
        provider = tracer_provider if tracer_provider is not None else trace.get_tracer_provider()
        self.active = not isinstance(provider, ProxyTracerProvider)
        self._tracer = provider.get_tracer("hookwire")
        self._run: ContextVar[_Run | None] = ContextVar("hookwire_trace_run", default=None)

    # -- CallWrapper --------------------------------------------------------------------------

    def begin(self, point: str, ctx: HookContext) -> None:
        d = ctx.distributed
        if d is not None and d.traceparent:
            carrier = {"traceparent": d.traceparent}
            if d.tracestate:
                carrier["tracestate"] = d.tracestate
            parent = _PROPAGATOR.extract(carrier)
        else:
            parent = otel_context.get_current()
        span = self._tracer.start_span(f"hookwire.execute {point}", context=parent)
        span.set_attribute("hookwire.point", point)
        if ctx.correlation_id:
            span.set_attribute("gen_ai.conversation.id", ctx.correlation_id)
        run = _Run(span, trace.set_span_in_context(span, parent))
        run.recording = span.is_recording()
        run.token = self._run.set(run)

    def wrap(self, entry: Any, call: Callable[[HookContext], Any]) -> Callable[[HookContext], Any]:
        if not self.active:
            return call
        tracer = self._tracer
        current = self._run
        name = f"hookwire.hook {entry.name}"
        attrs = {"hookwire.hook.language": entry.language}

        def finish(run: _Run, span: Span, value: Any) -> Any:
            if type(value) is CoroutineType:
                return _awaited(run, span, value)
            run.hooks.append((span, time.time_ns()))
            return value

        async def _awaited(run: _Run, span: Span, coro: Any) -> Any:
            try:
                return await coro
            finally:
                run.hooks.append((span, time.time_ns()))

        def traced(ctx: HookContext) -> Any:
            run = current.get()
            if run is None or not run.recording:
                # Outside a traced execution, or one the sampler dropped: no hook spans (the
                # hook still gets the execution's context, which the executor passed on).
                return call(ctx)
            span = tracer.start_span(name, context=run.context, attributes=attrs)
            token = otel_context.attach(trace.set_span_in_context(span, run.context))
            try:
                value = call(_with_traceparent(ctx, traceparent_of(span)))
            except BaseException:
                run.hooks.append((span, time.time_ns()))
                raise
            finally:
                otel_context.detach(token)
            return finish(run, span, value)

        return traced

    def abort(self, exc: BaseException) -> None:
        run = self._run.get()
        if run is None:
            return
        for span, end in run.hooks:
            span.end(end_time=end)
        run.span.record_exception(exc)
        run.span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
        run.span.end()
        if run.token is not None:
            self._run.reset(run.token)

    # -- ExecutionObserver ----------------------------------------------------------------------

    def executed(self, point: str, execution: Any, started_ns: int, ended_ns: int) -> None:
        run = self._run.get()
        if run is None:
            return
        if not run.recording:
            run.span.end()
            if run.token is not None:
                self._run.reset(run.token)
            return
        entries, raw = execution.raw_records()
        called = iter(run.hooks)
        now = time.time_ns()
        for e, r in zip(entries, raw, strict=False):
            if type(r) is int:
                outcome, reason, dur, slow, state = _CONTINUE, "", r, False, "CLOSED"
            else:
                outcome, reason, dur, slow, st = r
                state = st.value
            if reason is REFUSED:
                # Not called: its breaker refused. A zero-length span records the decision.
                span = self._tracer.start_span(
                    f"hookwire.hook {e.name}", context=run.context, start_time=now
                )
                span.set_attribute("hookwire.hook.language", e.language)
                end = now
            else:
                span, end = next(called, (None, now))
                if span is None:
                    continue
            span.set_attributes(
                {
                    "hookwire.point": point,
                    "hookwire.hook.name": e.name,
                    "hookwire.hook.outcome": outcome.value,
                    "hookwire.hook.duration_ns": dur,
                    "hookwire.hook.slow": slow,
                    "hookwire.breaker.state": state,
                }
            )
            if reason:
                span.set_attribute("hookwire.hook.reason", reason)
            if outcome in _FAILED:
                span.set_status(Status(StatusCode.ERROR, reason or outcome.value))
            span.end(end_time=end)
        # Hook spans without a record (a chain that raised mid-way) still end.
        for span, end in called:
            span.end(end_time=end)
        run.span.set_attribute("hookwire.hooks", len(raw))
        run.span.set_attribute("hookwire.result", execution.result.kind.value)
        run.span.end()
        if run.token is not None:
            self._run.reset(run.token)
