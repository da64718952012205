"""`bus.transport = "nats"`: the bus on NATS JetStream, built from the file's `[bus.nats]` table.

Imported the first time a configuration names the transport (`TRANSPORT_MODULES`); without the
`hookwire[nats]` extra the import fails and the file is refused, naming `bus.transport`.
Secrets never stand in the file: `password_env` and `token_env` name environment variables.

Example (`hookwire.toml`):

    [bus]
    transport = "nats"
    [bus.nats]
    servers = ["nats://127.0.0.1:4222"]
    stream = "HOOKWIRE"
    token_env = "HOOKWIRE_NATS_TOKEN"
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import nats  # noqa: F401  (fails without the hookwire[nats] extra, naming the package)
from hookwire.runtime.bus.jetstream import DEFAULT_STREAM, JetStreamOptions, JetStreamTransport
from hookwire.runtime.bus.transport import Transport
from hookwire.runtime.clock import Clock
from hookwire.runtime.config.file import BusSettings, register_transport
from hookwire.runtime.errors import InvalidArgument

__all__ = ["nats_transport"]

DEFAULT_SERVERS = ("nats://127.0.0.1:4222",)


def _secret(table: Mapping[str, Any], key: str) -> str | None:
    name = table.get(key)
    if name is None:
        return None
    value = os.environ.get(name)
    if value is None:
        raise InvalidArgument(f"bus.nats.{key}", f"the environment variable {name} is not set")
    return value


def nats_transport(settings: BusSettings, clock: Clock) -> Transport:
    """The JetStream transport `[bus.nats]` describes (connects, and creates the stream if
    absent)."""
    table = settings.nats
    options = JetStreamOptions(
        stream=table.get("stream", DEFAULT_STREAM),
        user=table.get("user"),
        password=_secret(table, "password_env"),
        token=_secret(table, "token_env"),
        user_credentials=table.get("creds"),
    )
    return JetStreamTransport(list(table.get("servers", DEFAULT_SERVERS)), options)


register_transport("nats", nats_transport)
