"""The hookwire gRPC server: executor and event-bus services, health, reflection, auth, TLS.

Start it from Python (asyncio) or with `hookwire serve`:

Example:
    >>> async def main() -> None:  # doctest: +SKIP
    ...     server = HookwireServer(config=ServerConfig(port=0, token="s3cret"))
    ...     server.registry.register(lambda ctx: None, name="noop", point="before_tool_execution")
    ...     address = await server.start()          # "127.0.0.1:43817"
    ...     ...
    ...     await server.stop()                     # drains, then exits

`ServerThread` runs one on a background thread with its own event loop, for blocking code
(tests, benchmarks, embedding in a synchronous application).

Graceful shutdown (`stop()`): the server stops accepting RPCs, waits for Execute calls in flight
(and the remote hook calls they make), ends worker streams, lets every open subscription send
what is already queued for it, and ends the streams; then the port closes. Whatever grace is
left afterwards bounds anything still running.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any

import grpc
from grpc import aio

# grpcio-health-checking ships no type stubs.
from grpc_health.v1 import health, health_pb2, health_pb2_grpc  # type: ignore[import-untyped]
from hookwire.runtime.bus.bus import EventBus
from hookwire.runtime.clock import Clock, SystemClock
from hookwire.runtime.errors import FailedPrecondition
from hookwire.runtime.executor import Executor
from hookwire.runtime.hook_call import HookCalls
from hookwire.runtime.registry import Registry
from hookwire.runtime.server.auth import TokenAuthInterceptor
from hookwire.runtime.server.config import ServerConfig
from hookwire.runtime.server.decoding import add_service
from hookwire.runtime.server.event_loop import new_event_loop
from hookwire.runtime.server.event_service import EventBusService
from hookwire.runtime.server.executor_service import ExecutorService
from hookwire.runtime.server.health import HealthService
from hookwire.runtime.server.reflection import enable_reflection
from hookwire.v1 import (
    event_service_pb2,
    executor_service_pb2,
)

__all__ = ["HookwireServer", "ServerThread"]

_SERVICES = (
    executor_service_pb2.DESCRIPTOR.services_by_name["ExecutorService"].full_name,
    event_service_pb2.DESCRIPTOR.services_by_name["EventBusService"].full_name,
)


class HookwireServer:
    """One executor (with its registry and clock) and one event bus, served over gRPC.

    Pass your own `registry` / `executor` / `bus` to serve them; anything not given is created
    (the executor publishes breaker transitions and executions on the bus).
    """

    def __init__(
        self,
        *,
        config: ServerConfig | None = None,
        registry: Registry | None = None,
        executor: Executor | None = None,
        bus: EventBus | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.config = (config or ServerConfig()).validated()
        self.clock: Clock = clock or SystemClock()
        self.bus = bus if bus is not None else EventBus(clock=self.clock)
        self.registry = registry if registry is not None else Registry()
        self.executor = (
            executor
            if executor is not None
            else Executor(self.registry, clock=self.clock, events=self.bus, observers=[HookCalls()])
        )
        self.executor_service = ExecutorService(
            self.registry, self.executor, self.clock, bus=self.bus, config=self.config
        )
        self.event_service = EventBusService(
            self.bus,
            max_publish_batch=self.config.max_publish_batch,
            default_capacity=self.config.default_capacity,
        )
        self._health = HealthService()
        self._server: aio.Server | None = None
        self._port = 0

    @property
    def port(self) -> int:
        """The bound port (after `start()`)."""
        return self._port

    @property
    def address(self) -> str:
        """ "host:port" clients connect to (after `start()`)."""
        return f"{self.config.host}:{self._port}"

    @property
    def health(self) -> HealthService:
        """The grpc.health.v1 service (set a status with `await server.health.set(name, s)`)."""
        return self._health

    @property
    def tls(self) -> bool:
        return self.config.tls_cert_pem is not None

    async def start(self) -> str:
        """Bind and start serving; returns the bound "host:port"."""
        if self._server is not None:
            raise FailedPrecondition("server", "already started")
        cfg = self.config
        interceptors = [TokenAuthInterceptor(cfg.token)] if cfg.token else []
        server = aio.server(
            interceptors=interceptors,
            options=[
                ("grpc.max_send_message_length", cfg.max_message_bytes),
                ("grpc.max_receive_message_length", cfg.max_message_bytes),
                ("grpc.so_reuseport", 0),
            ],
        )
        # Undecodable requests: INVALID_ARGUMENT naming the bad field (decoding.py).
        add_service(
            server,
            executor_service_pb2.DESCRIPTOR.services_by_name["ExecutorService"],
            self.executor_service,
        )
        self.event_service.add_to_server(server)
        health_pb2_grpc.add_HealthServicer_to_server(self._health, server)
        enable_reflection((*_SERVICES, health.SERVICE_NAME), server)
        bind = f"{cfg.host}:{cfg.port}"
        if cfg.tls_cert_pem is not None and cfg.tls_key_pem is not None:
            creds = grpc.ssl_server_credentials([(cfg.tls_key_pem, cfg.tls_cert_pem)])
            self._port = server.add_secure_port(bind, creds)
        else:
            self._port = server.add_insecure_port(bind)
        if self._port == 0:
            raise FailedPrecondition("port", f"could not bind {bind}")
        await server.start()
        self._server = server
        for name in ("", *_SERVICES):
            await self._health.set(name, health_pb2.HealthCheckResponse.SERVING)
        return self.address

    async def stop(self, grace_s: float | None = None) -> None:
        """Graceful shutdown (see the module docstring); idempotent."""
        server = self._server
        if server is None:
            return
        self._server = None
        grace = self.config.shutdown_grace_s if grace_s is None else grace_s
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        await self._health.enter_graceful_shutdown()
        # Stop accepting new RPCs at once; running ones carry on while we drain them.
        stopping = asyncio.create_task(server.stop(grace))
        await asyncio.sleep(0)
        await self.executor_service.drain(max(deadline - loop.time(), 0.0))
        await self.event_service.drain(max(deadline - loop.time(), 0.0))
        await stopping

    async def __aenter__(self) -> HookwireServer:
        await self.start()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()


class ServerThread:
    """A HookwireServer on its own thread and event loop, driven from blocking code.

    Example:
        >>> with ServerThread(config=ServerConfig(port=0)) as st:  # doctest: +SKIP
        ...     st.address
        '127.0.0.1:40123'
    """

    def __init__(
        self,
        setup: Callable[[HookwireServer], None] | None = None,
        *,
        loop: str = "auto",
        **kwargs: Any,
    ) -> None:
        self._kwargs = kwargs
        self._setup = setup
        # uvloop when installed, as `hookwire serve` (see event_loop.py).
        self.loop = new_event_loop(loop)
        self._thread = threading.Thread(
            target=self.loop.run_forever, daemon=True, name="hookwire-server"
        )
        self.server: HookwireServer | None = None
        self.address = ""

    def start(self) -> str:
        """Start the loop thread and the server; returns its address."""
        self._thread.start()

        async def create() -> str:
            self.server = HookwireServer(**self._kwargs)
            if self._setup is not None:
                self._setup(self.server)
            return await self.server.start()

        self.address = self.run(create())
        return self.address

    def run(self, coro: Any, timeout: float | None = 30.0) -> Any:
        """Run a coroutine on the server's loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def call(self, fn: Callable[[], Any]) -> Any:
        """Run a plain function on the server's loop thread (registry changes, reads)."""

        async def wrapper() -> Any:
            return fn()

        return self.run(wrapper())

    def stop(self, grace_s: float | None = None) -> None:
        """Stop the server gracefully, then the loop and its thread."""
        if self.server is not None:
            self.run(self.server.stop(grace_s), timeout=None)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()

    def __enter__(self) -> ServerThread:
        self.start()
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
