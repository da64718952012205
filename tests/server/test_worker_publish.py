"""WorkerMessage.publish: events a worker's hooks publish on its Connect stream reach the bus in
stream order, before the call's result is applied, with the worker's language by default;
refused batches are counted and logged, and the stream goes on."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from grpc import aio
from hookwire.runtime.bus.event import NO_DATA, Event
from hookwire.runtime.clock import VirtualClock
from hookwire.runtime.context import HookContext
from hookwire.runtime.errors import FailedPrecondition, InvalidArgument
from hookwire.runtime.server.config import ServerConfig
from hookwire.runtime.server.server import HookwireServer
from hookwire.sdk import Worker
from hookwire.v1 import common_pb2, event_pb2, hook_pb2
from hookwire.v1 import event_service_pb2 as bs
from hookwire.v1 import executor_service_pb2 as es
from hookwire.v1 import executor_service_pb2_grpc as es_grpc

POINT = "before_tool_execution"


class RawWorker:
    """A worker speaking the Connect protocol frame by frame."""

    def __init__(self, server: HookwireServer) -> None:
        self.channel = aio.insecure_channel(server.address)
        self.out: asyncio.Queue[es.WorkerMessage | None] = asyncio.Queue()
        self.stream = es_grpc.ExecutorServiceStub(self.channel).Connect(self._frames())

    async def _frames(self) -> AsyncIterator[es.WorkerMessage]:
        while (msg := await self.out.get()) is not None:
            yield msg

    async def send(self, **kw: Any) -> None:
        await self.out.put(es.WorkerMessage(**kw))

    async def read(self) -> es.ExecutorMessage:
        msg = await self.stream.read()
        assert isinstance(msg, es.ExecutorMessage), f"stream ended: {msg!r}"
        return msg

    async def close(self) -> None:
        await self.out.put(None)
        await self.channel.close()


def run(body: Callable[[HookwireServer, RawWorker], Awaitable[None]], **kwargs: Any) -> None:
    async def main() -> None:
        server = HookwireServer(config=ServerConfig(port=0, shutdown_grace_s=2.0), **kwargs)
        await server.start()
        worker = RawWorker(server)
        try:
            await worker.send(
                hello=es.WorkerHello(worker_id="w", language=common_pb2.LANGUAGE_JAVASCRIPT)
            )
            assert (await worker.read()).WhichOneof("message") == "welcome"
            await asyncio.wait_for(body(server, worker), 20)
        finally:
            await worker.close()
            await server.stop()

    asyncio.run(main())


def event(type: str, **kw: Any) -> event_pb2.UniversalEvent:
    return event_pb2.UniversalEvent(type=type, **kw)


async def until(cond: Callable[[], bool]) -> None:
    while not cond():
        await asyncio.sleep(0.005)


def test_published_frames_get_sequences_in_stream_order_with_worker_language() -> None:
    async def body(server: HookwireServer, worker: RawWorker) -> None:
        got: list[Event] = []
        server.bus.subscribe("app.>", callback=got.append)
        timed = event("app.timed", source_language=common_pb2.LANGUAGE_LUA)
        timed.time.seconds, timed.time.nanos = 1_700_000_000, 60_000_000
        await worker.send(publish=bs.PublishRequest(events=[event("app.one"), timed]))
        await worker.send(publish=bs.PublishRequest(events=[event("app.three")]))
        await until(lambda: len(got) == 3)
        assert [(e.type, e.sequence) for e in got] == [
            ("app.one", 1),
            ("app.timed", 2),
            ("app.three", 3),
        ]
        # Unset language: the hello's; set language and time: kept as the worker sent them.
        assert [e.source_language for e in got] == ["javascript", "lua", "javascript"]
        assert got[1].time_ns == 1_700_000_000_060_000_000

    run(body)


def test_refused_batch_is_counted_logged_and_the_stream_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def body(server: HookwireServer, worker: RawWorker) -> None:
        got: list[Event] = []
        server.bus.subscribe(">", callback=got.append)
        # The whole batch is refused when one event is invalid.
        await worker.send(publish=bs.PublishRequest(events=[event("app.fine"), event("bad type!")]))
        await worker.send(publish=bs.PublishRequest(events=[event("app.after")]))
        await until(lambda: len(got) == 1)
        assert [(e.type, e.sequence) for e in got] == [("app.after", 1)]
        assert server.executor_service.publish_errors == 1

    with caplog.at_level(logging.WARNING):
        run(body)
    assert "events[1].type: invalid event type" in caplog.text


def test_hook_event_is_published_before_the_call_result_is_applied() -> None:
    async def body(server: HookwireServer, worker: RawWorker) -> None:
        pending_at_publish: list[int] = []
        conns = server.executor_service.connections.values

        def note(e: Event) -> None:  # is the call still waiting for its result?
            pending_at_publish.extend(c.in_flight for c in conns())

        server.bus.subscribe("app.>", callback=note)
        reg = hook_pb2.HookRegistration(name="h", point=hook_pb2.HOOK_POINT_BEFORE_TOOL_EXECUTION)
        reg.timeout.seconds = 5
        await worker.send(register=es.RegisterHooks(hooks=[reg], request_id=1))
        assert (await worker.read()).register_ack.error == ""
        run_chain = asyncio.create_task(server.executor.aexecute(POINT, HookContext(POINT, {})))
        call = (await worker.read()).call
        assert call.hook_name == "h"
        await worker.send(publish=bs.PublishRequest(events=[event("app.during")]))
        done = hook_pb2.HookResult()
        getattr(done, "continue").SetInParent()  # `continue` is a Python keyword
        await worker.send(result=es.HookCallResult(call_id=call.call_id, result=done))
        execution = await run_chain
        assert [s.hook_name for s in execution.trace] == ["h"]
        assert pending_at_publish == [1]  # published while the call was still in flight

    run(body, clock=VirtualClock())


def test_no_bus_refuses_and_counts() -> None:
    async def body(server: HookwireServer, worker: RawWorker) -> None:
        service = server.executor_service
        service.bus = None  # as an ExecutorService built without a bus
        await worker.send(publish=bs.PublishRequest(events=[event("app.x")]))
        await until(lambda: service.publish_errors == 1)
        assert server.bus.next_sequence == 1

    run(body)


def test_sdk_worker_publish_is_stamped_with_the_calls_virtual_time() -> None:
    clock = VirtualClock()

    async def body(server: HookwireServer, raw: RawWorker) -> None:
        got: list[Event] = []
        in_flight: list[int] = []

        def note(e: Event) -> None:
            got.append(e)
            in_flight.append(sum(c.in_flight for c in server.executor_service.connections.values()))

        server.bus.subscribe("app.>", callback=note)
        worker = Worker(server.address, virtual_clock=True)

        @worker.hook(POINT, timeout_ms=1000)
        def publishes(ctx: HookContext) -> None:
            worker.clock.advance_ms(60)
            worker.publish("app.sync", {"n": 1}, ttl_ms=5, metadata={"k": "v"})

        @worker.hook(POINT, priority=1, timeout_ms=1000)
        async def publishes_async(ctx: HookContext) -> None:
            await worker.clock.asleep(0.015)
            worker.publish("app.async")
            with pytest.raises(InvalidArgument, match="type: invalid event type 'bad type'"):
                worker.publish("bad type")

        start = clock.time_ns()
        async with worker:
            await server.executor.aexecute(POINT, HookContext(POINT, {}))
        assert [(e.type, e.sequence, e.source_language) for e in got] == [
            ("app.sync", 1, "python"),
            ("app.async", 2, "python"),
        ]
        assert in_flight == [1, 1]  # each before its call's result was applied
        assert [e.time_ns for e in got] == [start + 60_000_000, start + 75_000_000]
        assert (got[0].payload, got[0].ttl_ns, dict(got[0].metadata)) == (
            {"n": 1},
            5_000_000,
            {"k": "v"},
        )
        assert got[1].payload is NO_DATA

    run(body, clock=clock)


def test_sdk_worker_publish_outside_a_connection_is_failed_precondition() -> None:
    worker = Worker("127.0.0.1:1")
    with pytest.raises(FailedPrecondition, match="worker: not connected"):
        worker.publish("app.x", 1)
    with pytest.raises(InvalidArgument, match="ttl_ms: must be a number >= 0"):
        worker.publish("app.x", 1, ttl_ms=-1)
