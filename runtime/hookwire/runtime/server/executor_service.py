"""hookwire.v1.ExecutorService over the in-process executor: Execute, Connect (remote workers),
ListHooks, GetBreakerState, ResetBreaker.

Remote hooks are registered in the same Registry as local ones (with a RemoteHookAdapter), so
they take their place in the same chains, by priority and registration order.

Events a worker's hooks publish arrive as `WorkerMessage.publish` frames on the worker's own
stream and are published on `bus` before any later message of that stream is read: an event a
hook publishes during a call gets its sequence before that call's result is applied. Refused
batches (invalid event, rate limit, no bus) are logged and counted in `publish_errors`.

Example (how the server wires it):
    >>> from hookwire.runtime.clock import VirtualClock
    >>> from hookwire.runtime.executor import Executor
    >>> from hookwire.runtime.registry import Registry
    >>> registry = Registry()
    >>> clock = VirtualClock()
    >>> service = ExecutorService(registry, Executor(registry, clock=clock), clock)
    >>> service.in_flight
    0
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any

import grpc
from grpc import aio
from hookwire.runtime.breaker import CircuitBreaker
from hookwire.runtime.bus.bus import EventBus
from hookwire.runtime.clock import Clock
from hookwire.runtime.errors import (
    FailedPrecondition,
    HookwireError,
    InvalidArgument,
    NotFound,
)
from hookwire.runtime.executor import Executor
from hookwire.runtime.registry import Registry
from hookwire.runtime.server.config import ServerConfig
from hookwire.runtime.server.decoding import Undecodable, note_undecodable
from hookwire.runtime.server.remote_adapter import RemoteHookAdapter
from hookwire.runtime.server.status import abort_with, status_code_named
from hookwire.runtime.wire.context import context_from_proto
from hookwire.runtime.wire.enums import language_from_proto, point_from_proto
from hookwire.runtime.wire.metadata import apply_to_context, read_metadata
from hookwire.runtime.wire.registration import (
    breaker_status_to_proto,
    spec_to_proto,
)
from hookwire.runtime.wire.trace import execution_to_proto
from hookwire.runtime.worker_connection.connection import publish_events
from hookwire.runtime.worker_connection.stream import (
    StreamConnection,
)
from hookwire.v1 import common_pb2, event_pb2, hook_pb2
from hookwire.v1 import executor_service_pb2 as es
from hookwire.v1 import executor_service_pb2_grpc as es_grpc

__all__ = ["ExecutorService"]

_log = logging.getLogger(__name__)
_Ctx = aio.ServicerContext[Any, Any]
_CONNECT = "/hookwire.v1.ExecutorService/Connect"
# Hooks validated between two turns of the event loop during a registration.


class ExecutorService(es_grpc.ExecutorServiceServicer):
    """The ExecutorService servicer; `drain()` is half of `HookwireServer.stop`."""

    def __init__(
        self,
        registry: Registry,
        executor: Executor,
        clock: Clock,
        *,
        bus: EventBus | None = None,
        config: ServerConfig | None = None,
    ) -> None:
        """`config`: the server's; this service reads its worker bounds (`worker_queue_bytes`,
        `worker_queue_messages`, `max_hooks_per_worker`, `virtual_call_guard_s`)."""
        if config is None:
            config = ServerConfig()
        self._registry = registry
        self._bus = bus
        self._publish_errors = 0
        self._executor = executor
        # What every worker's connection shares (the rest comes with the worker's hello).
        self._new_connection = functools.partial(
            StreamConnection,
            clock=clock,
            virtual_call_guard_s=config.virtual_call_guard_s,
            max_queued_bytes=config.worker_queue_bytes,
            max_queued_messages=config.worker_queue_messages,
        )
        self._max_hooks = config.max_hooks_per_worker
        self._connections: dict[str, StreamConnection] = {}
        self._connection_ids = itertools.count(1)
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._draining = False

    @property
    def in_flight(self) -> int:
        """Execute calls running now."""
        return self._in_flight

    @property
    def bus(self) -> EventBus | None:
        """Where workers' publish frames go (None: refused, counted in `publish_errors`)."""
        return self._bus

    @bus.setter
    def bus(self, bus: EventBus | None) -> None:
        self._bus = bus

    @property
    def publish_errors(self) -> int:
        """Worker publish frames refused so far (each logged with its reason)."""
        return self._publish_errors

    @property
    def connections(self) -> dict[str, StreamConnection]:
        """Connected workers by connection id."""
        return dict(self._connections)

    # -- Execute ----------------------------------------------------------------------------

    async def Execute(self, request: es.ExecuteRequest, context: _Ctx) -> es.ExecuteResponse:
        self._in_flight += 1
        self._idle.clear()
        try:
            if not request.HasField("context"):
                raise InvalidArgument("context", "is required (the point is context.point)")
            ctx_pb = request.context
            apply_to_context(ctx_pb, read_metadata(context.invocation_metadata()))
            ctx = context_from_proto(ctx_pb)
            remaining = context.time_remaining()
            if remaining is None:
                # No deadline: no timeout scope to set up and tear down on every call.
                execution = await self._executor.aexecute(ctx.point, ctx)
            else:
                try:
                    async with asyncio.timeout(remaining):
                        execution = await self._executor.aexecute(ctx.point, ctx)
                except TimeoutError:
                    await context.abort(
                        grpc.StatusCode.DEADLINE_EXCEEDED,
                        f"execute {ctx.point}: the call's deadline passed before the chain "
                        "finished",
                    )
            return es.ExecuteResponse(execution=execution_to_proto(execution))
        except HookwireError as exc:
            await abort_with(context, exc)
        finally:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._idle.set()

    # -- Connect (remote workers) -----------------------------------------------------------

    async def Connect(
        self, request_iterator: AsyncIterator[es.WorkerMessage | Undecodable], context: _Ctx
    ) -> AsyncIterator[es.ExecutorMessage]:
        if self._draining:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "the server is shutting down")
        try:
            first = await anext(aiter(request_iterator))
        except StopAsyncIteration:
            return
        if isinstance(first, Undecodable):
            note_undecodable(_CONNECT, first)
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"message 0: {first}")
        got = first.WhichOneof("message")
        if got != "hello":
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"message: the first WorkerMessage must be hello, got {got}",
            )
        hello = first.hello
        try:
            language = language_from_proto(hello.language, "hello.language") or "python"
            if not hello.worker_id:
                raise InvalidArgument("hello.worker_id", "must be a non-empty string")
            connection = self._new_connection(
                f"conn-{next(self._connection_ids)}",
                hello.worker_id,
                language,
                virtual=hello.virtual_clock,
                batching=hello.batching,
            )
        except HookwireError as exc:
            await abort_with(context, exc)
        connection.bind_loop(asyncio.get_running_loop())
        connection.on_failure = lambda reason: self._disconnect(connection, reason)
        self._connections[connection.connection_id] = connection
        connection.send(
            # batching=True: this executor accepts result_batch from any worker.
            es.ExecutorMessage(
                welcome=es.WorkerWelcome(
                    connection_id=connection.connection_id, batching=True, publish_acks=True
                )
            )
        )
        reader = asyncio.create_task(self._read_worker(connection, request_iterator))
        try:
            async for message in connection.outgoing():
                yield message
        finally:
            reader.cancel()
            self._disconnect(connection, f"worker {connection.worker_id!r} disconnected")
        if connection.failure is not None:
            code, reason = connection.failure
            await context.abort(status_code_named(code), reason)

    async def _read_worker(
        self,
        connection: StreamConnection,
        request_iterator: AsyncIterator[es.WorkerMessage | Undecodable],
    ) -> None:
        reason = f"worker {connection.worker_id!r} disconnected"
        index = 0
        try:
            async for message in request_iterator:
                index += 1
                if isinstance(message, Undecodable):
                    note_undecodable(_CONNECT, message)
                    # The worker is broken: end its stream, naming the bad message.
                    connection.fail("INVALID_ARGUMENT", f"message {index}: {message}")
                    break
                if connection.take_results(message):
                    continue
                kind = message.WhichOneof("message")
                if kind == "register":
                    ack = await self._register(connection, message.register)
                    connection.send(es.ExecutorMessage(register_ack=ack))
                elif kind == "unregister":
                    ack = connection.unregister(self._registry, message.unregister)
                    connection.send(es.ExecutorMessage(register_ack=ack))
                elif kind == "publish":
                    # Awaited before the next message is read: stream order is bus order.
                    await self._publish(connection, message.publish.events)
                elif kind == "sequenced_publish":
                    req = message.sequenced_publish
                    answer = await self._publish(connection, req.events)
                    answer.request_id = req.request_id
                    connection.send(es.ExecutorMessage(publish_ack=answer))
                else:
                    _log.warning("worker %s sent an unexpected %s", connection.worker_id, kind)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the stream broke (peer gone, RST): same as a disconnect
            reason = f"worker {connection.worker_id!r} disconnected: {exc}"
        # Hooks go away and in-flight calls fail the moment the worker's side ends.
        self._disconnect(connection, reason)

    async def _publish(
        self, connection: StreamConnection, pbs: Sequence[event_pb2.UniversalEvent]
    ) -> es.PublishAck:
        """Publish a worker's events on the bus, or log and count why not; the outcome as the
        PublishAck a sequenced publish is answered with."""
        try:
            if self._bus is None:
                raise FailedPrecondition("publish", "this executor serves no event bus")
            published = await self._bus.apublish_batch(publish_events(pbs, connection.language))
        except HookwireError as exc:
            self._publish_errors += 1
            _log.warning(
                "worker %s: %d published event(s) refused: %s",
                connection.worker_id,
                len(pbs),
                exc,
            )
            return es.PublishAck(error=str(exc), code=exc.code)
        return es.PublishAck(sequences=[e.sequence for e in published])

    def _disconnect(self, connection: StreamConnection, reason: str) -> None:
        if self._connections.pop(connection.connection_id, None) is None and connection.closed:
            return
        connection.unregister_all(self._registry)
        connection.close(reason)

    async def _register(
        self, connection: StreamConnection, request: es.RegisterHooks
    ) -> es.RegisterHooksAck:
        """All or nothing (`WorkerConnection.registration`); the event loop runs between its
        slices, so a registration of thousands of hooks never stalls other RPCs and the hooks
        of a large request become callable slice by slice."""
        steps = connection.registration(
            self._registry,
            request,
            lambda spec: RemoteHookAdapter(connection, spec.name, spec.language),
            max_hooks=self._max_hooks,
        )
        while True:
            try:
                next(steps)
            except StopIteration as done:
                ack: es.RegisterHooksAck = done.value[0]
                return ack
            await asyncio.sleep(0)

    # -- Hooks and breakers -----------------------------------------------------------------

    async def ListHooks(self, request: es.ListHooksRequest, context: _Ctx) -> es.ListHooksResponse:
        try:
            point = (
                point_from_proto(request.point, request.custom_point, "point")
                if request.point != hook_pb2.HOOK_POINT_UNSPECIFIED
                else None
            )
            language = (
                language_from_proto(request.language, "language")
                if request.language != common_pb2.LANGUAGE_UNSPECIFIED
                else None
            )
            specs = self._registry.hooks(point=point, language=language)
            wanted = set(request.tags)
            hooks = [spec_to_proto(s) for s in specs if wanted <= set(s.tags)]
            return es.ListHooksResponse(hooks=hooks)
        except HookwireError as exc:
            await abort_with(context, exc)

    async def GetBreakerState(
        self, request: es.GetBreakerStateRequest, context: _Ctx
    ) -> es.GetBreakerStateResponse:
        try:
            states = self._executor.breaker_states()
            names = list(request.hook_names) or sorted(states)
            out = []
            for i, name in enumerate(names):
                status = states.get(name)
                if status is None:  # e.g. registered since; "guard/flaky": a composite's child
                    status = self._breaker(name, f"hook_names[{i}]").status()
                out.append(breaker_status_to_proto(name, status))
            return es.GetBreakerStateResponse(breakers=out)
        except HookwireError as exc:
            await abort_with(context, exc)

    def _breaker(self, name: str, field: str) -> CircuitBreaker:
        """The breaker of hook `name` (or of a composite's child by qualified name,
        "guard/flaky"); NotFound naming the request's `field` when there is none."""
        try:
            return self._executor.breaker(name)
        except NotFound:
            raise NotFound(field, f"no hook named {name!r}") from None

    async def ResetBreaker(
        self, request: es.ResetBreakerRequest, context: _Ctx
    ) -> es.ResetBreakerResponse:
        try:
            if not request.hook_name:
                raise InvalidArgument("hook_name", "is required")
            self._breaker(request.hook_name, "hook_name")
            self._executor.reset_breaker(request.hook_name)
            status = self._executor.breaker(request.hook_name).status()
            return es.ResetBreakerResponse(
                breaker=breaker_status_to_proto(request.hook_name, status)
            )
        except HookwireError as exc:
            await abort_with(context, exc)

    # -- Shutdown ---------------------------------------------------------------------------

    async def drain(self, timeout_s: float) -> None:
        """Wait (up to `timeout_s`) for running Execute calls, then end every worker stream."""
        self._draining = True
        try:
            async with asyncio.timeout(timeout_s):
                await self._idle.wait()
        except TimeoutError:
            _log.warning("%d execute call(s) still running at shutdown", self._in_flight)
        for connection in list(self._connections.values()):
            self._disconnect(connection, "the server is shutting down")
