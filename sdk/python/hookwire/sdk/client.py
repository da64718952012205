"""Typed clients of a hookwire server: `Client` (blocking) and `AsyncClient` (asyncio).

Both speak the same API: execute a point, publish events, subscribe to events (decoded
`Event`s, or the raw batches with `subscribe_raw`; resuming after a dropped connection from the
next sequence), list hooks, read and reset breakers. Failures are
the runtime's typed errors (`InvalidArgument`, `NotFound`, ... see hookwire.sdk.errors).

Example:
    >>> with Client("127.0.0.1:50051", token="s3cret") as client:  # doctest: +SKIP
    ...     execution = client.execute("before_tool_execution", {"tool": "search"})
    ...     execution.result
    Modified(data={'tool': 'search', 'checked': True})
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import ModuleType, TracebackType
from typing import Any, ClassVar

import grpc
from grpc import aio
from hookwire.runtime.breaker import BreakerStatus
from hookwire.runtime.bus.event import Event
from hookwire.runtime.context import HookContext
from hookwire.runtime.errors import InvalidArgument
from hookwire.runtime.trace import Execution
from hookwire.runtime.wire.context import context_to_proto
from hookwire.runtime.wire.event import event_from_proto
from hookwire.runtime.wire.json import to_proto_value
from hookwire.runtime.wire.metadata import bearer_metadata, to_metadata
from hookwire.runtime.wire.registration import breaker_status_from_proto
from hookwire.runtime.wire.trace import execution_from_proto
from hookwire.sdk.errors import error_from_rpc
from hookwire.v1 import common_pb2, event_pb2, event_service_pb2, event_service_pb2_grpc, hook_pb2
from hookwire.v1 import executor_service_pb2 as es
from hookwire.v1 import executor_service_pb2_grpc as es_grpc

__all__ = ["AsyncClient", "Client", "Overflow", "Subscription"]

_NS = 1_000_000_000
# Statuses after which a subscription reconnects and resumes instead of failing.
_RESUMABLE = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.INTERNAL, grpc.StatusCode.CANCELLED}


class Overflow:
    """Overflow strategies for `subscribe` (docs/semantics.md section 8).

    Example:
        >>> Overflow.sample(0.5).sample.rate
        0.5
    """

    @staticmethod
    def drop_oldest() -> event_service_pb2.OverflowStrategy:
        return event_service_pb2.OverflowStrategy(drop_oldest=event_service_pb2.DropOldest())

    @staticmethod
    def drop_newest() -> event_service_pb2.OverflowStrategy:
        return event_service_pb2.OverflowStrategy(drop_newest=event_service_pb2.DropNewest())

    @staticmethod
    def backpressure(timeout_s: float | None = None) -> event_service_pb2.OverflowStrategy:
        bp = event_service_pb2.Backpressure()
        if timeout_s is not None:
            ns = round(timeout_s * _NS)
            bp.timeout.seconds, bp.timeout.nanos = divmod(ns, _NS)
        return event_service_pb2.OverflowStrategy(backpressure=bp)

    @staticmethod
    def sample(
        rate: float, high_water_mark: float | None = None
    ) -> event_service_pb2.OverflowStrategy:
        s = event_service_pb2.Sample(rate=rate)
        if high_water_mark is not None:
            s.high_water_mark = high_water_mark
        return event_service_pb2.OverflowStrategy(sample=s)


def event(
    type: str,
    payload: Any = None,
    *,
    source: str = "",
    correlation_id: str = "",
    metadata: Mapping[str, str] | None = None,
    ttl_s: float | None = None,
) -> event_pb2.UniversalEvent:
    """Build a UniversalEvent (payload is any JSON value; None = no payload).

    Example:
        >>> ev = event("tool.invoked", {"tool": "search"})
        >>> ev.payload.object_value.fields["tool"].string_value
        'search'
    """
    ev = event_pb2.UniversalEvent(type=type, source=source, correlation_id=correlation_id)
    if payload is not None:
        ev.payload.CopyFrom(to_proto_value(payload, "payload"))
    for k, v in (metadata or {}).items():
        ev.metadata[k] = v
    if ttl_s is not None:
        ev.ttl.seconds, ev.ttl.nanos = divmod(round(ttl_s * _NS), _NS)
    ev.source_language = common_pb2.LANGUAGE_PYTHON
    return ev


def _context(point: str, context: HookContext | Mapping[str, Any] | None) -> hook_pb2.HookContext:
    if isinstance(context, HookContext):
        if context.point != point:
            raise InvalidArgument(
                "context.point", f"{context.point!r} differs from point {point!r}"
            )
        return context_to_proto(context)
    return context_to_proto(HookContext(point=point, data=dict(context or {}), language="python"))


def _subscribe_request(
    patterns: Sequence[str] | str,
    from_sequence: int,
    capacity: int | None,
    overflow: event_service_pb2.OverflowStrategy | None,
    max_batch_size: int | None,
) -> event_service_pb2.SubscribeRequest:
    if isinstance(patterns, str):
        patterns = [patterns]
    req = event_service_pb2.SubscribeRequest(patterns=list(patterns), from_sequence=from_sequence)
    if capacity is not None:
        req.capacity = capacity
    if overflow is not None:
        req.overflow.CopyFrom(overflow)
    if max_batch_size is not None:
        req.max_batch_size = max_batch_size
    return req


def _credentials(tls_root_cert: bytes | None, tls: bool) -> grpc.ChannelCredentials | None:
    if tls_root_cert is not None or tls:
        return grpc.ssl_channel_credentials(root_certificates=tls_root_cert)
    return None


def _options(
    max_message_bytes: int, tls_server_name: str | None, extra: Sequence[tuple[str, Any]]
) -> list[tuple[str, Any]]:
    opts: list[tuple[str, Any]] = [
        *extra,
        ("grpc.max_send_message_length", max_message_bytes),
        ("grpc.max_receive_message_length", max_message_bytes),
    ]
    if tls_server_name:
        opts.append(("grpc.ssl_target_name_override", tls_server_name))
    return opts


@dataclass
class Subscription:
    """Where a subscription stands: the last delivered sequence and the server's counters."""

    last_sequence: int = 0
    stats: event_service_pb2.SubscriptionStats = field(
        default_factory=event_service_pb2.SubscriptionStats
    )
    reconnects: int = 0


