"""hookwire.v1.EventBusService over the in-process EventBus: Publish (batches) and Subscribe
(a server stream of EventBatch).

Each Subscribe stream owns one bus subscription with the requested patterns, capacity and
overflow strategy. Batches are taken from its queue only as fast as gRPC sends them, so a slow
reader fills the queue and the overflow strategy applies exactly as in-process. Publish uses the
bus's async path, so a BACKPRESSURE subscriber makes the publishing RPC wait without blocking
the server's event loop.

Example (how the server wires it):
    >>> from hookwire.runtime.bus import EventBus
    >>> service = EventBusService(EventBus(), max_publish_batch=1000)
    >>> service.open_streams
    0
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterable
from typing import Any

import grpc
from grpc import aio
from hookwire.runtime.bus.bus import EventBus
from hookwire.runtime.bus.overflow import DEFAULT_CAPACITY
from hookwire.runtime.bus.subscription import Subscription
from hookwire.runtime.errors import HookwireError, InvalidArgument
from hookwire.runtime.server.decoding import add_service
from hookwire.runtime.server.event_frames import EventFrames
from hookwire.runtime.server.status import abort_with
from hookwire.runtime.wire.bus import overflow_from_proto, stats_to_proto
from hookwire.runtime.wire.bus_publish import read_batch
from hookwire.runtime.wire.metadata import apply_to_event, read_metadata
from hookwire.v1 import event_service_pb2 as bs

__all__ = ["DEFAULT_MAX_BATCH", "SERVICE_NAME", "EventBusService"]

SERVICE_NAME = bs.DESCRIPTOR.services_by_name["EventBusService"].full_name

DEFAULT_MAX_BATCH = 256
_log = logging.getLogger(__name__)
_Ctx = aio.ServicerContext[Any, Any]


def _passthrough(frame: bytes) -> bytes:
    return frame


def _prefixed(exc: HookwireError, prefix: str) -> HookwireError:
    """The same error with its field placed under `prefix` (e.g. `events[2].`)."""
    if exc.field and exc.field.startswith(prefix):
        return exc
    field = f"{prefix}{exc.field}" if exc.field else prefix.rstrip(".")
    return type(exc)(field, exc.reason)


class EventBusService:
    """The EventBusService servicer; `drain()` is the graceful-shutdown half of `stop()`.

    Register it with `add_to_server` (Subscribe sends pre-serialized batches).
    """

    def __init__(
        self,
        bus: EventBus,
        *,
        max_publish_batch: int = 10_000,
        frame_cache: int = 65_536,
        default_capacity: int = DEFAULT_CAPACITY,
    ) -> None:
        self._bus = bus
        self._default_capacity = default_capacity
        self._frames = EventFrames(frame_cache)
        self._max_batch = max_publish_batch
        self._subs: set[Subscription] = set()
        self._streams_done = asyncio.Event()
        self._streams_done.set()
        self._draining = False

    def add_to_server(self, server: aio.Server) -> None:
        """Serve hookwire.v1.EventBusService on `server`."""
        # Undecodable requests: INVALID_ARGUMENT naming the bad field (decoding.py).
        add_service(
            server,
            bs.DESCRIPTOR.services_by_name["EventBusService"],
            self,
            response_serializers={"Subscribe": _passthrough},
        )

    @property
    def open_streams(self) -> int:
        """Subscribe streams currently open."""
        return len(self._subs)

    async def Publish(self, request: bs.PublishRequest, context: _Ctx) -> bs.PublishResponse:
        try:
            count = len(request.events)
            if count > self._max_batch:
                await context.abort(
                    grpc.StatusCode.RESOURCE_EXHAUSTED,
                    f"events: a batch of {count} events exceeds this server's limit of "
                    f"{self._max_batch}; split it",
                )
            meta = read_metadata(context.invocation_metadata())
            if meta.correlation_id or meta.traceparent:
                for pb in request.events:
                    apply_to_event(pb, meta)
            # Read from the canonical bytes (one C call to encode them): no per-event message
            # objects; payloads decoded only if an in-process reader asks.
            encoded = request.SerializeToString()
            batch = await self._bus.apublish_read(lambda: read_batch(encoded))
            # No await between the publish and this: no subscriber stream can run before the
            # frames exist (and one that did would just convert the event itself).
            self._frames.remember_encoded(batch)
            events = batch.events
            if events and events[-1].sequence - events[0].sequence == len(events) - 1:
                # Increasing sequences that span exactly the batch: consecutive.
                sequences: Iterable[int] = range(events[0].sequence, events[-1].sequence + 1)
            else:
                sequences = [ev.sequence for ev in events]
            return bs.PublishResponse(sequences=sequences)
        except HookwireError as exc:
            await abort_with(context, exc)

    async def Subscribe(self, request: bs.SubscribeRequest, context: _Ctx) -> AsyncIterator[bytes]:
        """Stream serialized EventBatch messages (see EventFrames)."""
        if self._draining:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "the server is shutting down")
        try:
            sub = self._open(request, context)
        except HookwireError as exc:
            await abort_with(context, exc)
        max_batch = (
            request.max_batch_size if request.HasField("max_batch_size") else DEFAULT_MAX_BATCH
        )
        self._subs.add(sub)
        self._streams_done.clear()
        try:
            while True:
                events = await sub.next_batch(max_batch)
                if not events:
                    if not sub.closed:
                        continue
                    # Closed by shutdown and everything queued was sent: UNAVAILABLE (not OK)
                    # so that clients resume elsewhere, from the next sequence.
                    await context.abort(
                        grpc.StatusCode.UNAVAILABLE,
                        f"the server is shutting down; resume from sequence "
                        f"{self._bus.next_sequence}",
                    )
                yield self._frames.batch(events, stats_to_proto(sub.stats()))
        finally:
            sub.close()
            self._subs.discard(sub)
            if not self._subs:
                self._streams_done.set()

    def _open(self, request: bs.SubscribeRequest, context: _Ctx) -> Subscription:
        if not request.patterns:
            raise InvalidArgument("patterns", "at least one pattern is required")
        capacity = request.capacity if request.HasField("capacity") else self._default_capacity
        if request.HasField("max_batch_size") and request.max_batch_size == 0:
            raise InvalidArgument("max_batch_size", "must be > 0 (unset = 256)")
        try:
            overflow = overflow_from_proto(request.overflow)
        except HookwireError as exc:
            kind = request.overflow.WhichOneof("strategy") or "drop_oldest"
            raise _prefixed(exc, f"overflow.{kind}.") from None
        return self._bus.subscribe(
            *request.patterns,
            capacity=capacity,
            overflow=overflow,
            from_sequence=request.from_sequence,
            name=context.peer() or "",
        )

    async def drain(self, timeout_s: float) -> None:
        """Close every subscription (no new events are queued) and wait, up to `timeout_s`,
        until each stream has sent what was already queued for it and ended."""
        self._draining = True
        for sub in list(self._subs):
            sub.close()
        try:
            async with asyncio.timeout(timeout_s):
                await self._streams_done.wait()
        except TimeoutError:
            _log.warning("%d subscription stream(s) not drained at shutdown", len(self._subs))
