"""The current span while a sampled hook runs, where hookwire builds the spans itself.

Where hookwire hands finished spans to the span processors (hookwire.runtime.otel.spans), no
SDK span exists while a hook runs. `HookSpan` stands in for it as the current span: it has the
hook span's context (spans the hook starts are its children), `is_recording()` is True, and what
the hook records on it (`trace.get_current_span().set_attribute(...)`, `add_event`,
`record_exception`, `set_status`, `update_name`, `add_link`) ends up on the hook span, as on
an SDK span:
- within the provider's span limits, applied as the SDK applies them (the SDK's own
  `BoundedAttributes` and `BoundedList`, the oldest dropped first and counted);
- hookwire's attributes are set when the execution ends, after the hook's: they win on a
  clash. hookwire's ERROR status for a failed hook replaces the hook's status unless the hook
  set OK (the SDK keeps an OK status);
- an event without a timestamp gets the tracer's clock's time (the system clock by default).
It differs from an SDK span in one way: `end()` by the hook is ignored. The hook span ends when
the hook call does (an SDK span ended by the hook is exported at once, without hookwire's
attributes). After the execution ends, `is_recording()` is False and writes are ignored, with
the SDK's warning.

Nothing is allocated for the recorded data until the hook first writes: a hook that writes
nothing costs one small object per call.

Example:
    >>> from opentelemetry.sdk.trace import SpanLimits, TracerProvider
    >>> from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    >>> from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    >>> from opentelemetry.trace import SpanContext, TraceFlags
    >>> exporter = InMemorySpanExporter()
    >>> provider = TracerProvider()
    >>> provider.add_span_processor(SimpleSpanProcessor(exporter))
    >>> spans = FinishedSpans.of(provider.get_tracer("hookwire"))
    >>> hook = SpanContext(1, 2, False, TraceFlags(TraceFlags.SAMPLED))
    >>> span = HookSpan(hook, "hookwire.hook audit", SpanLimits(), lambda: 5)
    >>> span.is_recording()
    True
    >>> span.set_attribute("audit.user", "ada")
    >>> span.set_attribute("hookwire.hook.name", "mine")
    >>> span.hand_on(spans, SpanContext(1, 1, False), {"hookwire.hook.name": "audit"}, 3, 4)
    >>> span.is_recording()
    False
    >>> dict(exporter.get_finished_spans()[0].attributes)
    {'audit.user': 'ada', 'hookwire.hook.name': 'audit'}
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

from hookwire.runtime.otel.spans import FinishedSpans, exception_attributes
from opentelemetry.attributes import BoundedAttributes
from opentelemetry.sdk.trace import Event, SpanLimits
from opentelemetry.sdk.util import BoundedList
from opentelemetry.trace import Link, Span, SpanContext, Status, StatusCode
from opentelemetry.util import types

__all__ = ["HookSpan"]

_logger = logging.getLogger(__name__)
_UNSET = Status(StatusCode.UNSET)
# Taken only by a span's first write, so that two threads writing at once make one record.
_FIRST_WRITE = threading.Lock()


class _Recorded:
    """What a hook recorded on its span, bounded as the SDK bounds an SDK span's."""

    __slots__ = ("attributes", "events", "limits", "links", "lock")

    def __init__(self, limits: SpanLimits) -> None:
        self.limits = limits
        self.lock = threading.Lock()
        self.attributes = BoundedAttributes(
            limits.max_span_attributes,
            immutable=False,
            max_value_len=limits.max_span_attribute_length,
        )
        self.events: BoundedList[Event] = BoundedList(limits.max_events)
        self.links: BoundedList[Link] = BoundedList(limits.max_links)