def _list_hooks_request(point: str | None) -> es.ListHooksRequest:
    req = es.ListHooksRequest()
    if point is not None:
        from hookwire.runtime.wire.enums import point_to_proto

        req.point, req.custom_point = point_to_proto(point)  # type: ignore[assignment]
    return req


def _resume_from(exc: grpc.RpcError, resume: bool, st: Subscription, from_sequence: int) -> int:
    """The sequence a subscription ended by `exc` re-opens from (counted as a reconnect), or
    raise its typed error when it must not resume (see `Client.subscribe`)."""
    if not resume or exc.code() not in _RESUMABLE or not (st.last_sequence or from_sequence):
        raise error_from_rpc(exc) from None
    st.reconnects += 1
    return st.last_sequence + 1 if st.last_sequence else from_sequence


class _Base:
    """What both clients set up: target, call metadata, channel and service stubs."""

    # Where the channels come from: `grpc` (blocking) or `grpc.aio`.
    _grpc: ClassVar[ModuleType]
    _channel: Any
    _exec: Any
    _bus: Any

    def __init__(
        self,
        target: str,
        *,
        token: str | None = None,
        tls_root_cert: bytes | None = None,
        tls: bool = False,
        tls_server_name: str | None = None,
        correlation_id: str = "",
        traceparent: str = "",
        max_message_bytes: int = 4 * 1024 * 1024,
        channel_options: Sequence[tuple[str, Any]] = (),
    ) -> None:
        if not isinstance(target, str) or not target:
            raise InvalidArgument("target", "must be 'host:port'")
        self.target = target
        self._metadata: tuple[tuple[str, str], ...] = (
            bearer_metadata(token) if token else ()
        ) + to_metadata(correlation_id=correlation_id, traceparent=traceparent)
        self._max = max_message_bytes
        creds = _credentials(tls_root_cert, tls)
        opts = _options(max_message_bytes, tls_server_name, channel_options)
        self._channel = (
            self._grpc.secure_channel(target, creds, options=opts)
            if creds
            else self._grpc.insecure_channel(target, options=opts)
        )
        self._exec = es_grpc.ExecutorServiceStub(self._channel)
        self._bus = event_service_pb2_grpc.EventBusServiceStub(self._channel)


