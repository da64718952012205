"""`hookwire` command line: run a configured server, check a configuration, operate a server.

Commands (docs/operations.md):
- `hookwire serve [--config hookwire.toml] [flags]`: the gRPC executor and event-bus service,
  with the hooks, features, bus and server settings of the file; flags override the file.
  SIGHUP re-reads the file and swaps its hooks atomically; SIGINT / SIGTERM shut down
  gracefully.
- `hookwire check-config FILE [--json]`: validate a file (schema, values, imports, Lua files)
  and exit.
- `hookwire hooks | breakers | exec | publish | tail | replay`: operator commands on the Python
  SDK (hookwire.sdk.commands).

Exit statuses: 0 ok, 1 the server (or the file) said no, 2 usage.

Example:
    $ hookwire serve --port 0 --host 127.0.0.1 --token s3cret
    hookwire serving on 127.0.0.1:41327 (insecure, token auth, uvloop)

The first line on stdout is always "hookwire serving on HOST:PORT ..." so that a parent process
started with `--port 0` can read the bound port.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import ssl
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hookwire.runtime.bus.bus import EventBus
from hookwire.runtime.clock import Clock
from hookwire.runtime.config import (
    ConfigError,
    ConfiguredHooks,
    HookwireConfig,
    configured_registry,
    declare_hooks,
    load_config,
)
from hookwire.runtime.errors import FailedPrecondition, HookwireError, InvalidArgument
from hookwire.runtime.server.config import ServerConfig
from hookwire.runtime.server.event_loop import LOOPS, loop_name, run

__all__ = ["build_parser", "main"]

_log = logging.getLogger("hookwire.cli")

# `serve` flags and the ServerConfig field each overrides (None = not given on the command line).
_SERVE_FLAGS = {
    "host": "host",
    "port": "port",
    "token": "token",
    "max_message_bytes": "max_message_bytes",
    "max_publish_batch": "max_publish_batch",
    "shutdown_grace": "shutdown_grace_s",
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the `hookwire` command."""
    from hookwire.sdk.commands import add_commands

    parser = argparse.ArgumentParser(prog="hookwire", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the gRPC executor and event-bus service")
    serve.add_argument("--config", type=Path, help="hookwire.toml: hooks, features, bus, server")
    serve.add_argument("--host", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default 50051); 0 picks a free one")
    serve.add_argument(
        "--token",
        default=os.environ.get("HOOKWIRE_TOKEN"),
        help="require 'authorization: Bearer TOKEN' (default: $HOOKWIRE_TOKEN; none = open)",
    )
    serve.add_argument("--tls-cert", type=Path, help="PEM certificate chain (enables TLS)")
    serve.add_argument("--tls-key", type=Path, help="PEM private key of --tls-cert")
    serve.add_argument("--max-message-bytes", type=int, help="largest message either way")
    serve.add_argument("--max-publish-batch", type=int, help="most events in one Publish")
    serve.add_argument("--shutdown-grace", type=float, help="seconds to drain on shutdown")
    serve.add_argument(
        "--metrics-port", type=int, help="serve Prometheus metrics on this port (hookwire[otel])"
    )
    nats = serve.add_argument_group(
        "NATS JetStream", "one event stream across hosts (docs/distributed.md; hookwire[nats])"
    )
    nats.add_argument(
        "--nats", metavar="URL", help="put the bus on JetStream at nats://HOST:PORT[,URL...]"
    )
    nats.add_argument("--nats-stream", default="HOOKWIRE", help="stream name (default HOOKWIRE)")
    nats.add_argument("--nats-creds", type=Path, help="NATS user credentials (.creds) file")
    nats.add_argument("--nats-user", help="NATS user (with --nats-password)")
    nats.add_argument("--nats-password", default=os.environ.get("HOOKWIRE_NATS_PASSWORD"))
    nats.add_argument("--nats-token", default=os.environ.get("HOOKWIRE_NATS_TOKEN"))
    nats.add_argument("--nats-tls-ca", type=Path, help="CA bundle to verify the NATS servers")
    nats.add_argument("--nats-tls-cert", type=Path, help="client certificate (PEM) for NATS")
    nats.add_argument("--nats-tls-key", type=Path, help="private key of --nats-tls-cert")
    serve.add_argument(
        "--loop",
        choices=LOOPS,
        default="auto",
        help="event loop: uvloop, asyncio, or auto = uvloop when installed (default)",
    )
    serve.set_defaults(run=None)
    check = sub.add_parser("check-config", help="validate a configuration file and exit")
    check.add_argument("file", type=Path, help="the hookwire.toml to check")
    check.add_argument("--json", action="store_true", help="print the result as JSON")
    check.set_defaults(run=None)
    add_commands(sub)
    return parser


def _read(path: Path | None, flag: str) -> bytes | None:
    if path is None:
        return None
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InvalidArgument(flag, f"cannot read {str(path)!r}: {exc.strerror}") from None


def config_from_args(args: argparse.Namespace, base: ServerConfig | None = None) -> ServerConfig:
    """ServerConfig from parsed `serve` arguments over `base` (the file's, or the defaults);
    InvalidArgument naming the flag."""
    base = base if base is not None else ServerConfig(port=50051)
    changes: dict[str, Any] = {
        field: getattr(args, flag)
        for flag, field in _SERVE_FLAGS.items()
        if getattr(args, flag, None) is not None
    }
    if args.tls_cert is not None or args.tls_key is not None:
        changes["tls_cert_pem"] = _read(args.tls_cert, "--tls-cert")
        changes["tls_key_pem"] = _read(args.tls_key, "--tls-key")
    if changes.get("token") == "":
        changes["token"] = None
    values = {f: getattr(base, f) for f in ServerConfig.__dataclass_fields__}
    values.update(changes)
    return ServerConfig(**values).validated()


def bus_from_args(
    args: argparse.Namespace,
    clock: Clock | None = None,
    rate_limit: tuple[float, int] | None = None,
) -> EventBus | None:
    """The JetStream bus of `--nats` (None without it: the file's or the in-process bus)."""
    if not getattr(args, "nats", None):
        return None
    from hookwire.runtime.bus.jetstream import JetStreamOptions, JetStreamTransport

    tls = None
    if args.nats_tls_ca or args.nats_tls_cert:
        tls = ssl.create_default_context(cafile=str(args.nats_tls_ca) if args.nats_tls_ca else None)
        if args.nats_tls_cert:
            tls.load_cert_chain(
                str(args.nats_tls_cert), args.nats_tls_key and str(args.nats_tls_key)
            )
    options = JetStreamOptions(
        stream=args.nats_stream,
        user=args.nats_user,
        password=args.nats_password,
        token=args.nats_token,
        user_credentials=str(args.nats_creds) if args.nats_creds else None,
        tls=tls,
    )
    transport = JetStreamTransport(args.nats.split(","), options)
    return EventBus(clock, rate_limit=rate_limit, transport=transport)


class _Service:
    """The running server with the configuration it was started from (reloaded on SIGHUP)."""

    def __init__(self, args: argparse.Namespace, config: HookwireConfig | None) -> None:
        from hookwire.runtime.clock import SystemClock
        from hookwire.runtime.executor import Executor
        from hookwire.runtime.hook_call import HookCalls
        from hookwire.runtime.registry import Registry
        from hookwire.runtime.server.server import HookwireServer

        self.file = config
        clock = SystemClock()
        rate_limit = config.bus.rate_limit if config is not None else None
        # --nats overrides the file's transport, as every flag overrides the file.
        bus = bus_from_args(args, clock, rate_limit)
        if bus is None:
            bus = (
                EventBus(clock, rate_limit=rate_limit, transport=config.transport(clock))
                if config is not None
                else EventBus(clock=clock)
            )
        server_cfg = config_from_args(args, config.server if config is not None else None)
        registry = Registry()
        observers, self.metrics = _observers(args, config, registry, bus)
        # HookCalls first (innermost): events hooks publish carry the hook call and the context
        # the hook received (the hook span's traceparent under tracing).
        executor = Executor(registry, clock=clock, events=bus, observers=[HookCalls(), *observers])
        self.server = HookwireServer(
            config=server_cfg, registry=registry, executor=executor, bus=bus, clock=clock
        )
        if self.metrics is not None:
            self.metrics.watch_service(self.server.executor_service)
        self.hooks = ConfiguredHooks(self.server.registry)
        if config is not None:
            self._apply(config)

    def _apply(self, config: HookwireConfig) -> None:
        declared, sandboxes = declare_hooks(config, self.server.clock, lua_bus=self.server.bus)
        self.hooks.apply(declared, config.features, path=config.path, sandboxes=sandboxes)

    def reload(self) -> None:
        """Re-read the file and swap its hooks; a bad file keeps the running ones (logged)."""
        if self.file is None:
            print("hookwire: SIGHUP ignored (no --config)", file=sys.stderr, flush=True)
            return
        try:
            config = load_config(self.file.path)
            self._apply(config)
        except HookwireError as exc:
            print(
                f"hookwire: reload failed, keeping the running configuration:\n{exc}",
                file=sys.stderr,
                flush=True,
            )
            return
        self.file = config
        print(
            f"hookwire: reloaded {config.path} ({len(self.hooks.names)} hooks; server and bus "
            "settings apply at restart)",
            flush=True,
        )


def _metrics_port(args: argparse.Namespace, config: HookwireConfig | None) -> int | None:
    port: int | None = args.metrics_port
    if port is None and config is not None:
        port = config.metrics_port
    return port


def _observers(
    args: argparse.Namespace, config: HookwireConfig | None, registry: Any, bus: Any
) -> tuple[list[Any], Any]:
    """The tracer and metrics observers OTEL_* / --metrics-port ask for (none otherwise)."""
    wants_metrics = _metrics_port(args, config) is not None
    asked = any(os.environ.get(v) for v in ("OTEL_TRACES_EXPORTER", "OTEL_METRICS_EXPORTER"))
    if not asked and not wants_metrics:
        return [], None
    try:
        from hookwire.runtime.otel.setup import configure_from_env
    except ImportError as exc:
        raise FailedPrecondition(
            "OTEL_*", f"OpenTelemetry needs the hookwire[otel] extra ({exc.name} is not installed)"
        ) from None
    setup = configure_from_env()
    observers: list[Any] = []
    if setup.traces != "none":
        from hookwire.runtime.otel.tracing import HookTracer

        observers.append(HookTracer())
    metrics = None
    if setup.metrics != "none" or wants_metrics:
        from hookwire.runtime.otel.metrics import HookMetrics

        if wants_metrics and setup.metrics in ("none", "prometheus"):
            from hookwire.runtime.otel.prometheus import install_prometheus_reader

            install_prometheus_reader()
        metrics = HookMetrics(registry=registry, bus=bus)
        observers.append(metrics)
    return observers, metrics


async def _serve(args: argparse.Namespace, config: HookwireConfig | None) -> None:
    service = _Service(args, config)
    server = service.server
    metrics_port = _metrics_port(args, config)
    metrics = None
    if metrics_port is not None:
        from hookwire.runtime.otel.prometheus import start_metrics_endpoint

        metrics = start_metrics_endpoint(
            metrics_port, config.metrics_host if config is not None else "127.0.0.1"
        )
    address = await server.start()
    cfg = server.config
    mode = "TLS" if cfg.tls_cert_pem else "insecure"
    auth = "token auth" if cfg.token else "no auth"
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    # Handlers first: a parent may send SIGTERM as soon as it has read the line below.
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGHUP, service.reload)
    print(f"hookwire serving on {address} ({mode}, {auth}, {loop_name(loop)})", flush=True)
    if metrics is not None:
        print(f"hookwire metrics on http://{metrics.address}/metrics", flush=True)
    await stop.wait()
    print("hookwire: shutting down (draining)", flush=True)
    await server.stop()
    if metrics is not None:
        metrics.close()
    # A JetStream transport holds a connection and its own thread.
    server.bus.close()


