"""`hookwire` command line: `hookwire serve` runs the gRPC executor and event-bus service.

Example:
    $ hookwire serve --port 0 --host 127.0.0.1 --token s3cret
    hookwire serving on 127.0.0.1:41327 (insecure, token auth, uvloop)

The first line on stdout is always "hookwire serving on HOST:PORT ..." so that a parent process
started with `--port 0` can read the bound port. SIGINT / SIGTERM shut down gracefully.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import ssl
import sys
from collections.abc import Sequence
from pathlib import Path

from hookwire.runtime.bus.bus import EventBus
from hookwire.runtime.errors import HookwireError, InvalidArgument
from hookwire.runtime.server.config import DEFAULT_MAX_MESSAGE_BYTES, ServerConfig
from hookwire.runtime.server.event_loop import LOOPS, loop_name, run

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the `hookwire` command."""
    parser = argparse.ArgumentParser(prog="hookwire", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the gRPC executor and event-bus service")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=50051, help="port; 0 picks a free one")
    serve.add_argument(
        "--token",
        default=os.environ.get("HOOKWIRE_TOKEN"),
        help="require 'authorization: Bearer TOKEN' (default: $HOOKWIRE_TOKEN; none = open)",
    )
    serve.add_argument("--tls-cert", type=Path, help="PEM certificate chain (enables TLS)")
    serve.add_argument("--tls-key", type=Path, help="PEM private key of --tls-cert")
    serve.add_argument(
        "--max-message-bytes",
        type=int,
        default=DEFAULT_MAX_MESSAGE_BYTES,
        help=f"largest message in either direction (default {DEFAULT_MAX_MESSAGE_BYTES})",
    )
    serve.add_argument(
        "--max-publish-batch", type=int, default=10_000, help="most events in one Publish"
    )
    serve.add_argument(
        "--shutdown-grace", type=float, default=10.0, help="seconds to drain on shutdown"
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
    return parser


def _read(path: Path | None, flag: str) -> bytes | None:
    if path is None:
        return None
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InvalidArgument(flag, f"cannot read {str(path)!r}: {exc.strerror}") from None


def config_from_args(args: argparse.Namespace) -> ServerConfig:
    """ServerConfig from parsed `serve` arguments (InvalidArgument naming the flag)."""
    return ServerConfig(
        host=args.host,
        port=args.port,
        token=args.token or None,
        tls_cert_pem=_read(args.tls_cert, "--tls-cert"),
        tls_key_pem=_read(args.tls_key, "--tls-key"),
        max_message_bytes=args.max_message_bytes,
        max_publish_batch=args.max_publish_batch,
        shutdown_grace_s=args.shutdown_grace,
    ).validated()


def bus_from_args(args: argparse.Namespace) -> EventBus | None:
    """The JetStream bus of `--nats` (None without it: the server's in-process bus)."""
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
    return EventBus(transport=JetStreamTransport(args.nats.split(","), options))


async def _serve(config: ServerConfig, bus: EventBus | None = None) -> None:
    from hookwire.runtime.server.server import HookwireServer

    server = HookwireServer(config=config, bus=bus)
    address = await server.start()
    mode = "TLS" if config.tls_cert_pem else "insecure"
    auth = "token auth" if config.token else "no auth"
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    # Handlers first: a parent may send SIGTERM as soon as it has read the line below.
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(f"hookwire serving on {address} ({mode}, {auth}, {loop_name(loop)})", flush=True)
    await stop.wait()
    print("hookwire: shutting down (draining)", flush=True)
    await server.stop()
    if bus is not None:
        bus.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `hookwire` script; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        config = config_from_args(args)
        run(_serve(config, bus_from_args(args)), args.loop)
    except HookwireError as exc:
        print(f"hookwire: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