class HookSpan(Span):
    """A hook call's span while the hook runs (see the module docstring).

    `context`: the hook span's; `name`: its name until the hook updates it; `limits`: the
    provider's span limits; `now`: the tracer's clock (event timestamps)."""

    # Defaults until the hook writes (set on the instance then).
    _status: Status = _UNSET
    _recorded: _Recorded | None = None
    _ended = False

    def __init__(
        self, context: SpanContext, name: str, limits: SpanLimits, now: Callable[[], int]
    ) -> None:
        self._context = context
        self.name = name
        self._limits = limits
        self._now = now

    def __repr__(self) -> str:
        return f'HookSpan(name="{self.name}", context={self._context})'

    def get_span_context(self) -> SpanContext:
        return self._context

    def is_recording(self) -> bool:
        return not self._ended

    def _record(self, what: str) -> _Recorded | None:
        """Where a write goes, None once the span has ended (with the SDK's warning)."""
        recorded = self._recorded
        if recorded is None and not self._ended:
            with _FIRST_WRITE:
                recorded = self._recorded
                if recorded is None:
                    recorded = self._recorded = _Recorded(self._limits)
        if recorded is None or self._ended:
            _logger.warning("Tried calling %s on an ended span.", what)
            return None
        return recorded

    def set_attributes(self, attributes: Mapping[str, types.AnyValue]) -> None:
        recorded = self._record("set_attributes")
        if recorded is not None:
            with recorded.lock:
                if not self._ended:
                    for key, value in attributes.items():
                        recorded.attributes[key] = value

    def set_attribute(self, key: str, value: types.AnyValue) -> None:
        self.set_attributes({key: value})

    def add_event(
        self, name: str, attributes: types.Attributes = None, timestamp: int | None = None
    ) -> None:
        most = self._limits.max_event_attributes
        at = self._now() if timestamp is None else timestamp
        self._append("add_event", Event(name, self._frozen(most, attributes), at))

    def add_link(self, context: SpanContext, attributes: types.Attributes = None) -> None:
        # The SDK's rule: a link needs a valid context, or attributes or a trace state.
        if context and (context.is_valid or attributes or context.trace_state):
            most = self._limits.max_link_attributes
            self._append("add_link", Link(context, self._frozen(most, attributes)))

    def _frozen(self, most: int | None, attributes: types.Attributes) -> BoundedAttributes:
        """An event's or a link's attributes, bounded as the SDK bounds them."""
        return BoundedAttributes(
            most, attributes, immutable=True, max_value_len=self._limits.max_attribute_length
        )

    def _append(self, what: str, item: Event | Link) -> None:
        recorded = self._record(what)
        if recorded is not None:
            with recorded.lock:
                if not self._ended:
                    if isinstance(item, Event):
                        recorded.events.append(item)
                    else:
                        recorded.links.append(item)

    def record_exception(
        self,
        exception: BaseException,
        attributes: types.Attributes = None,
        timestamp: int | None = None,
        escaped: bool = False,
    ) -> None:
        got: dict[str, Any] = exception_attributes(exception, escaped)
        if attributes:
            got.update(attributes)
        self.add_event("exception", got, timestamp)

    def set_status(self, status: Status | StatusCode, description: str | None = None) -> None:
        if self._ended:
            _logger.warning("Tried calling %s on an ended span.", "set_status")
            return
        # The SDK's rule: an OK status stays; UNSET is never set.
        if self._status.status_code is StatusCode.OK:
            return
        if isinstance(status, Status):
            if status.status_code is not StatusCode.UNSET:
                if description is not None:
                    _logger.warning(
                        "Description %s ignored. Use either `Status` or "
                        "`(StatusCode, Description)`",
                        description,
                    )
                self._status = status
        elif status is not StatusCode.UNSET:
            self._status = Status(status, description)

    def update_name(self, name: str) -> None:
        if self._ended:
            _logger.warning("Tried calling %s on an ended span.", "update_name")
            return
        self.name = name

    def end(self, end_time: int | None = None) -> None:
        """Ignored: the hook span ends when the hook call does."""

    def hand_on(
        self,
        spans: FinishedSpans,
        parent: SpanContext,
        attributes: dict[str, Any],
        start: int,
        end: int,
        status: Status = _UNSET,
    ) -> None:
        """End recording and hand the finished hook span to `spans`: what the hook recorded,
        then hookwire's `attributes` (set after the hook's: they win on a clash) and `status`
        (unless it is UNSET or the hook set OK)."""
        self._ended = True
        recorded = self._recorded
        own = self._status
        if recorded is None and own is _UNSET:  # the hook recorded nothing (the common case)
            spans.end(self.name, self._context, parent, attributes, start, end, status)
            return
        if status.status_code is StatusCode.UNSET or own.status_code is StatusCode.OK:
            status = own
        if recorded is None:
            spans.end(self.name, self._context, parent, attributes, start, end, status)
            return
        with recorded.lock:  # a write under way lands first
            bounded = recorded.attributes
            for key, value in attributes.items():
                bounded[key] = value
        spans.end(
            self.name,
            self._context,
            parent,
            bounded,
            start,
            end,
            status,
            recorded.events,
            recorded.links,
        )
