"""Settings of a hookwire gRPC server (what `hookwire serve` exposes as flags).

Example:
    >>> ServerConfig(port=0, token="t").validated().host
    '127.0.0.1'
    >>> ServerConfig(port=70000).validated()  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    hookwire.runtime.errors.InvalidArgument: port: must be in 0..65535 ..., got 70000
"""

from __future__ import annotations

from dataclasses import dataclass

from hookwire.runtime.bus.overflow import DEFAULT_CAPACITY
from hookwire.runtime.errors import InvalidArgument
from hookwire.runtime.worker_connection.stream import (
    DEFAULT_MAX_QUEUED_BYTES,
    DEFAULT_MAX_QUEUED_MESSAGES,
)

__all__ = ["DEFAULT_MAX_MESSAGE_BYTES", "ServerConfig"]

DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """Where to listen and how to protect and bound the service.

    - `token`: require `authorization: Bearer <token>` on every RPC but health checks.
    - `tls_cert_pem` / `tls_key_pem`: serve TLS with this certificate chain and key (both or
      neither).
    - `max_message_bytes`: largest message received or sent; larger requests fail with
      RESOURCE_EXHAUSTED.
    - `max_publish_batch`: most events in one Publish; more is RESOURCE_EXHAUSTED naming `events`.
    - `default_capacity`: queue capacity of a subscription that does not ask for one.
    - `worker_queue_bytes` / `worker_queue_messages`: bound on what waits to be sent to one
      worker; a worker that stops reading its stream past it is disconnected
      (RESOURCE_EXHAUSTED) and its calls fail at once.
    - `max_hooks_per_worker`: most hooks one worker connection may register.
    - `virtual_call_guard_s`: real-time bound on a remote call made under a virtual clock.
    - `shutdown_grace_s`: how long `stop()` waits for in-flight calls and queued events.
    """

    host: str = "127.0.0.1"
    port: int = 0
    token: str | None = None
    tls_cert_pem: bytes | None = None
    tls_key_pem: bytes | None = None
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    max_publish_batch: int = 10_000
    default_capacity: int = DEFAULT_CAPACITY
    worker_queue_bytes: int = DEFAULT_MAX_QUEUED_BYTES
    worker_queue_messages: int = DEFAULT_MAX_QUEUED_MESSAGES
    max_hooks_per_worker: int = 10_000
    virtual_call_guard_s: float = 30.0
    shutdown_grace_s: float = 10.0

    def validated(self) -> ServerConfig:
        """Return self after checking every field; raises InvalidArgument naming the field."""
        if not isinstance(self.host, str) or not self.host:
            raise InvalidArgument("host", "must be a non-empty string")
        if not isinstance(self.port, int) or not 0 <= self.port <= 65535:
            raise InvalidArgument(
                "port", f"must be in 0..65535 (0 = any free port), got {self.port!r}"
            )
        if self.token is not None and (not isinstance(self.token, str) or not self.token):
            raise InvalidArgument("token", "must be a non-empty string or None")
        if (self.tls_cert_pem is None) != (self.tls_key_pem is None):
            raise InvalidArgument(
                "tls_cert_pem" if self.tls_cert_pem is None else "tls_key_pem",
                "TLS needs both a certificate chain and its private key",
            )
        if not isinstance(self.max_message_bytes, int) or self.max_message_bytes < 1024:
            raise InvalidArgument(
                "max_message_bytes", f"must be an int >= 1024, got {self.max_message_bytes!r}"
            )
        if not isinstance(self.max_publish_batch, int) or self.max_publish_batch < 1:
            raise InvalidArgument(
                "max_publish_batch", f"must be an int >= 1, got {self.max_publish_batch!r}"
            )
        for name in (
            "default_capacity",
            "worker_queue_bytes",
            "worker_queue_messages",
            "max_hooks_per_worker",
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise InvalidArgument(name, f"must be an int >= 1, got {value!r}")
        for name in ("virtual_call_guard_s", "shutdown_grace_s"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not value > 0:
                raise InvalidArgument(name, f"must be a positive number, got {value!r}")
        return self
