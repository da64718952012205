"""A Prometheus scrape endpoint for the OpenTelemetry metrics (`hookwire serve --metrics-port`).

Needs the `hookwire[otel]` extra (opentelemetry-sdk and opentelemetry-exporter-prometheus).
"""

from __future__ import annotations

from typing import Any

from hookwire.runtime.errors import FailedPrecondition

__all__ = ["MetricsEndpoint", "install_prometheus_reader", "start_metrics_endpoint"]


class MetricsEndpoint:
    """The running HTTP endpoint; `close()` stops it."""

    def __init__(self, server: Any, thread: Any, host: str) -> None:
        self._server = server
        self._thread = thread
        self.host = host
        self.port: int = server.server_port

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


def install_prometheus_reader() -> None:
    """Make the global MeterProvider one that the Prometheus endpoint reads (OTEL_* resource
    settings); FailedPrecondition naming the missing package without the extra."""
    try:
        from opentelemetry import metrics
        from opentelemetry.exporter.prometheus import PrometheusMetricReader
        from opentelemetry.sdk.metrics import MeterProvider
    except ImportError as exc:
        raise FailedPrecondition(
            "metrics_port", f"needs the hookwire[otel] extra ({exc.name} is not installed)"
        ) from None
    from hookwire.runtime.otel.setup import resource

    reader = PrometheusMetricReader()
    metrics.set_meter_provider(MeterProvider(resource=resource(), metric_readers=[reader]))


def start_metrics_endpoint(port: int, host: str = "127.0.0.1") -> MetricsEndpoint:
    """Serve `/metrics` on host:port (0 = a free port) for the PrometheusMetricReader
    (`install_prometheus_reader`)."""
    try:
        from prometheus_client import start_http_server
    except ImportError as exc:
        raise FailedPrecondition(
            "metrics_port", f"needs the hookwire[otel] extra ({exc.name} is not installed)"
        ) from None
    server, thread = start_http_server(port, addr=host)
    return MetricsEndpoint(server, thread, host)
