"""OpenTelemetry for hookwire (the `hookwire[otel]` extra): execution and hook spans, hook,
breaker, bus and worker metrics, and a Prometheus scrape endpoint (docs/operations.md)."""
