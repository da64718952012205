"""A worker process that connects, registers one hook, prints "ready" and never reads again.

Usage: python never_reading_worker.py HOST:PORT HOOK_NAME TIMEOUT_MS
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator

from grpc import aio
from hookwire.v1 import common_pb2, hook_pb2
from hookwire.v1 import executor_service_pb2 as es
from hookwire.v1 import executor_service_pb2_grpc as es_grpc


async def main(address: str, name: str, timeout_ms: int) -> None:
    registered = asyncio.Event()

    async def requests() -> AsyncIterator[es.WorkerMessage]:
        yield es.WorkerMessage(
            hello=es.WorkerHello(worker_id="never-reads", language=common_pb2.LANGUAGE_PYTHON)
        )
        hook = hook_pb2.HookRegistration(name=name, point=hook_pb2.HOOK_POINT_BEFORE_TOOL_EXECUTION)
        hook.timeout.seconds, ms = divmod(timeout_ms, 1000)
        hook.timeout.nanos = ms * 1_000_000
        yield es.WorkerMessage(register=es.RegisterHooks(hooks=[hook], request_id=1))
        await registered.wait()
        await asyncio.Event().wait()  # the stream stays open; nothing more is sent

    async with aio.insecure_channel(address) as channel:
        call = es_grpc.ExecutorServiceStub(channel).Connect(requests())
        await call.read()  # welcome
        ack = await call.read()
        assert isinstance(ack, es.ExecutorMessage)
        assert not ack.register_ack.error, ack.register_ack.error
        registered.set()
        print("ready", flush=True)
        await asyncio.Event().wait()  # never reads again


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
