"""Configure the OpenTelemetry SDK from the standard OTEL_* environment variables.

`configure_from_env()` is what `hookwire serve` calls at start:
- `OTEL_TRACES_EXPORTER`: `console` (spans printed as JSON on stdout), `otlp` (needs
  opentelemetry-exporter-otlp), or `none` / unset (no tracing);
- `OTEL_METRICS_EXPORTER`: `console`, `otlp`, `prometheus` (see `--metrics-port`), or `none`;
- `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`: the resource (service.name defaults to
  "hookwire"); `OTEL_EXPORTER_OTLP_ENDPOINT` etc. are read by the OTLP exporters themselves.

Without the `hookwire[otel]` extra, asking for an exporter is an error naming the package.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hookwire.runtime.errors import FailedPrecondition, InvalidArgument

__all__ = ["OtelSetup", "configure_from_env", "resource"]


def resource() -> Any:
    """The SDK Resource from OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES (default service
    name "hookwire")."""
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource

    res = Resource.create()
    if not os.environ.get("OTEL_SERVICE_NAME") and "service.name=" not in os.environ.get(
        "OTEL_RESOURCE_ATTRIBUTES", ""
    ):
        res = res.merge(Resource({SERVICE_NAME: "hookwire"}))
    return res


@dataclass(frozen=True, slots=True)
class OtelSetup:
    """What was configured."""

    traces: str = "none"
    metrics: str = "none"


def _need(exc: ImportError, var: str) -> FailedPrecondition:
    return FailedPrecondition(var, f"needs the hookwire[otel] extra ({exc.name} is not installed)")


def _otlp(module: str, name: str, var: str) -> Any:
    """An OTLP exporter class (an optional package beyond the extra)."""
    try:
        mod = importlib.import_module(f"opentelemetry.exporter.otlp.proto.grpc.{module}")
    except ImportError as exc:
        raise FailedPrecondition(
            var, f"otlp needs opentelemetry-exporter-otlp ({exc.name} is not installed)"
        ) from None
    return getattr(mod, name)


def configure_from_env(env: Mapping[str, str] | None = None) -> OtelSetup:
    """Install a TracerProvider / MeterProvider as the OTEL_* variables ask (see module doc)."""
    env = os.environ if env is None else env
    traces = env.get("OTEL_TRACES_EXPORTER", "none").strip().lower() or "none"
    metrics = env.get("OTEL_METRICS_EXPORTER", "none").strip().lower() or "none"
    if traces not in ("none", "console", "otlp"):
        raise InvalidArgument(
            "OTEL_TRACES_EXPORTER", f"must be console, otlp or none, got {traces!r}"
        )
    if metrics not in ("none", "console", "otlp", "prometheus"):
        raise InvalidArgument(
            "OTEL_METRICS_EXPORTER", f"must be console, otlp, prometheus or none, got {metrics!r}"
        )
    if traces != "none":
        try:
            from opentelemetry import trace
            from opentelemetry.sdk.trace import TracerProvider
            from opentelemetry.sdk.trace.export import (
                BatchSpanProcessor,
                ConsoleSpanExporter,
                SimpleSpanProcessor,
            )
        except ImportError as exc:
            raise _need(exc, "OTEL_TRACES_EXPORTER") from None
        provider = TracerProvider(resource=resource())
        if traces == "console":
            # Printed as each span ends: the console exporter is for reading and tests.
            provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
        else:
            exporter_cls = _otlp("trace_exporter", "OTLPSpanExporter", "OTEL_TRACES_EXPORTER")
            provider.add_span_processor(BatchSpanProcessor(exporter_cls()))
        trace.set_tracer_provider(provider)
    if metrics in ("console", "otlp"):
        try:
            from opentelemetry import metrics as otel_metrics
            from opentelemetry.sdk.metrics import MeterProvider
            from opentelemetry.sdk.metrics.export import (
                ConsoleMetricExporter,
                PeriodicExportingMetricReader,
            )
        except ImportError as exc:
            raise _need(exc, "OTEL_METRICS_EXPORTER") from None
        if metrics == "console":
            exporter: Any = ConsoleMetricExporter()
        else:
            exporter = _otlp("metric_exporter", "OTLPMetricExporter", "OTEL_METRICS_EXPORTER")()
        reader = PeriodicExportingMetricReader(exporter)
        otel_metrics.set_meter_provider(MeterProvider(resource=resource(), metric_readers=[reader]))
    return OtelSetup(traces, metrics)