class Client(_Base):
    """Blocking client. Use as a context manager or call `close()`.

    `timeout` arguments are per-call deadlines in seconds (DeadlineExceeded when they pass);
    `channel_options` are extra grpc channel arguments.
    """

    _grpc: ClassVar[ModuleType] = grpc
    _channel: grpc.Channel
    _exec: es_grpc.ExecutorServiceStub
    _bus: event_service_pb2_grpc.EventBusServiceStub

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._channel.close()

    def execute(
        self,
        point: str,
        context: HookContext | Mapping[str, Any] | None = None,
        *,
        timeout: float | None = None,
    ) -> Execution:
        """Execute `point` with a HookContext or just its data; returns the Execution."""
        req = es.ExecuteRequest(context=_context(point, context))
        try:
            resp = self._exec.Execute(req, timeout=timeout, metadata=self._metadata)
        except grpc.RpcError as exc:
            raise error_from_rpc(exc) from None
        return execution_from_proto(resp.execution)

    def publish(
        self, events: Iterable[event_pb2.UniversalEvent], *, timeout: float | None = None
    ) -> list[int]:
        """Publish a batch (all accepted or none); returns the sequence of each event."""
        req = event_service_pb2.PublishRequest(events=list(events))
        try:
            resp = self._bus.Publish(req, timeout=timeout, metadata=self._metadata)
        except grpc.RpcError as exc:
            raise error_from_rpc(exc) from None
        return list(resp.sequences)

    def subscribe(
        self,
        patterns: Sequence[str] | str,
        *,
        from_sequence: int = 0,
        capacity: int | None = None,
        overflow: event_service_pb2.OverflowStrategy | None = None,
        max_batch_size: int | None = None,
        resume: bool = True,
        state: Subscription | None = None,
    ) -> Iterator[Event]:
        """Yield matching events, decoded: `type`, `sequence`, `payload` (plain JSON; NO_DATA
        when the event has none), `id`, `time_ns`, `source`, `correlation_id`, `metadata`...
        Arguments and resumption as `subscribe_raw`.

        Example:
            >>> for ev in client.subscribe("tool.*", from_sequence=1):  # doctest: +SKIP
            ...     print(ev.sequence, ev.type, ev.payload)
            1 tool.invoked {'tool': 'search'}
        """
        for batch in self.subscribe_raw(
            patterns,
            from_sequence=from_sequence,
            capacity=capacity,
            overflow=overflow,
            max_batch_size=max_batch_size,
            resume=resume,
            state=state,
        ):
            for pb in batch.events:
                yield event_from_proto(pb)

    def subscribe_raw(
        self,
        patterns: Sequence[str] | str,
        *,
        from_sequence: int = 0,
        capacity: int | None = None,
        overflow: event_service_pb2.OverflowStrategy | None = None,
        max_batch_size: int | None = None,
        resume: bool = True,
        state: Subscription | None = None,
    ) -> Iterator[event_service_pb2.EventBatch]:
        """Yield the server's batches of matching events (hookwire.v1.EventBatch, with the
        subscription's counters). With `resume`, a dropped connection (UNAVAILABLE,
        e.g. a server shutting down) is re-opened from the sequence after the last one
        delivered, or from `from_sequence` if none was (OutOfRange if the server's retention
        log no longer holds it); a subscription from 0 that got nothing cannot resume without
        a gap and raises. Pass a `Subscription` as `state` to observe progress."""
        st = state if state is not None else Subscription()
        seq = from_sequence
        while True:
            req = _subscribe_request(patterns, seq, capacity, overflow, max_batch_size)
            stream = self._bus.Subscribe(req, metadata=self._metadata)
            try:
                for batch in stream:
                    if batch.events:
                        st.last_sequence = batch.events[-1].sequence
                    st.stats = batch.stats
                    yield batch
                return
            except grpc.RpcError as exc:
                seq = _resume_from(exc, resume, st, from_sequence)
                time.sleep(min(0.05 * st.reconnects, 1.0))
            finally:
                stream.cancel()

    def list_hooks(
        self, point: str | None = None, *, timeout: float | None = None
    ) -> list[hook_pb2.HookRegistration]:
        """Registered hooks (all, or at `point`) in chain order."""
        req = _list_hooks_request(point)
        try:
            return list(self._exec.ListHooks(req, timeout=timeout, metadata=self._metadata).hooks)
        except grpc.RpcError as exc:
            raise error_from_rpc(exc) from None

    def breaker_states(self, *names: str, timeout: float | None = None) -> dict[str, BreakerStatus]:
        """Breaker state of the named hooks (all hooks when none is named)."""
        req = es.GetBreakerStateRequest(hook_names=list(names))
        try:
            resp = self._exec.GetBreakerState(req, timeout=timeout, metadata=self._metadata)
        except grpc.RpcError as exc:
            raise error_from_rpc(exc) from None
        return {b.hook_name: breaker_status_from_proto(b) for b in resp.breakers}

    def reset_breaker(self, name: str, *, timeout: float | None = None) -> BreakerStatus:
        """Reset one hook's breaker to CLOSED with an empty window."""
        try:
            resp = self._exec.ResetBreaker(
                es.ResetBreakerRequest(hook_name=name), timeout=timeout, metadata=self._metadata
            )
        except grpc.RpcError as exc:
            raise error_from_rpc(exc) from None
        return breaker_status_from_proto(resp.breaker)


