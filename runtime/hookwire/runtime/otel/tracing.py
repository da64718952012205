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
from types import CoroutineType
from typing import Any

from hookwire.runtime.breaker import BreakerState
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
_CONTINUE_VALUE = Outcome.CONTINUE.value
_CLOSED_VALUE = BreakerState.CLOSED.value


def traceparent_of(span: Span) -> str:
    """The W3C traceparent of a span ("" for an invalid one)."""
    sc = span.get_span_context()
    if not sc.is_valid:
        return ""
    return f"00-{sc.trace_id:032x}-{sc.span_id:016x}-{sc.trace_flags:02x}"


class _Run:
    """One traced execution: its span, its context, the hook spans in call order, and the
    first part of its hooks' traceparents (version and trace id, the same for all)."""

    __slots__ = ("context", "hooks", "prefix", "span", "token")

    token: Token[_Run | _Dropped | None]  # set in `begin`

    def __init__(self, span: Span, context: Any, trace_id: int) -> None:
        self.span = span
        self.context = context
        self.hooks: list[tuple[Span, int]] = []
        self.prefix = f"00-{trace_id:032x}-"


class _Dropped:
    """An execution the sampler dropped: nothing to record; its hooks run untraced (an
    enclosing execution's run is hidden from them until it ends)."""

    __slots__ = ("token",)

    token: Token[_Run | _Dropped | None]


def _with_traceparent(ctx: HookContext, traceparent: str) -> HookContext:
    """`ctx` as the hook sees it: the same fields, the hook span's trace context."""
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
    return HookContext(
        ctx.point,
        ctx.data,
        ctx.metadata,
        ctx.component,
        ctx.language,
        ctx.correlation_id,
        ctx.timestamp_ns,
        ctx.operation,
        ctx.parent,
        dist,
    )


class HookTracer:
    """Execution and hook spans (see the module docstring)."""

    def __init__(self, tracer_provider: Any = None) -> None:
        provider = tracer_provider if tracer_provider is not None else trace.get_tracer_provider()
        self.active = not isinstance(provider, ProxyTracerProvider)
        self._tracer = provider.get_tracer("hookwire")
        # The execution begun last on this thread / task (None outside one).
        self._run: ContextVar[_Run | _Dropped | None] = ContextVar(
            "hookwire_trace_run", default=None
        )

    # -- CallWrapper --------------------------------------------------------------------------

    def begin(self, point: str, ctx: HookContext) -> _Run | _Dropped | None:
        d = ctx.distributed
        if d is not None and d.traceparent:
            carrier = {"traceparent": d.traceparent}
            if d.tracestate:
                carrier["tracestate"] = d.tracestate
            parent: Any = _PROPAGATOR.extract(carrier)
        else:
            parent = None  # the current context (read below only when recording)
        span = self._tracer.start_span(f"hookwire.execute {point}", context=parent)
        if not span.is_recording():
            # Dropped by the sampler: no context to build, no hook spans. An enclosing traced
            # execution's run is hidden from this one's hooks (they run untraced).
            if self._run.get() is None:
                return None
            dropped = _Dropped()
            dropped.token = self._run.set(dropped)
            return dropped
        # Set, not given to start_span: a sampler may return other start attributes.
        if ctx.correlation_id:
            span.set_attributes(
                {"hookwire.point": point, "gen_ai.conversation.id": ctx.correlation_id}
            )
        else:
            span.set_attribute("hookwire.point", point)
        if parent is None:
            parent = otel_context.get_current()
        run = _Run(span, trace.set_span_in_context(span, parent), span.get_span_context().trace_id)
        run.token = self._run.set(run)
        return run

    def wrap(self, entry: Any, call: Callable[[HookContext], Any]) -> Callable[[HookContext], Any]:
        if not self.active:
            return call
        start_span = self._tracer.start_span
        current = self._run
        name = f"hookwire.hook {entry.name}"
        set_in_context = trace.set_span_in_context
        attach = otel_context.attach
        detach = otel_context.detach
        now = time.time_ns

        async def awaited(run: _Run, span: Span, coro: Any) -> Any:
            try:
                return await coro
            finally:
                run.hooks.append((span, now()))

        def traced(ctx: HookContext) -> Any:
            run = current.get()
            if type(run) is not _Run:
                # Outside a traced execution, or one the sampler dropped: no hook spans (the
                # hook still gets the context the executor passed on).
                return call(ctx)
            span = start_span(name, context=run.context)
            token = attach(set_in_context(span, run.context))
            sc = span.get_span_context()
            try:
                value = call(
                    _with_traceparent(ctx, f"{run.prefix}{sc.span_id:016x}-{sc.trace_flags:02x}")
                )
            except BaseException:
                run.hooks.append((span, now()))
                raise
            finally:
                detach(token)
            if type(value) is CoroutineType:
                return awaited(run, span, value)
            run.hooks.append((span, now()))
            return value

        return traced

    def _end(self, token: _Run | _Dropped) -> _Run | None:
        """The execution `token` was begun for ends: its run (None if the sampler dropped
        it), no longer current."""
        self._run.reset(token.token)
        return token if type(token) is _Run else None

    def abort(self, token: _Run | _Dropped, exc: BaseException) -> None:
        run = self._end(token)
        if run is None:
            return
        for span, end in run.hooks:
            span.end(end_time=end)
        run.span.record_exception(exc)
        run.span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
        run.span.end()

    def end(
        self,
        token: _Run | _Dropped,
        point: str,
        execution: Any,
        started_ns: int,
        ended_ns: int,
    ) -> None:
        run = self._end(token)
        if run is None:
            return
        entries, raw = execution.raw_records()
        called = iter(run.hooks)
        now = time.time_ns()
        for e, r in zip(entries, raw, strict=False):
            if type(r) is int:
                span, end = next(called, (None, now))
                if span is None:
                    continue
                span.set_attributes(
                    {
                        "hookwire.point": point,
                        "hookwire.hook.name": e.name,
                        "hookwire.hook.language": e.language,
                        "hookwire.hook.outcome": _CONTINUE_VALUE,
                        "hookwire.hook.duration_ns": r,
                        "hookwire.hook.slow": False,
                        "hookwire.breaker.state": _CLOSED_VALUE,
                    }
                )
                span.end(end_time=end)
                continue
            outcome, reason, dur, slow, st = r
            if reason is REFUSED:
                # Not called: its breaker refused. A zero-length span records the decision.
                span = self._tracer.start_span(
                    f"hookwire.hook {e.name}",
                    context=run.context,
                    start_time=now,
                )
                end = now
            else:
                span, end = next(called, (None, now))
                if span is None:
                    continue
            attrs = {
                "hookwire.point": point,
                "hookwire.hook.name": e.name,
                "hookwire.hook.language": e.language,
                "hookwire.hook.outcome": outcome.value,
                "hookwire.hook.duration_ns": dur,
                "hookwire.hook.slow": slow,
                "hookwire.breaker.state": st.value,
            }
            if reason:
                attrs["hookwire.hook.reason"] = reason
            span.set_attributes(attrs)
            if outcome in _FAILED:
                span.set_status(Status(StatusCode.ERROR, reason or outcome.value))
            span.end(end_time=end)
        # Hook spans without a record (a chain that raised mid-way) still end.
        for span, end in called:
            span.end(end_time=end)
        run.span.set_attributes(
            {"hookwire.hooks": len(raw), "hookwire.result": execution.result.kind.value}
        )
        run.span.end()
