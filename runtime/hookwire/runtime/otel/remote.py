"""The span a remote worker starts around one hook call, when OpenTelemetry is installed and
configured in the worker's process: `hookwire.hook <name>`, a child of the executor's hook span
(the call context's traceparent). Without the OpenTelemetry API, or with no SDK configured,
`remote_hook_span` is a no-op context manager. Events a hook publishes inside it carry its
span's context (`current_traceparent`).

Example:
    >>> from opentelemetry.sdk.trace import TracerProvider
    >>> provider = TracerProvider()
    >>> tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    >>> with remote_hook_span("audit", tp, provider=provider) as span:
    ...     hex(span.parent.span_id)
    '0xb7ad6b7169203331'
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import Any

try:
    from opentelemetry import trace
    from opentelemetry.trace import ProxyTracerProvider
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    _PROPAGATOR: Any = TraceContextTextMapPropagator()
except ImportError:  # the hookwire[otel] extra is not installed
    trace = None  # type: ignore[assignment]

__all__ = ["current_traceparent", "remote_hook_span"]


def remote_hook_span(
    hook_name: str, traceparent: str, *, language: str = "python", provider: Any = None
) -> AbstractContextManager[Any]:
    """A context manager running one hook call in its span (None when not traced)."""
    if trace is None:
        return nullcontext()
    if provider is None:
        provider = trace.get_tracer_provider()
        if isinstance(provider, ProxyTracerProvider):
            return nullcontext()
    parent = _PROPAGATOR.extract({"traceparent": traceparent}) if traceparent else None
    return provider.get_tracer("hookwire").start_as_current_span(  # type: ignore[no-any-return]
        f"hookwire.hook {hook_name}",
        context=parent,
        attributes={"hookwire.hook.name": hook_name, "hookwire.hook.language": language},
    )


def current_traceparent() -> str:
    """The W3C traceparent of the current OpenTelemetry span ("" when there is none, or no
    OpenTelemetry): what an event published from inside a traced hook carries.

    Example:
        >>> current_traceparent()
        ''
    """
    if trace is None:
        return ""
    sc = trace.get_current_span().get_span_context()
    if not sc.is_valid:
        return ""
    return f"00-{sc.trace_id:032x}-{sc.span_id:016x}-{sc.trace_flags:02x}"