class AsyncClient(_Base):
    """asyncio client; same methods as `Client`, awaitable, `subscribe` an async iterator."""

    _grpc: ClassVar[ModuleType] = aio
    _channel: aio.Channel
    _exec: es_grpc.ExecutorServiceAsyncStub
    _bus: event_service_pb2_grpc.EventBusServiceAsyncStub

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        await self._channel.close()

    async def execute(
        self,
        point: str,
        context: HookContext | Mapping[str, Any] | None = None,
        *,
        timeout: float | None = None,
    ) -> Execution:
        """Execute `point` with a HookContext or just its data; returns the Execution."""
        req = es.ExecuteRequest(context=_context(point, context))
        try:
            resp = await self._exec.Execute(req, timeout=timeout, metadata=self._metadata)
        except grpc.RpcError as exc:
            raise error_from_rpc(exc) from None
        return execution_from_proto(resp.execution)

    async def execute_raw(
        self, request: es.ExecuteRequest, *, timeout: float | None = None
    ) -> es.ExecuteResponse:
        """Send a prepared ExecuteRequest and return the raw response (benchmarks, tools)."""
        try:
            return await self._exec.Execute(request, timeout=timeout, metadata=self._metadata)
        except grpc.RpcError as exc:
            raise error_from_rpc(exc) from None

    async def publish(
        self, events: Iterable[event_pb2.UniversalEvent], *, timeout: float | None = None
    ) -> list[int]:
        """Publish a batch (all accepted or none); returns the sequence of each event."""
        req = event_service_pb2.PublishRequest(events=list(events))
        try:
            resp = await self._bus.Publish(req, timeout=timeout, metadata=self._metadata)
        except grpc.RpcError as exc:
            raise error_from_rpc(exc) from None
        return list(resp.sequences)

    async def subscribe(
        self,
        patterns: Sequence[str] | str,
        *,
        from_sequence: int = 0,
        capacity: int | None = None,
        overflow: event_service_pb2.OverflowStrategy | None = None,
        max_batch_size: int | None = None,
        resume: bool = True,
        state: Subscription | None = None,
    ) -> AsyncIterator[Event]:
        """Async iterator of decoded events, like `Client.subscribe`."""
        async for batch in self.subscribe_raw(
            patterns,
            from_sequence=from_sequence,
            capacity=capacity,
            overflow=overflow,
            max_batch_size=max_batch_size,
            resume=resume,
            state=state,
        ):
            for pb in batch.events:
                yield event_from_proto(pb)

    async def subscribe_raw(
        self,
        patterns: Sequence[str] | str,
        *,
        from_sequence: int = 0,
        capacity: int | None = None,
        overflow: event_service_pb2.OverflowStrategy | None = None,
        max_batch_size: int | None = None,
        resume: bool = True,
        state: Subscription | None = None,
    ) -> AsyncIterator[event_service_pb2.EventBatch]:
        """Async iterator of raw batches; resumes after a dropped connection like
        `Client.subscribe_raw`."""
        st = state if state is not None else Subscription()
        seq = from_sequence
        while True:
            req = _subscribe_request(patterns, seq, capacity, overflow, max_batch_size)
            stream = self._bus.Subscribe(req, metadata=self._metadata)
            try:
                async for batch in stream:
                    if batch.events:
                        st.last_sequence = batch.events[-1].sequence
                    st.stats = batch.stats
                    yield batch
                return
            except grpc.RpcError as exc:
                seq = _resume_from(exc, resume, st, from_sequence)
                await asyncio.sleep(min(0.05 * st.reconnects, 1.0))
            finally:
                stream.cancel()

    async def list_hooks(
        self, point: str | None = None, *, timeout: float | None = None
    ) -> list[hook_pb2.HookRegistration]:
        """Registered hooks (all, or at `point`) in chain order."""
        req = _list_hooks_request(point)
        try:
            resp = await self._exec.ListHooks(req, timeout=timeout, metadata=self._metadata)
        except grpc.RpcError as exc:
            raise error_from_rpc(exc) from None
        return list(resp.hooks)

    async def breaker_states(
        self, *names: str, timeout: float | None = None
    ) -> dict[str, BreakerStatus]:
        """Breaker state of the named hooks (all hooks when none is named)."""
        req = es.GetBreakerStateRequest(hook_names=list(names))
        try:
            resp = await self._exec.GetBreakerState(req, timeout=timeout, metadata=self._metadata)
        except grpc.RpcError as exc:
            raise error_from_rpc(exc) from None
        return {b.hook_name: breaker_status_from_proto(b) for b in resp.breakers}

    async def reset_breaker(self, name: str, *, timeout: float | None = None) -> BreakerStatus:
        """Reset one hook's breaker to CLOSED with an empty window."""
        try:
            resp = await self._exec.ResetBreaker(
                es.ResetBreakerRequest(hook_name=name), timeout=timeout, metadata=self._metadata
            )
        except grpc.RpcError as exc:
            raise error_from_rpc(exc) from None
        return breaker_status_from_proto(resp.breaker)