def _check_config(path: Path, as_json: bool) -> int:
    from hookwire.runtime.clock import SystemClock

    try:
        registry, hooks = configured_registry(load_config(path), SystemClock())
    except ConfigError as exc:
        if not as_json:
            raise
        errors = [{"path": e.path, "reason": e.reason} for e in exc.errors]
        print(json.dumps({"file": str(path), "ok": False, "errors": errors}))
        return 1
    points = sorted({spec.point for spec in registry.hooks()})
    if as_json:
        print(json.dumps({"file": str(path), "ok": True, "hooks": list(hooks.names)}))
    else:
        print(f"{path}: OK ({len(hooks.names)} hook(s) at {len(points)} point(s))")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `hookwire` script; returns the exit status."""
    args = build_parser().parse_args(argv)
    if args.run is not None:
        from hookwire.sdk.commands import run_command

        return run_command(args.run, args)
    try:
        if args.command == "check-config":
            return _check_config(args.file, args.json)
        config = load_config(args.config) if args.config is not None else None
        run(_serve(args, config), args.loop)
    except ConfigError as exc:
        print(f"hookwire: invalid configuration:\n{exc}", file=sys.stderr)
        return 1 if args.command == "check-config" else 2
    except HookwireError as exc:
        print(f"hookwire: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
