"""Finished spans handed to a TracerProvider's span processors without the SDK's Span class.

A span recorded through the SDK (`start_span` ... `end`) costs about 8 us, most of it in the
mutable `Span` (locks, bounded attribute maps checked on every write) that hookwire does not need:
it knows a hook span's ids, times and attributes once the execution ends. `FinishedSpans`
builds each as the SDK's public `ReadableSpan` (what `Span.end` hands on) and gives it to the
tracer's span processor (`on_end`), a fraction of a microsecond a span.

What it needs from the SDK Tracer, read from its public attributes: `span_processor`,
`resource`, `instrumentation_info`. It applies only where the SDK would do nothing else with the
span, so `FinishedSpans.of(tracer)` returns None (and `HookTracer` records SDK spans) unless:
- every span processor acts only when a span ends: the SDK's `SimpleSpanProcessor`,
  `BatchSpanProcessor`, or any processor that does not override `on_start` / `_on_ending`
  (a processor acting on span start, e.g. one adding attributes, gets SDK spans). The SDK has
  no public way to list a provider's processors: this reads `_span_processors` of the SDK's
  `SynchronousMultiSpanProcessor` (a tuple the SDK replaces on `add_span_processor`, so
  `plain()` can tell cheaply whether one was added since);
- the span limits (`Tracer._span_limits`, likewise not public) cannot truncate what hookwire
  records (no attribute value length limit, room for its attributes and one exception event).
While a hook runs, its span is a `HookSpan` (hookwire.runtime.otel.hook_span), whose recorded
data joins the finished span. Not reproduced: the SDK's own internal metrics on span starts and ends
(`OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED`).
"""

from __future__ import annotations

import traceback
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry.sdk.trace import (
    Event,
    ReadableSpan,
    SpanLimits,
    SpanProcessor,
    SynchronousMultiSpanProcessor,
)
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode

__all__ = ["UNSET", "FinishedSpans", "exception_attributes", "exception_event"]

UNSET = Status(StatusCode.UNSET)
_INTERNAL = SpanKind.INTERNAL

# The most attributes hookwire puts on one span (an exception event has 4).
_MOST_ATTRIBUTES = 16

_NO_OP_ON_START = {
    SpanProcessor.on_start,
    SimpleSpanProcessor.on_start,
    BatchSpanProcessor.on_start,
}
_NO_OP_ON_ENDING = {
    SpanProcessor._on_ending,
    SimpleSpanProcessor._on_ending,
    BatchSpanProcessor._on_ending,
}


def _acts_only_on_end(processor: Any) -> bool:
    cls = type(processor)
    return (
        getattr(cls, "on_start", None) in _NO_OP_ON_START
        and getattr(cls, "_on_ending", None) in _NO_OP_ON_ENDING
    )


def _limits_hold(limits: Any) -> bool:
    """Span limits under which the SDK would keep every attribute hookwire records as is."""
    if limits is None:
        return False

    def at_least(name: str, n: int) -> bool:
        value = getattr(limits, name, 0)
        return value is None or value >= n

    return (
        getattr(limits, "max_span_attribute_length", 0) is None
        and getattr(limits, "max_attribute_length", 0) is None
        and at_least("max_span_attributes", _MOST_ATTRIBUTES)
        and at_least("max_event_attributes", _MOST_ATTRIBUTES)
        and at_least("max_events", 1)
    )


def exception_attributes(exc: BaseException, escaped: bool = False) -> dict[str, Any]:
    """The attributes of the event `Span.record_exception(exc)` adds (OpenTelemetry's
    exception conventions)."""
    module = type(exc).__module__
    qualname = type(exc).__qualname__
    return {
        "exception.type": f"{module}.{qualname}" if module and module != "builtins" else qualname,
        "exception.message": str(exc),
        "exception.stacktrace": "".join(traceback.format_exception(exc)),
        "exception.escaped": str(escaped),
    }


def exception_event(exc: BaseException, timestamp: int) -> Event:
    """The event `Span.record_exception(exc)` adds."""
    return Event("exception", exception_attributes(exc), timestamp)


class FinishedSpans:
    """Where finished spans go: the tracer's span processor (see the module docstring)."""

    __slots__ = ("_multi", "_plain", "info", "limits", "processor", "resource", "scope")

    def __init__(self, tracer: Any) -> None:
        self.processor: Any = tracer.span_processor
        self.resource = tracer.resource
        # What bounds what a hook records on its span (hookwire.runtime.otel.hook_span).
        self.limits: SpanLimits = getattr(tracer, "_span_limits", None) or SpanLimits()
        info = self.info = tracer.instrumentation_info
        self.scope = InstrumentationScope(info.name, info.version, info.schema_url)
        self._multi = (
            self.processor if type(self.processor) is SynchronousMultiSpanProcessor else None
        )
        # The processor tuple last found to act only on span end.
        self._plain: tuple[Any, ...] | None = None

    @classmethod
    def of(cls, tracer: Any) -> FinishedSpans | None:
        """Finished spans for an SDK Tracer, or None where the SDK must record the spans."""
        if not all(
            hasattr(tracer, a) for a in ("span_processor", "resource", "instrumentation_info")
        ):
            return None
        if not _limits_hold(getattr(tracer, "_span_limits", None)):
            return None
        got = cls(tracer)
        return got if got.plain() else None

    def plain(self) -> bool:
        """Every span processor acts only when a span ends (read again only when the
        processors changed)."""
        multi = self._multi
        if multi is None:
            return False
        processors = getattr(multi, "_span_processors", None)
        if processors is self._plain and processors is not None:
            return True
        if type(processors) is not tuple or not all(map(_acts_only_on_end, processors)):
            return False
        self._plain = processors
        return True

    def end(
        self,
        name: str,
        context: SpanContext,
        parent: SpanContext | None,
        attributes: Mapping[str, Any],
        start_ns: int,
        end_ns: int,
        status: Status = UNSET,
        events: Sequence[Event] = (),
        links: Sequence[Link] = (),
    ) -> None:
        """Hand on one finished span."""
        self.processor.on_end(
            ReadableSpan(
                name,
                context,
                parent,
                self.resource,
                attributes,
                events,
                links,
                _INTERNAL,
                self.info,
                status,
                start_ns,
                end_ns,
                self.scope,
            )
        )
