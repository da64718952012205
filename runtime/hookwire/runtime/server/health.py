"""grpc.health.v1.Health for the hookwire server: Check, and Watch streams that end at shutdown.

grpcio's reference servicer keeps every Watch stream open until the client leaves, so one open
Watch (what gRPC client-side health checking keeps) holds a graceful shutdown for its whole
grace period. Here `enter_graceful_shutdown()` sends NOT_SERVING to every watcher and then ends
their streams with OK, at the start of shutdown.

Example:
    >>> import asyncio
    >>> async def main() -> int:
    ...     health = HealthService()
    ...     await health.set("", health_pb2.HealthCheckResponse.SERVING)
    ...     return health.status("")
    >>> asyncio.run(main()) == health_pb2.HealthCheckResponse.SERVING
    True
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import grpc
from grpc import aio

# grpcio-health-checking ships no type stubs.
from grpc_health.v1 import health_pb2, health_pb2_grpc  # type: ignore[import-untyped]

__all__ = ["HealthService"]

_Ctx = aio.ServicerContext[Any, Any]


class HealthService(health_pb2_grpc.HealthServicer):  # type: ignore[misc]
    """Serving status by service name ("" = the whole server)."""

    def __init__(self) -> None:
        self._status: dict[str, int] = {"": health_pb2.HealthCheckResponse.SERVING}
        self._changed = asyncio.Event()
        self._ended = False
        self._watchers = 0
        self._no_watchers = asyncio.Event()
        self._no_watchers.set()

    def status(self, service: str) -> int:
        """The status of `service` (SERVICE_UNKNOWN when never set)."""
        return int(self._status.get(service, health_pb2.HealthCheckResponse.SERVICE_UNKNOWN))

    async def set(self, service: str, status: int) -> None:
        """Set a service's status (ignored once shutdown started)."""
        if not self._ended:
            self._status[service] = status
            self._notify()

    async def enter_graceful_shutdown(self, timeout_s: float = 1.0) -> None:
        """Everything NOT_SERVING for good; every Watch stream sends it and ends. Returns once
        they ended (at most `timeout_s`), so that they end before the server stops."""
        for service in self._status:
            self._status[service] = health_pb2.HealthCheckResponse.NOT_SERVING
        self._ended = True
        self._notify()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                await self._no_watchers.wait()

    def _notify(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def Check(
        self, request: health_pb2.HealthCheckRequest, context: _Ctx
    ) -> health_pb2.HealthCheckResponse:
        status = self._status.get(request.service)
        if status is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"unknown service {request.service!r}")
        return health_pb2.HealthCheckResponse(status=status)

    async def Watch(self, request: health_pb2.HealthCheckRequest, context: _Ctx) -> None:
        self._watchers += 1
        self._no_watchers.clear()
        try:
            last = None
            while True:
                changed = self._changed
                status = self.status(request.service)
                if status != last:
                    await context.write(health_pb2.HealthCheckResponse(status=status))
                    last = status
                    continue  # the status may have changed while the write waited
                if self._ended:
                    return  # shutdown: NOT_SERVING was sent, the stream ends with OK
                await changed.wait()
        finally:
            self._watchers -= 1
            if not self._watchers:
                self._no_watchers.set()
