"""OpenTelemetry spans for executions: one span per execution, one child span per hook call.

`HookTracer` is a call wrapper (hookwire.runtime.observer.CallWrapper): pass it to
`Executor(observers=[...])`. The execution span's parent is the incoming W3C trace context
(`ctx.distributed.traceparent`, which the server fills from the `traceparent` call metadata),
else the current OpenTelemetry context. While a hook runs, its span is the current span and the
context the hook receives carries the hook span's `traceparent`, so embedded Lua hooks, remote
JS and Python workers (whose SDKs start their own spans as its children) and events published
from the hook continue the trace.

Span names: `hookwire.execute <point>` and `hookwire.hook <name>`. Attributes: hookwire.point,
hookwire.hook.name, hookwire.hook.language, hookwire.hook.outcome, hookwire.hook.reason,
hookwire.hook.duration_ns, hookwire.hook.slow, hookwire.breaker.state, hookwire.hooks and
hookwire.result (the execution's hook records and result kind); GenAI semantic conventions where
they name the attribute: gen_ai.conversation.id (the context's correlation id). A hook that
failed or timed out gets an ERROR status; an execution that raised records the exception.

What an execution costs depends on the provider (the figures: docs/operations.md, Traces):
- The sampling decision: for the SDK's standard samplers (ALWAYS_ON/OFF, TraceIdRatioBased,
  ParentBased over them, e.g. `parentbased_traceidratio`) hookwire decides as the sampler would,
  from the trace id, without starting a span (hookwire.runtime.otel.sampling). An execution the
  sampler drops costs that decision and nothing else: no span, no context. Any other sampler is
  asked through the SDK's `start_span`.
- A sampled execution's spans: where the provider's span processors only act on finished spans
  (the SDK's Simple/BatchSpanProcessor, as `hookwire serve` sets up) and its limits keep what
  hookwire records, hookwire makes the span ids (as the provider's id generator would) and
  hands the finished spans to the processors when the execution ends
  (hookwire.runtime.otel.spans). While a hook runs, the current span is a `HookSpan` with the
  hook span's context (hookwire.runtime.otel.hook_span): spans the hook starts are its
  children, and what the hook records on `trace.get_current_span()` (attributes, events,
  status, exceptions) is on the finished hook span, as on an SDK span.
  Otherwise hookwire records SDK spans, as the SDK's `start_span` makes them.

Async hooks run with their hook span current too (from the first step of the coroutine to its
end).

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

import random
import time
from collections.abc import Callable
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from types import CoroutineType
from typing import Any

from hookwire.runtime.breaker import BreakerState
from hookwire.runtime.context import DistributedContext, HookContext
from hookwire.runtime.observer import REFUSED
from hookwire.runtime.otel.hook_span import HookSpan
from hookwire.runtime.otel.sampling import Sampling
from hookwire.runtime.otel.spans import UNSET, FinishedSpans, exception_event
from hookwire.runtime.results import Outcome
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace import SpanLimits
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.trace import (
    ProxyTracerProvider,
    Span,
    SpanContext,
    Status,
    StatusCode,
)
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

__all__ = ["HookTracer", "traceparent_of"]

_PROPAGATOR = TraceContextTextMapPropagator()
_FAILED = (Outcome.ERROR, Outcome.TIMEOUT)
_CONTINUE_VALUE = Outcome.CONTINUE.value
_CLOSED_VALUE = BreakerState.CLOSED.value
_MASK = (1 << 64) - 1
# Read on every sampled hook call.
_getrandbits = random.getrandbits
_set_span_in_context = trace.set_span_in_context


def traceparent_of(span: Span) -> str:
    """The W3C traceparent of a span ("" for an invalid one)."""
    sc = span.get_span_context()
    if not sc.is_valid:
        return ""
    return f"00-{sc.trace_id:032x}-{sc.span_id:016x}-{sc.trace_flags:02x}"


def _runtime_context() -> tuple[Callable[[], Any], Callable[[Any], Any], Callable[[Any], None]]:
    """`opentelemetry.context`'s `get_current`, `attach` and `detach`, or what they do, done
    straight on its ContextVar: the API's default runtime context (`ContextVarsRuntimeContext`)
    keeps the current context in one, and the public functions reach it through two Python
    calls each (about 40 ns of a dropped execution's 100 ns; `attach` and `detach` run around
    every sampled hook call). Only when the runtime context is exactly that class with its own
    methods (the API's `_RUNTIME_CONTEXT` and its `_current_context` are not public);
    otherwise, e.g. another OTEL_PYTHON_CONTEXT, the public functions."""
    from opentelemetry.context.contextvars_context import ContextVarsRuntimeContext as Runtime

    runtime = getattr(otel_context, "_RUNTIME_CONTEXT", None)
    var = getattr(runtime, "_current_context", None)
    cls = type(runtime)
    if (
        cls is Runtime
        and (cls.get_current, cls.attach, cls.detach)
        == (Runtime.get_current, Runtime.attach, Runtime.detach)
        and isinstance(var, ContextVar)
    ):
        return var.get, var.set, var.reset
    return otel_context.get_current, otel_context.attach, otel_context.detach


_get_current, _attach, _detach = _runtime_context()


def _span_id() -> int:
    """A new span id, drawn as the SDK's RandomIdGenerator draws it."""
    span_id = random.getrandbits(64)
    while not span_id:
        span_id = random.getrandbits(64)
    return span_id


def _hook_span(point: str, entry: Any, record: Any) -> tuple[dict[str, Any], Status, bool]:
    """The attributes and status of the span of `entry`'s call from its raw record, and
    whether the hook was refused (not called: its breaker is open)."""
    if type(record) is int:
        return (
            {
                "hookwire.point": point,
                "hookwire.hook.name": entry.name,
                "hookwire.hook.language": entry.language,
                "hookwire.hook.outcome": _CONTINUE_VALUE,
                "hookwire.hook.duration_ns": record,
                "hookwire.hook.slow": False,
                "hookwire.breaker.state": _CLOSED_VALUE,
            },
            UNSET,
            False,
        )
    outcome, reason, dur, slow, st = record
    attrs = {
        "hookwire.point": point,
        "hookwire.hook.name": entry.name,
        "hookwire.hook.language": entry.language,
        "hookwire.hook.outcome": outcome.value,
        "hookwire.hook.duration_ns": dur,
        "hookwire.hook.slow": slow,
        "hookwire.breaker.state": st.value,
    }
    if reason:
        attrs["hookwire.hook.reason"] = reason
    status = Status(StatusCode.ERROR, reason or outcome.value) if outcome in _FAILED else UNSET
    return attrs, status, reason is REFUSED


def _execution_attributes(point: str, ctx: HookContext) -> dict[str, Any]:
    if ctx.correlation_id:
        return {"hookwire.point": point, "gen_ai.conversation.id": ctx.correlation_id}
    return {"hookwire.point": point}


def _result_attributes(execution: Any, raw: Any) -> dict[str, Any]:
    return {"hookwire.hooks": len(raw), "hookwire.result": execution.result.kind.value}


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


@dataclass(slots=True, eq=False)
class _Run:
    """One sampled execution whose spans hookwire builds (FinishedSpans): the execution
    span's context, its parent, the context hooks run in, and each hook call's span context
    and times, in call order."""

    point: str
    span: SpanContext
    parent: SpanContext | None
    # What a hook call's context is made from: the hook span replaces the parent's span
    # (the execution span need not be in it: the hook spans name their parent themselves).
    context: Any
    attributes: dict[str, Any]
    now: Callable[[], int]
    # The provider's id generator's, None for the SDK's random one.
    new_span_id: Callable[[], int] | None
    # Where the spans go when the execution ends.
    spans: FinishedSpans
    limits: SpanLimits = field(init=False)
    start: int = field(init=False)
    hooks: list[tuple[HookSpan, int, int]] = field(init=False)
    # The hooks' traceparents: the same but for the span id.
    traceparent: str = field(init=False)
    token: Token[Any] = field(init=False)  # set in `begin`

    def __post_init__(self) -> None:
        self.limits = self.spans.limits
        self.start = self.now()
        self.hooks = []
        span = self.span
        self.traceparent = f"00-{span.trace_id:032x}-%016x-{span.trace_flags:02x}"

    def call(self, name: str, call: Callable[[HookContext], Any], ctx: HookContext) -> Any:
        span = self.span
        new = self.new_span_id
        span_id = (_getrandbits(64) or _span_id()) if new is None else new()
        now = self.now
        hook = HookSpan(
            SpanContext(span.trace_id, span_id, False, span.trace_flags, span.trace_state),
            name,
            self.limits,
            now,
        )
        start = now()
        context = _set_span_in_context(hook, self.context)
        token = _attach(context)
        try:
            value = call(_with_traceparent(ctx, self.traceparent % span_id))
        except BaseException:
            self.hooks.append((hook, start, now()))
            raise
        finally:
            _detach(token)
        if type(value) is CoroutineType:
            return self._awaited(hook, context, start, value)
        self.hooks.append((hook, start, now()))
        return value

    async def _awaited(self, hook: HookSpan, context: Any, start: int, coro: Any) -> Any:
        # The coroutine runs when awaited: its hook span is current then.
        token = _attach(context)
        try:
            return await coro
        finally:
            _detach(token)
            self.hooks.append((hook, start, self.now()))

    def end(self, execution: Any) -> None:
        spans = self.spans
        point = self.point
        entries, raw = execution.raw_records()
        called = iter(self.hooks)
        now = self.now()
        span = self.span
        for e, r in zip(entries, raw, strict=False):
            attrs, status, refused = _hook_span(point, e, r)
            if refused:
                # Not called: its breaker refused. A zero-length span records the decision.
                name = f"hookwire.hook {e.name}"
                new = self.new_span_id
                sc = SpanContext(
                    span.trace_id,
                    _span_id() if new is None else new(),
                    False,
                    span.trace_flags,
                    span.trace_state,
                )
                spans.end(name, sc, span, attrs, now, now, status)
                continue
            got = next(called, None)
            if got is None:
                continue
            hook, start, end = got
            # What the hook recorded on its span, then hookwire's attributes and status.
            hook.hand_on(spans, span, attrs, start, end, status)
        # Hook spans without a record still end.
        for hook, start, end in called:
            hook.hand_on(spans, span, {}, start, end)
        attrs = self.attributes
        attrs.update(_result_attributes(execution, raw))
        spans.end(f"hookwire.execute {point}", span, self.parent, attrs, self.start, now)

    def abort(self, exc: BaseException) -> None:
        spans = self.spans
        now = self.now()
        span = self.span
        for hook, start, end in self.hooks:
            hook.hand_on(spans, span, {}, start, end)
        spans.end(
            f"hookwire.execute {self.point}",
            span,
            self.parent,
            self.attributes,
            self.start,
            now,
            Status(StatusCode.ERROR, type(exc).__name__),
            (exception_event(exc, now),),
        )


@dataclass(slots=True, eq=False)
class _SdkRun:
    """One sampled execution recorded as SDK spans (a provider whose sampler, processors or
    limits hookwire's own spans cannot stand in for): its span, its context, the hook spans
    and their end times, in call order."""

    point: str
    tracer: Any
    span: Span
    context: Any
    now: Callable[[], int]
    hooks: list[tuple[Span, int]] = field(default_factory=list)
    token: Token[Any] = field(init=False)  # set in `begin`

    def call(self, name: str, call: Callable[[HookContext], Any], ctx: HookContext) -> Any:
        now = self.now
        span = self.tracer.start_span(name, context=self.context, start_time=now())
        token = otel_context.attach(trace.set_span_in_context(span, self.context))
        try:
            value = call(_with_traceparent(ctx, traceparent_of(span)))
        except BaseException:
            self.hooks.append((span, now()))
            raise
        finally:
            otel_context.detach(token)
        if type(value) is CoroutineType:
            return self._awaited(span, value)
        self.hooks.append((span, now()))
        return value

    async def _awaited(self, span: Span, coro: Any) -> Any:
        # The coroutine runs when awaited: its hook span is current then.
        token = otel_context.attach(trace.set_span_in_context(span, self.context))
        try:
            return await coro
        finally:
            otel_context.detach(token)
            self.hooks.append((span, self.now()))

    def end(self, execution: Any) -> None:
        point = self.point
        entries, raw = execution.raw_records()
        called = iter(self.hooks)
        now = self.now()
        for e, r in zip(entries, raw, strict=False):
            attrs, status, refused = _hook_span(point, e, r)
            if refused:
                span = self.tracer.start_span(
                    f"hookwire.hook {e.name}", context=self.context, start_time=now
                )
                end = now
            else:
                got = next(called, None)
                if got is None:
                    continue
                span, end = got
            span.set_attributes(attrs)
            if status is not UNSET:
                span.set_status(status)
            span.end(end_time=end)
        for span, end in called:
            span.end(end_time=end)
        self.span.set_attributes(_result_attributes(execution, raw))
        self.span.end(end_time=now)

    def abort(self, exc: BaseException) -> None:
        now = self.now()
        for span, end in self.hooks:
            span.end(end_time=end)
        self.span.record_exception(exc, timestamp=now)
        self.span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
        self.span.end(end_time=now)


class HookTracer:
    """Execution and hook spans (see the module docstring).

    `clock`: where span times come from (its `time_ns`; default the system clock)."""

    def __init__(self, tracer_provider: Any = None, *, clock: Any = None) -> None:
        provider = tracer_provider if tracer_provider is not None else trace.get_tracer_provider()
        self.active = not isinstance(provider, ProxyTracerProvider)
        self._tracer: Any = provider.get_tracer("hookwire")
        self._now: Callable[[], int] = clock.time_ns if clock is not None else time.time_ns
        # The sampled execution begun last on this thread / task (None outside one, or while
        # an execution the sampler dropped runs inside it).
        self._run: ContextVar[_Run | _SdkRun | None] = ContextVar(
            "hookwire_trace_run", default=None
        )
        # hookwire decides and builds the spans itself when both are available (else None:
        # the SDK's start_span does).
        spans = FinishedSpans.of(self._tracer) if self.active else None
        sampling = Sampling.of(self._tracer) if spans is not None else None
        if sampling is not None and not sampling.children_follow():
            sampling = None  # its hook spans may be dropped while their execution's is kept
        self._spans = spans
        # hookwire decides and records (until a processor acting on span start is added).
        self._itself = sampling is not None
        self.begin: Callable[[str, HookContext], Any] = (
            self._fast_begin(sampling, spans)
            if sampling is not None and spans is not None
            else self._begin_sdk
        )

    @property
    def records_spans_itself(self) -> bool:
        """hookwire decides sampling and builds the spans (False: the SDK's start_span does,
        for this provider or since a span processor acting on span start was added)."""
        return self._itself

    # -- CallWrapper: `begin` is set in __init__ -----------------------------------------------

    def _fast_begin(self, sampling: Sampling, spans: FinishedSpans) -> Callable[..., Any]:
        """`begin` where hookwire decides and builds the spans: a closure over what it reads,
        since every execution calls it (a dropped one costs this call and nothing else)."""
        # Read by every execution: bound to locals (cells) of the closure.
        get_current, draw, run_var = _get_current, random.getrandbits, self._run
        running, root, new_root = run_var.get, sampling.root, sampling.new_root
        now, root_flags = self._now, sampling.flags(None)
        # Span ids as the provider's id generator makes them (the SDK's random one: inline).
        ids = self._tracer.id_generator
        new_span_id = None if type(ids) is RandomIdGenerator else ids.generate_span_id
        begin_sdk = self._begin_sdk
        # The SDK's (experimental, private) tracer configurator may disable a tracer: its
        # start_span then records nothing. Asked for sampled executions only.
        enabled: Callable[[], bool] = getattr(self._tracer, "_is_enabled", lambda: True)
        # An execution the sampler drops is hidden from the hooks of an enclosing sampled one
        # until it ends (their calls are not its hook calls): `run_var.set(None)`, the token.
        # `roots`: the current context last seen without a span, while roots are decided
        # inline (random trace ids, hookwire recording): most executions run in it, and an
        # identity check tells. `incoming`: the last incoming trace context and what it parses
        # to. Each one cell, replaced whole, so that threads never see a mixed pair.
        no_roots: Any = object()
        roots: Any = no_roots
        incoming: tuple[str, str, SpanContext | None, Any] = ("", "", None, None)

        def begin(point: str, ctx: HookContext) -> Any:
            d = ctx.distributed
            if (d is None or not d.traceparent) and get_current() is roots:
                # A root (the common case), Sampling.new_root inline: the low half of the
                # trace id decides, the high half is drawn only when sampled.
                low = draw(64)
                if low >= root:
                    return None if running() is None else run_var.set(None)
                return sampled(point, ctx, draw(64) << 64 | low or new_root(), None, roots)
            return decide(point, ctx)

        def decide(point: str, ctx: HookContext) -> Any:
            """`begin` for any other execution."""
            nonlocal roots, incoming
            if not self._itself:
                return begin_sdk(point, ctx)
            d = ctx.distributed
            if d is None or not d.traceparent:
                base = get_current()
                parent = self._valid(trace.get_current_span(base))
                if parent is None and sampling.new_trace_id is None:
                    roots = base  # `begin` decides the next ones inline
            else:
                got = incoming
                if got[0] != d.traceparent or got[1] != d.tracestate:
                    got = incoming = self._parse(d.traceparent, d.tracestate)
                parent, base = got[2], got[3]
            if parent is None:
                trace_id = new_root()
            else:
                trace_id = parent.trace_id
                if trace_id & _MASK >= sampling.bound(parent):
                    trace_id = 0
            if not trace_id:
                return None if running() is None else run_var.set(None)
            return sampled(point, ctx, trace_id, parent, base)

        def sampled(
            point: str, ctx: HookContext, trace_id: int, parent: SpanContext | None, base: Any
        ) -> Any:
            nonlocal roots
            if not enabled():
                return None if running() is None else run_var.set(None)
            if not spans.plain():
                # A span processor acting on span start was added: the SDK records from now.
                self._itself, roots = False, no_roots
                return begin_sdk(point, ctx)
            span = SpanContext(
                trace_id,
                _span_id() if new_span_id is None else new_span_id(),
                False,
                root_flags if parent is None else sampling.flags(parent),
                parent.trace_state if parent is not None else None,
            )
            run = _Run(
                point,
                span,
                parent,
                base,
                _execution_attributes(point, ctx),
                now,
                new_span_id,
                spans,
            )
            run.token = run_var.set(run)
            return run

        return begin

    @staticmethod
    def _valid(span: Any) -> SpanContext | None:
        sc: SpanContext = span.get_span_context()
        return sc if sc.is_valid else None

    def _parse(self, traceparent: str, tracestate: str) -> tuple[str, str, Any, Any]:
        """An incoming trace context: (traceparent, tracestate, its span context or None when
        invalid, the context holding it)."""
        carrier = {"traceparent": traceparent}
        if tracestate:
            carrier["tracestate"] = tracestate
        context = _PROPAGATOR.extract(carrier)
        return traceparent, tracestate, self._valid(trace.get_current_span(context)), context

    def _begin_sdk(self, point: str, ctx: HookContext) -> Any:
        d = ctx.distributed
        if d is not None and d.traceparent:
            parent: Any = self._parse(d.traceparent, d.tracestate)[3]
        else:
            parent = None  # the current context (read below only when recording)
        span = self._tracer.start_span(
            f"hookwire.execute {point}", context=parent, start_time=self._now()
        )
        if not span.is_recording():
            return None if self._run.get() is None else self._run.set(None)
        # Set, not given to start_span: a sampler may return other start attributes.
        span.set_attributes(_execution_attributes(point, ctx))
        if parent is None:
            parent = otel_context.get_current()
        run = _SdkRun(point, self._tracer, span, trace.set_span_in_context(span, parent), self._now)
        run.token = self._run.set(run)
        return run

    def wrap(self, entry: Any, call: Callable[[HookContext], Any]) -> Callable[[HookContext], Any]:
        if not self.active:
            return call
        current = self._run.get
        name = f"hookwire.hook {entry.name}"

        def traced(ctx: HookContext) -> Any:
            run = current()
            if run is None:
                # Outside a sampled execution, or inside one the sampler dropped: no hook
                # span (the hook gets the context the executor passed on).
                return call(ctx)
            return run.call(name, call, ctx)

        return traced

    def _close(self, token: Any) -> _Run | _SdkRun | None:
        """The sampled run `token` began, no longer current (None: the token of a dropped
        execution that hid an enclosing one)."""
        if type(token) is _Run or type(token) is _SdkRun:
            self._run.reset(token.token)
            return token
        self._run.reset(token)
        return None

    def end(self, token: Any, point: str, execution: Any, started_ns: int, ended_ns: int) -> None:
        run = self._close(token)
        if run is not None:
            run.end(execution)

    def abort(self, token: Any, exc: BaseException) -> None:
        run = self._close(token)
        if run is not None:
            run.abort(exc)
