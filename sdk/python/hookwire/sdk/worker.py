"""A remote worker: serve Python hooks to a hookwire executor over its Connect stream.

Hooks are registered exactly as in-process (the worker holds an ordinary Registry, so
`worker.register(...)` and `@worker.hook(...)` take the same arguments and validate the same
way); `start()` connects, says hello, registers every hook and waits for the executor's ack.
Calls arrive multiplexed on the stream and are answered by call id; coroutine hooks run
concurrently and are cancelled when the executor gives up on them (CancelCall). If the
connection drops, the worker reconnects with exponential backoff and registers its hooks again.

A hook publishes events with `worker.publish(type, payload)`: the event goes on the same stream
as the call's result (a `WorkerMessage.publish` frame), ahead of it, so the executor gives it a
sequence before the result is applied; under virtual time it is stamped with the call's time.

Example:
    >>> worker = Worker("127.0.0.1:50051", token="s3cret", worker_id="py-1")
    >>> @worker.hook("before_tool_execution", priority=-10)
    ... def tag(ctx):
    ...     return Modified({"checked": True})
    >>> # await worker.start(); ...; await worker.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import random
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any

import grpc
from grpc import aio
from hookwire.runtime.adapter import HookAdapter, HookFailed, HookTimedOut, InvalidResult
from hookwire.runtime.bus.event import NO_DATA, Event
from hookwire.runtime.bus.patterns import check_type
from hookwire.runtime.clock import Clock, SystemClock, VirtualClock
from hookwire.runtime.context import HookContext
from hookwire.runtime.errors import FailedPrecondition, HookwireError, InvalidArgument
from hookwire.runtime.hook_call import current_hook_call, in_hook_call
from hookwire.runtime.otel.remote import current_traceparent, remote_hook_span
from hookwire.runtime.registry import HookSpec, Registry
from hookwire.runtime.wire.context import context_from_proto
from hookwire.runtime.wire.duration import duration_from_proto, duration_to_proto
from hookwire.runtime.wire.event import event_to_proto
from hookwire.runtime.wire.metadata import bearer_metadata
from hookwire.runtime.wire.registration import spec_to_proto
from hookwire.runtime.wire.results import result_to_proto
from hookwire.sdk.call_clock import CallClock
from hookwire.sdk.errors import error_from_rpc, error_from_status
from hookwire.v1 import common_pb2
from hookwire.v1 import event_service_pb2 as bs
from hookwire.v1 import executor_service_pb2 as es
from hookwire.v1 import executor_service_pb2_grpc as es_grpc

__all__ = ["SDK_NAME", "Worker"]

SDK_NAME = "hookwire-python/0.1.0"
_log = logging.getLogger(__name__)
# Failures that reconnecting cannot fix.
_FATAL = {
    grpc.StatusCode.UNAUTHENTICATED,
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.PERMISSION_DENIED,
}


class _Session:
    """One Connect stream: its call object, outbox, pending acks and running calls."""

    def __init__(self, call: Any) -> None:
        self.call = call
        self.outbox: asyncio.Queue[es.WorkerMessage | None] = asyncio.Queue()
        self.acks: dict[int, asyncio.Future[es.RegisterHooksAck]] = {}
        # Sequenced publishes waiting for their PublishAck, by request id.
        self.publishes: dict[int, asyncio.Future[int]] = {}
        self.tasks: dict[int, asyncio.Task[None]] = {}
        self.connection_id = ""
        self.peer_batching = False  # the executor's welcome said it takes result_batch
        self.peer_publish_acks = False  # ... and that it answers sequenced publishes

    def fail_pending(self, err: BaseException) -> None:
        """No answer will come on this stream: registrations and publishes waiting learn why."""
        waiting: list[asyncio.Future[Any]] = [*self.acks.values(), *self.publishes.values()]
        for fut in waiting:
            if not fut.done():
                fut.set_exception(err)


class Worker:
    """Serves the hooks registered on it to the executor at `target` ("host:port").

    - `virtual_clock`: take time from the executor's VirtualClock (conformance runs); hooks read
      it through `worker.clock` and "take 60 ms" with `worker.clock.advance_ms(60)`.
    - `reconnect`: re-open a dropped stream with backoff from `backoff_initial_s` doubling to
      `backoff_max_s` (with jitter), registering the hooks again.
    - `clock`: what backoff sleeps on (the system clock by default).
    """

    def __init__(
        self,
        target: str,
        *,
        token: str | None = None,
        worker_id: str | None = None,
        virtual_clock: bool = False,
        tls_root_cert: bytes | None = None,
        tls: bool = False,
        tls_server_name: str | None = None,
        reconnect: bool = True,
        backoff_initial_s: float = 0.05,
        backoff_max_s: float = 2.0,
        clock: Clock | None = None,
        max_message_bytes: int = 4 * 1024 * 1024,
    ) -> None:
        if not isinstance(target, str) or not target:
            raise InvalidArgument("target", "must be 'host:port'")
        if not 0 < backoff_initial_s <= backoff_max_s:
            raise InvalidArgument("backoff_initial_s", "must be > 0 and <= backoff_max_s")
        self.target = target
        self.worker_id = worker_id or f"py-{os.getpid()}-{id(self):x}"
        self.virtual_clock = virtual_clock
        self.registry = Registry()
        self.clock = CallClock()
        self._metadata = bearer_metadata(token) if token else ()
        self._creds = (
            grpc.ssl_channel_credentials(root_certificates=tls_root_cert)
            if tls or tls_root_cert is not None
            else None
        )
        self._options: list[tuple[str, Any]] = [
            ("grpc.max_send_message_length", max_message_bytes),
            ("grpc.max_receive_message_length", max_message_bytes),
        ]
        if tls_server_name:
            self._options.append(("grpc.ssl_target_name_override", tls_server_name))
        self._reconnect = reconnect
        self._backoff = (backoff_initial_s, backoff_max_s)
        self._sleep_clock: Clock = clock or SystemClock()
        self._request_ids = itertools.count(1)
        self._session: _Session | None = None
        self._runner: asyncio.Task[None] | None = None
        self._channel: aio.Channel | None = None
        self._stopping = False
        self._connected = asyncio.Event()
        self.sessions = 0

    # -- registration: the in-process API -------------------------------------------------

    def register(self, hook: Any, **options: Any) -> HookSpec:
        """Register a hook; same arguments as `Registry.register` (name, point, priority, ...).

        Registering while connected sends it to the executor at once (errors are logged; use
        `await worker.register_now(...)` to wait for the executor's answer).
        """
        spec = self.registry.register(hook, **options)
        session = self._session
        if session is not None:
            rid = self._send_register([spec])
            session.acks[rid].add_done_callback(_log_refusal)
        return spec

    def hook(self, point: str, **options: Any) -> Callable[[Any], Any]:
        """Decorator form of `register`: `@worker.hook("before_tool_execution", priority=10)`."""

        def decorate(fn: Any) -> Any:
            options.setdefault("name", getattr(fn, "__name__", None))
            self.register(fn, point=point, **options)
            return fn

        return decorate

    async def register_now(self, hook: Any, **options: Any) -> HookSpec:
        """Register a hook and wait until the connected executor accepted it (raises its error)."""
        spec = self.registry.register(hook, **options)
        if self._session is not None:
            try:
                await self._await_ack(self._session, self._send_register([spec]))
            except HookwireError:
                self.registry.unregister(spec.name)
                raise
        return spec

    async def unregister(self, name: str) -> None:
        """Remove a hook here and, if connected, on the executor."""
        self.registry.unregister(name)
        session = self._session
        if session is not None:
            rid = next(self._request_ids)
            session.outbox.put_nowait(
                es.WorkerMessage(unregister=es.UnregisterHooks(names=[name], request_id=rid))
            )
            await self._await_ack(session, rid)

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._session is not None and self._connected.is_set()

    @property
    def connection_id(self) -> str:
        """The executor's id for the current connection ("" when not connected)."""
        return self._session.connection_id if self._session else ""

    async def start(self) -> None:
        """Connect, register every hook, and keep serving in the background (reconnecting).

        Raises the executor's typed error when the first connection or registration fails.
        """
        if self._runner is not None:
            raise FailedPrecondition("worker", "already started")
        self._stopping = False
        first: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._runner = asyncio.create_task(self._supervise(first))
        try:
            await first
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Close the stream (the executor unregisters this worker's hooks) and stop."""
        self._stopping = True
        session = self._session
        if session is not None:
            session.outbox.put_nowait(None)
        runner, self._runner = self._runner, None
        if runner is not None:
            try:
                await asyncio.wait_for(asyncio.shield(runner), 2.0)
            except (TimeoutError, asyncio.CancelledError, Exception):
                runner.cancel()
                with contextlib.suppress(BaseException):
                    await runner
        if self._channel is not None:
            await self._channel.close()
            self._channel = None

    async def run(self) -> None:
        """Start and serve until cancelled or `stop()`."""
        await self.start()
        runner = self._runner
        if runner is not None:
            await asyncio.shield(runner)

    async def __aenter__(self) -> Worker:
        await self.start()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    # -- the connection ----------------------------------------------------------------------

    def _new_channel(self) -> aio.Channel:
        if self._creds is not None:
            return aio.secure_channel(self.target, self._creds, options=self._options)
        return aio.insecure_channel(self.target, options=self._options)

    async def _supervise(self, first: asyncio.Future[None]) -> None:
        delay, cap = self._backoff
        while not self._stopping:
            try:
                await self._serve_once(first)
                delay = self._backoff[0]  # a session that got going resets the backoff
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                err = error_from_rpc(exc) if isinstance(exc, grpc.RpcError) else exc
                if not first.done():
                    first.set_exception(err)
                    return
                fatal = isinstance(exc, grpc.RpcError) and exc.code() in _FATAL
                if fatal or not self._reconnect:
                    _log.error("worker %s stops: %s", self.worker_id, err)
                    return
                _log.warning("worker %s lost its connection (%s); retrying", self.worker_id, err)
            if self._stopping or not self._reconnect:
                return
            await self._sleep_clock.asleep(delay * (0.5 + random.random() / 2))
            delay = min(delay * 2, cap)

    async def _serve_once(self, first: asyncio.Future[None]) -> None:
        if self._channel is None:
            self._channel = self._new_channel()
        stub = es_grpc.ExecutorServiceStub(self._channel)
        call = stub.Connect(metadata=self._metadata)
        session = _Session(call)
        writer = asyncio.create_task(self._write(session))
        self.sessions += 1
        try:
            session.outbox.put_nowait(
                es.WorkerMessage(
                    hello=es.WorkerHello(
                        worker_id=self.worker_id,
                        language=common_pb2.LANGUAGE_PYTHON,
                        sdk=SDK_NAME,
                        virtual_clock=self.virtual_clock,
                        # Calls may come as call_batch; results queued together go back as
                        # one result_batch when the executor's welcome says it takes them.
                        batching=True,
                    )
                )
            )
            try:
                welcome = await call.read()
            except grpc.RpcError:
                welcome = None
            if not isinstance(welcome, es.ExecutorMessage):
                # The call's final status says why (a failed read may only say "INTERNAL").
                status = await call.code()
                raise error_from_status(status.name, await call.details() or "stream closed")
            if welcome.WhichOneof("message") != "welcome":
                raise FailedPrecondition("welcome", "the executor did not welcome this worker")
            session.connection_id = welcome.welcome.connection_id
            session.peer_batching = welcome.welcome.batching
            session.peer_publish_acks = welcome.welcome.publish_acks
            self._session = session
            reader = asyncio.create_task(self._read(session))
            specs = self.registry.hooks()
            try:
                if specs:
                    await self._await_ack(session, self._send_register(specs))
            except BaseException:
                reader.cancel()
                raise
            self._connected.set()
            if not first.done():
                first.set_result(None)
            await reader
        finally:
            self._connected.clear()
            if self._session is session:
                self._session = None
            for task in session.tasks.values():
                task.cancel()
            session.fail_pending(error_from_status("UNAVAILABLE", "connection lost"))
            session.outbox.put_nowait(None)
            try:
                await asyncio.wait_for(writer, 1.0)
            except BaseException:
                writer.cancel()
            call.cancel()

    def _send_register(self, specs: list[HookSpec]) -> int:
        session = self._session
        rid = next(self._request_ids)
        if session is not None:
            # The future exists before the request leaves, so no ack can arrive unclaimed.
            session.acks[rid] = asyncio.get_running_loop().create_future()
            message = es.RegisterHooks(hooks=[spec_to_proto(s) for s in specs], request_id=rid)
            session.outbox.put_nowait(es.WorkerMessage(register=message))
        return rid

    async def _await_ack(self, session: _Session, request_id: int) -> None:
        fut = session.acks.setdefault(request_id, asyncio.get_running_loop().create_future())
        ack = await fut
        if ack.error:
            raise error_from_status(ack.code or "UNKNOWN", ack.error)

    async def _write(self, session: _Session) -> None:
        outbox, call = session.outbox, session.call
        while True:
            message = await outbox.get()
            while message is not None:
                if session.peer_batching and message.HasField("result") and not outbox.empty():
                    # Results queued while the last frame was written (a call_batch of sync
                    # hooks, many async hooks finishing together) share one frame.
                    message, after = _result_batch(message, outbox)
                else:
                    after = _NOTHING
                await call.write(message)
                if after is _NOTHING:
                    break
                message = after
            else:
                await call.done_writing()
                return

    async def _read(self, session: _Session) -> None:
        try:
            await self._read_stream(session)
        except BaseException as exc:
            # Nobody else reads the stream: a registration waiting for its ack (start(),
            # register_now()) learns here that none will come, and why.
            err: BaseException = error_from_rpc(exc) if isinstance(exc, grpc.RpcError) else exc
            if not isinstance(err, Exception):
                err = error_from_status("UNAVAILABLE", "the worker stopped reading its stream")
            session.fail_pending(err)
            raise

    async def _read_stream(self, session: _Session) -> None:
        call = session.call
        while True:
            message = await call.read()
            if not isinstance(message, es.ExecutorMessage):
                if self._stopping:
                    return
                code = await call.code()
                raise error_from_status(code.name, await call.details() or "stream ended")
            kind = message.WhichOneof("message")
            if kind == "call":
                self._start_call(session, message.call)
            elif kind == "call_batch":
                for one in message.call_batch.calls:
                    self._start_call(session, one)
            elif kind == "cancel":
                task = session.tasks.pop(message.cancel.call_id, None)
                if task is not None:
                    task.cancel()
            elif kind == "publish_ack":
                pack = message.publish_ack
                pfut = session.publishes.pop(pack.request_id, None)
                if pfut is not None and not pfut.done():
                    if pack.error:
                        pfut.set_exception(error_from_status(pack.code or "UNKNOWN", pack.error))
                    else:
                        pfut.set_result(pack.sequences[0] if pack.sequences else 0)
            elif kind == "register_ack":
                ack = message.register_ack
                fut = session.acks.pop(ack.request_id, None)
                if fut is not None and not fut.done():
                    fut.set_result(ack)

    # -- events -----------------------------------------------------------------------------

    def publish(
        self,
        type: str,
        payload: Any = NO_DATA,
        *,
        source: str = "",
        correlation_id: str = "",
        causation_id: str = "",
        metadata: dict[str, str] | None = None,
        ttl_ms: float | None = None,
    ) -> asyncio.Future[int]:
        """Publish an event from a hook on the executor's bus; returns a future of its sequence.

        It is sent on the worker's stream before anything the worker sends later (the call's
        result included), so its sequence comes first. A coroutine hook may `await` the
        returned future for the sequence (or the bus's refusal, e.g. RESOURCE_EXHAUSTED, which
        the executor also logs); a synchronous hook can leave it (an executor without publish
        acknowledgements leaves it at 0). Its time is `worker.clock`'s now (the
        call's virtual time under `virtual_clock`); its source language is Python. Published
        during a call, it carries the execution's correlation id, the hook call as causation
        id (`<point>/<hook name>`) and the hook's trace context (its span when OpenTelemetry
        traces the worker, else the call context's), unless given here
        (hookwire.runtime.hook_call). `payload` omitted: no payload (None is JSON null). The
        event's type is checked here (InvalidArgument); a refusal by the bus itself (rate
        limit) is logged by the executor. FailedPrecondition when the worker is not connected.

        Example:
            >>> # inside a hook: worker.publish("tool.checked", {"ok": True}, ttl_ms=500)
        """
        check_type(type, "type")
        if ttl_ms is not None and (
            isinstance(ttl_ms, bool) or not isinstance(ttl_ms, int | float) or not ttl_ms >= 0
        ):
            raise InvalidArgument("ttl_ms", f"must be a number >= 0, got {ttl_ms!r}")
        session = self._session
        if session is None:
            raise FailedPrecondition("worker", "not connected: publish needs a live stream")
        fields: dict[str, Any] = {"correlation_id": correlation_id, "causation_id": causation_id}
        hook = current_hook_call()
        if hook is not None:
            fields = hook.merged(fields, current_traceparent())
        else:
            fields["traceparent"] = current_traceparent()
        event = Event(
            type,
            payload,
            time_ns=self.clock.time_ns(),
            ttl_ns=None if ttl_ms is None else round(ttl_ms * 1_000_000),
            source=source,
            source_language="python",
            metadata=metadata,
            **fields,
        )
        pb = event_to_proto(event)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise FailedPrecondition(
                "worker", "publish runs on the worker's event loop (inside a hook)"
            ) from None
        fut: asyncio.Future[int] = loop.create_future()
        # Retrieved here, so a future nobody awaits does not log its refusal a second time.
        fut.add_done_callback(_retrieve)
        if not session.peer_publish_acks:
            session.outbox.put_nowait(es.WorkerMessage(publish=bs.PublishRequest(events=[pb])))
            fut.set_result(0)
            return fut
        rid = next(self._request_ids)
        session.publishes[rid] = fut
        session.outbox.put_nowait(
            es.WorkerMessage(sequenced_publish=es.SequencedPublish(request_id=rid, events=[pb]))
        )
        return fut

    # -- serving calls -----------------------------------------------------------------------

    def _lookup(self, name: str) -> HookAdapter | None:
        try:
            return self.registry.entry(name).adapter
        except HookwireError:
            return None

    def _start_call(self, session: _Session, call: es.HookCall) -> None:
        adapter = self._lookup(call.hook_name)
        if adapter is not None and not adapter.is_async:
            # Synchronous hooks run inline: no task to create, lowest latency.
            session.outbox.put_nowait(es.WorkerMessage(result=self._run_sync(adapter, call)))
            return
        task = asyncio.create_task(self._run_async(session, adapter, call))
        session.tasks[call.call_id] = task

    def _begin(self, call: es.HookCall) -> tuple[VirtualClock | None, es.HookCallResult, int]:
        """A call's virtual clock (None on real time), its result message and its timeout."""
        vc = VirtualClock(start_unix_ns=call.clock_now_unix_nanos) if self.virtual_clock else None
        return vc, es.HookCallResult(call_id=call.call_id), duration_from_proto(call.timeout)

    @contextlib.contextmanager
    def _serving(
        self, call: es.HookCall, ctx: HookContext, vc: VirtualClock | None
    ) -> Iterator[None]:
        """While the hook of `call` runs on `ctx`: its span (when traced), its hook call (what
        events it publishes are tied to) and the call's virtual clock."""
        with (
            remote_hook_span(call.hook_name, _traceparent(ctx)),
            in_hook_call(call.hook_name, ctx),
            self.clock.using(vc) if vc is not None else contextlib.nullcontext(),
        ):
            yield

    def _run_sync(self, adapter: HookAdapter, call: es.HookCall) -> es.HookCallResult:
        vc, out, timeout_ns = self._begin(call)
        try:
            ctx = context_from_proto(call.context)
            with self._serving(call, ctx, vc):
                result = adapter.call(ctx, timeout_ns)
            out.result.CopyFrom(result_to_proto(result))
        except BaseException as exc:
            _fill_error(out, exc)
        _finish(out, vc)
        return out

    async def _run_async(
        self, session: _Session, adapter: HookAdapter | None, call: es.HookCall
    ) -> None:
        vc, out, timeout_ns = self._begin(call)
        try:
            if adapter is None:
                raise HookFailed(f"this worker has no hook named {call.hook_name!r}")
            ctx = context_from_proto(call.context)
            with self._serving(call, ctx, vc):
                result = await adapter.acall(ctx, timeout_ns)
            out.result.CopyFrom(result_to_proto(result))
        except asyncio.CancelledError:
            session.tasks.pop(call.call_id, None)
            return  # the executor cancelled the call and no longer waits for it
        except Exception as exc:
            _fill_error(out, exc)
        finally:
            session.tasks.pop(call.call_id, None)
        _finish(out, vc)
        session.outbox.put_nowait(es.WorkerMessage(result=out))


_NOTHING: Any = object()


def _traceparent(ctx: HookContext) -> str:
    return ctx.distributed.traceparent if ctx.distributed is not None else ""


def _result_batch(
    first: es.WorkerMessage, outbox: asyncio.Queue[es.WorkerMessage | None]
) -> tuple[es.WorkerMessage, es.WorkerMessage | None]:
    """`first` (a result) and the results queued right behind it as one result_batch frame,
    and the message that stopped the run (`_NOTHING` when the queue ran dry; None = the end).
    Order on the stream is kept: the run stops at the first message that is not a result."""
    batch = es.WorkerMessage()
    results = batch.result_batch.results
    results.append(first.result)
    after: es.WorkerMessage | None = _NOTHING
    while not outbox.empty():
        message = outbox.get_nowait()
        if message is None or not message.HasField("result"):
            after = message
            break
        results.append(message.result)
    return (batch if len(results) > 1 else first), after


def _retrieve(fut: asyncio.Future[Any]) -> None:
    if not fut.cancelled():
        fut.exception()


def _log_refusal(fut: asyncio.Future[es.RegisterHooksAck]) -> None:
    if not fut.cancelled() and fut.exception() is None and fut.result().error:
        _log.error("the executor refused a registration: %s", fut.result().error)


def _fill_error(out: es.HookCallResult, exc: BaseException) -> None:
    out.ClearField("result")
    cause = exc.__cause__ if isinstance(exc, HookFailed) and exc.__cause__ else exc
    out.error.type = type(cause).__name__
    out.error.message = str(exc)
    out.error.invalid_result = isinstance(exc, InvalidResult)
    if isinstance(exc, HookTimedOut):
        out.error.type = "HookTimedOut"


def _finish(out: es.HookCallResult, vc: VirtualClock | None) -> None:
    if vc is not None:
        duration_to_proto(vc.monotonic_ns(), out.clock_advance)
