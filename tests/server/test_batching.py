"""Batching on the worker stream, over real gRPC with a hand-driven worker: a worker that said
`batching` gets calls queued together as one call_batch, one that did not never does, and a
result_batch (accepted from any worker) completes each call by its id."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from google.protobuf.duration_pb2 import Duration
from grpc import aio
from hookwire.runtime.context import HookContext
from hookwire.runtime.results import Modified
from hookwire.runtime.server.config import ServerConfig
from hookwire.runtime.server.server import HookwireServer
from hookwire.runtime.wire.context import context_from_proto
from hookwire.runtime.wire.results import result_to_proto
from hookwire.v1 import common_pb2, hook_pb2
from hookwire.v1 import executor_service_pb2 as es
from hookwire.v1.executor_service_pb2_grpc import ExecutorServiceStub

POINT = "before_tool_execution"
N = 8


async def _read(
    call: aio.StreamStreamCall[es.WorkerMessage, es.ExecutorMessage],
) -> es.ExecutorMessage:
    message = await asyncio.wait_for(call.read(), 5.0)
    assert isinstance(message, es.ExecutorMessage)
    return message


async def _drive(batching: bool) -> tuple[bool, list[list[int]], list[object]]:
    """Connect a raw worker, run N executions at once, answer all calls in one result_batch in
    reverse order; return (welcome.batching, the call ids of each frame, the results)."""
    server = HookwireServer(config=ServerConfig(port=0, shutdown_grace_s=2.0))
    await server.start()
    channel = aio.insecure_channel(server.address)
    try:
        call = ExecutorServiceStub(channel).Connect()
        await call.write(
            es.WorkerMessage(
                hello=es.WorkerHello(
                    worker_id="raw", language=common_pb2.LANGUAGE_PYTHON, batching=batching
                )
            )
        )
        welcome = await _read(call)
        reg = hook_pb2.HookRegistration(
            name="triple",
            point=hook_pb2.HOOK_POINT_BEFORE_TOOL_EXECUTION,
            language=common_pb2.LANGUAGE_PYTHON,
            timeout=Duration(seconds=5),
        )
        await call.write(es.WorkerMessage(register=es.RegisterHooks(hooks=[reg], request_id=1)))
        ack = await _read(call)
        assert ack.register_ack.error == ""
        # Created together: every call is queued before the writer runs once.
        runs = [
            asyncio.create_task(server.executor.aexecute(POINT, HookContext(POINT, {"i": i})))
            for i in range(N)
        ]
        frames: list[list[int]] = []
        calls: list[es.HookCall] = []
        while len(calls) < N:
            message = await _read(call)
            kind = message.WhichOneof("message")
            got = [message.call] if kind == "call" else list(message.call_batch.calls)
            assert kind in ("call", "call_batch")
            frames.append([c.call_id for c in got])
            calls.extend(got)
        batch = es.WorkerMessage()
        for c in reversed(calls):
            i = context_from_proto(c.context).data["i"]
            result = batch.result_batch.results.add(call_id=c.call_id)
            result.result.CopyFrom(result_to_proto(Modified({"i": i, "tripled": i * 3})))
        await call.write(batch)
        executions = await asyncio.wait_for(asyncio.gather(*runs), 5.0)
        await call.done_writing()
        return welcome.welcome.batching, frames, [e.result for e in executions]
    finally:
        await channel.close()
        await server.stop()


@pytest.mark.parametrize("batching", [True, False])
def test_batches_only_to_a_batching_worker_and_batched_results_match_by_id(
    batching: bool,
) -> None:
    welcomed_batching, frames, results = asyncio.run(_drive(batching))
    assert welcomed_batching  # this executor takes result_batch from anyone
    assert sorted(i for frame in frames for i in frame) == list(range(1, N + 1))
    if batching:
        assert any(len(frame) > 1 for frame in frames), frames
    else:
        assert all(len(frame) == 1 for frame in frames), frames
    assert results == [Modified({"i": i, "tripled": i * 3}) for i in range(N)]


def test_writer_batches_only_consecutive_calls_and_keeps_order() -> None:
    from hookwire.runtime.clock import SystemClock
    from hookwire.runtime.worker_connection import StreamConnection

    async def main() -> list[tuple[str, list[int]]]:
        conn = StreamConnection("c1", "w1", "javascript", clock=SystemClock(), batching=True)
        for msg in (
            es.ExecutorMessage(call=es.HookCall(call_id=1)),
            es.ExecutorMessage(call=es.HookCall(call_id=2)),
            es.ExecutorMessage(cancel=es.CancelCall(call_id=9)),
            es.ExecutorMessage(call=es.HookCall(call_id=3)),
            es.ExecutorMessage(cancel=es.CancelCall(call_id=8)),
            es.ExecutorMessage(call=es.HookCall(call_id=4)),
            es.ExecutorMessage(call=es.HookCall(call_id=5)),
            es.ExecutorMessage(call=es.HookCall(call_id=6)),
        ):
            conn.send(msg)
        out: list[tuple[str, list[int]]] = []
        frames = conn.outgoing()
        for _ in range(5):  # everything was queued before the writer first ran
            m = await anext(frames)
            kind = m.WhichOneof("message") or ""
            if kind == "call_batch":
                out.append((kind, [c.call_id for c in m.call_batch.calls]))
            elif kind == "call":
                out.append((kind, [m.call.call_id]))
            else:
                out.append((kind, [m.cancel.call_id]))
        return out

    assert asyncio.run(main()) == [
        ("call_batch", [1, 2]),
        ("cancel", [9]),
        ("call", [3]),
        ("cancel", [8]),
        ("call_batch", [4, 5, 6]),
    ]


def test_python_sdk_worker_takes_call_batches_and_answers_each(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from hookwire.runtime.worker_connection import stream
    from hookwire.sdk import Worker

    sent: list[str] = []
    take = stream.StreamConnection._take_batch

    def recording(self: Any, first: es.ExecutorMessage) -> es.ExecutorMessage:
        message = take(self, first)
        sent.append(message.WhichOneof("message") or "")
        return message

    monkeypatch.setattr(stream.StreamConnection, "_take_batch", recording)

    async def main() -> list[object]:
        server = HookwireServer(config=ServerConfig(port=0, shutdown_grace_s=2.0))
        await server.start()
        try:
            worker = Worker(server.address, worker_id="py")

            @worker.hook(POINT, timeout_ms=5_000)
            async def double(ctx: HookContext) -> Modified:
                await asyncio.sleep(0.01)
                return Modified({"doubled": ctx.data["i"] * 2})

            async with worker:
                runs = [
                    server.executor.aexecute(POINT, HookContext(POINT, {"i": i})) for i in range(N)
                ]
                executions = await asyncio.wait_for(asyncio.gather(*runs), 10.0)
            return [e.result for e in executions]
        finally:
            await server.stop()

    results = asyncio.run(main())
    assert "call_batch" in sent, sent
    assert results == [Modified({"i": i, "doubled": i * 2}) for i in range(N)]


def test_python_sdk_worker_answers_results_queued_together_as_one_result_batch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from hookwire.sdk import Worker
    from hookwire.sdk import worker as worker_module

    frames: list[tuple[str, int]] = []

    class Recording:
        """The worker's stream call, recording the kind and result count of each frame."""

        def __init__(self, call: Any) -> None:
            self._call = call

        def __getattr__(self, name: str) -> Any:
            return getattr(self._call, name)

        async def write(self, message: es.WorkerMessage) -> None:
            kind = message.WhichOneof("message") or ""
            n = len(message.result_batch.results) if kind == "result_batch" else 1
            frames.append((kind, n))
            await self._call.write(message)

    class RecordingSession(worker_module._Session):
        def __init__(self, call: Any) -> None:
            super().__init__(Recording(call))

    monkeypatch.setattr(worker_module, "_Session", RecordingSession)

    async def main() -> tuple[list[object], list[object]]:
        server = HookwireServer(config=ServerConfig(port=0, shutdown_grace_s=2.0))
        await server.start()
        try:
            worker = Worker(server.address, worker_id="py")

            @worker.hook(POINT, timeout_ms=5_000)
            def triple(ctx: HookContext) -> Modified:  # sync: answered inline, queued together
                return Modified({"tripled": ctx.data["i"] * 3})

            async with worker:
                runs = [
                    server.executor.aexecute(POINT, HookContext(POINT, {"i": i})) for i in range(N)
                ]
                together = await asyncio.wait_for(asyncio.gather(*runs), 10.0)
                alone = await server.executor.aexecute(POINT, HookContext(POINT, {"i": 100}))
            return [e.result for e in together], [alone.result]
        finally:
            await server.stop()

    together, alone = asyncio.run(main())
    assert together == [Modified({"i": i, "tripled": i * 3}) for i in range(N)]
    assert alone == [Modified({"i": 100, "tripled": 300})]
    results = [(kind, n) for kind, n in frames if kind in ("result", "result_batch")]
    # Every answer went back exactly once, and the calls that came together went back in
    # fewer frames than calls; the lone call's answer is a plain result frame.
    assert sum(n for _, n in results) == N + 1, frames
    assert any(kind == "result_batch" for kind, _ in results), frames
    assert len(results) < N + 1, frames
    assert results[-1] == ("result", 1), frames
