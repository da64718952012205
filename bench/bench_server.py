"""gRPC server benchmarks (`python -m bench server`), each beside a raw grpcio baseline measured
in the same run. Servers and the remote worker run in their own processes, as in production.

- Subscribe throughput: a Python publisher -> hookwire server -> a Python subscriber (events/s;
  goal >= 150,000), against a raw grpcio server stream of batches of empty messages.
- Execute RPC with only local hooks (calls/s), against a bare grpcio unary echo.
- Remote Python hook round trip (execute -> worker -> result): p50 / p99 sequential, and calls/s
  with 64 calls in flight on one worker connection.
"""

from __future__ import annotations

import asyncio
import os
import select
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
from grpc import aio
from hookwire.runtime.wire.context import context_to_proto

ROOT = Path(__file__).resolve().parent.parent
POINT = "before_tool_execution"
BATCH = 256
_ECHO = "/bench.Raw/Echo"
_STREAM = "/bench.Raw/Stream"


# -- helper processes ----------------------------------------------------------------------


async def _serve_hookwire(local_hooks: int) -> None:
    from hookwire.runtime.server import HookwireServer, ServerConfig

    server = HookwireServer(config=ServerConfig(port=0, max_publish_batch=100_000))
    for i in range(local_hooks):
        server.registry.register(lambda ctx: None, name=f"noop{i}", point=POINT)
    print(await server.start(), flush=True)
    await _until_stdin_closes()
    await server.stop(1.0)


async def _serve_raw() -> None:
    from hookwire.v1 import event_pb2, event_service_pb2

    batch = event_service_pb2.EventBatch(
        events=[event_pb2.UniversalEvent() for _ in range(BATCH)]
    ).SerializeToString()

    async def echo(request: bytes, context: Any) -> bytes:
        return request

    async def stream(request: bytes, context: Any) -> AsyncIterator[bytes]:
        for _ in range(int(request.decode())):
            yield batch

    handler = grpc.method_handlers_generic_handler(
        "bench.Raw",
        {
            "Echo": grpc.unary_unary_rpc_method_handler(echo),
            "Stream": grpc.unary_stream_rpc_method_handler(stream),
        },
    )
    server = aio.server()
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    print(f"127.0.0.1:{port}", flush=True)
    await _until_stdin_closes()
    await server.stop(0)


async def _run_worker(address: str) -> None:
    from hookwire.sdk import Worker

    worker = Worker(address, worker_id="bench-worker")
    worker.register(lambda ctx: None, name="remote", point=POINT, timeout_ms=5_000)
    await worker.start()
    print("ready", flush=True)
    await _until_stdin_closes()
    await worker.stop()


async def _until_stdin_closes() -> None:
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


class _Proc:
    """A helper process started with `python -m bench.bench_server ROLE ...`."""

    def __init__(self, *args: str) -> None:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.bench_server", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=env,
        )
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], 60)
        self.line = self.proc.stdout.readline().strip() if ready else ""
        if not self.line:
            self.proc.kill()
            raise RuntimeError(f"helper {args} did not start within 60 s")

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# -- measurements ----------------------------------------------------------------------------


async def _subscribe_throughput(address: str, total: int) -> float:
    from hookwire.sdk import AsyncClient, Overflow, event
    from hookwire.v1 import event_service_pb2 as bs

    per_request = 2_000
    requests = [
        bs.PublishRequest(events=[event("bench.tick", {"i": i + j}) for j in range(per_request)])
        for i in range(0, total, per_request)
    ]
    async with AsyncClient(address) as pub, AsyncClient(address) as sub:
        stream = sub.subscribe_raw(
            "bench.>",
            from_sequence=1,  # the warm-up event is seen even if published first
            capacity=65_536,
            overflow=Overflow.backpressure(),
            max_batch_size=1024,
            resume=False,
        )
        received = 0
        first = asyncio.get_running_loop().create_future()

        async def consume() -> None:
            nonlocal received
            async for batch in stream:
                if not first.done():
                    first.set_result(None)
                received += len(batch.events)
                if received >= total + 1:
                    return

        consumer = asyncio.create_task(consume())
        # A first event proves the subscription is live before the clock starts.
        await pub.publish([event("bench.warmup")])
        await first
        began = time.perf_counter()
        pending = iter(requests)

        async def lane() -> None:
            for req in pending:
                await pub._bus.Publish(req, metadata=pub._metadata)

        # A few Publish RPCs in flight keep both processes busy (sequences stay total).
        await asyncio.gather(*(lane() for _ in range(4)))
        await consumer
        return total / (time.perf_counter() - began)


async def _raw_stream_throughput(address: str, total: int) -> float:
    async with aio.insecure_channel(address) as channel:
        stream: Any = channel.unary_stream(_STREAM)
        call = stream(str(total // BATCH).encode())
        from hookwire.v1 import event_service_pb2 as bs

        began = time.perf_counter()
        count = 0
        async for raw in call:
            count += len(bs.EventBatch.FromString(raw).events)
        return count / (time.perf_counter() - began)


async def _concurrent(make_call: Any, calls: int, in_flight: int) -> float:
    queue = iter(range(calls))

    async def lane() -> None:
        for _ in queue:
            await make_call()

    began = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(in_flight)))
    return calls / (time.perf_counter() - began)


async def _execute_rate(address: str, calls: int, in_flight: int) -> float:
    from hookwire.runtime.context import HookContext
    from hookwire.sdk import AsyncClient
    from hookwire.v1 import executor_service_pb2 as es

    req = es.ExecuteRequest(context=context_to_proto(HookContext(POINT, {"tool": "search"})))
    async with AsyncClient(address) as client:
        for _ in range(200):
            await client.execute_raw(req)
        return await _concurrent(lambda: client.execute_raw(req), calls, in_flight)


async def _echo_rate(address: str, calls: int, in_flight: int) -> float:
    from hookwire.runtime.context import HookContext
    from hookwire.v1 import executor_service_pb2 as es

    payload = es.ExecuteRequest(
        context=context_to_proto(HookContext(POINT, {"tool": "search"}))
    ).SerializeToString()
    async with aio.insecure_channel(address) as channel:
        echo: Any = channel.unary_unary(_ECHO)
        for _ in range(200):
            await echo(payload)
        return await _concurrent(lambda: echo(payload), calls, in_flight)


async def _latencies(address: str, calls: int) -> list[float]:
    from hookwire.runtime.context import HookContext
    from hookwire.sdk import AsyncClient
    from hookwire.v1 import executor_service_pb2 as es

    req = es.ExecuteRequest(context=context_to_proto(HookContext(POINT, {"tool": "search"})))
    out = []
    async with AsyncClient(address) as client:
        for _ in range(500):  # the worker registers asynchronously
            if [h.name for h in await client.list_hooks(POINT)] == ["remote"]:
                break
            await asyncio.sleep(0.01)
        for _ in range(200):
            await client.execute_raw(req)
        for _ in range(calls):
            t0 = time.perf_counter()
            resp = await client.execute_raw(req)
            out.append(time.perf_counter() - t0)
        assert resp.execution.trace[0].hook_name == "remote"
    return out


def _measure(coro: Any) -> Any:
    """Run one measurement, bounded so that a stuck helper cannot hang the benchmark."""

    async def bounded() -> Any:
        return await asyncio.wait_for(coro, 120)

    return asyncio.run(bounded())


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run() -> None:
    """Measure and print every figure with its baseline and ratio."""
    raw = _Proc("raw-server")
    plain = _Proc("hookwire-server", "0")
    local = _Proc("hookwire-server", "3")
    remote = _Proc("hookwire-server", "0")
    worker = _Proc("worker", remote.line)
    try:
        total = 200_000
        base = _measure(_raw_stream_throughput(raw.line, total))
        ours = _measure(_subscribe_throughput(plain.line, total))
        print(
            f"subscribe throughput (py publisher -> server -> py subscriber): "
            f"{ours:,.0f} events/s (goal >= 150,000)\n"
            f"  raw grpcio stream of batches of {BATCH} empty messages: {base:,.0f} msgs/s; "
            f"ratio {ours / base:.2f}",
            flush=True,
        )
        echo = _measure(_echo_rate(raw.line, 5_000, 16))
        execute = _measure(_execute_rate(local.line, 5_000, 16))
        print(
            f"execute RPC, 3 local no-op hooks, 16 in flight: {execute:,.0f} calls/s\n"
            f"  bare grpcio unary echo (same payload, 16 in flight): {echo:,.0f} calls/s; "
            f"ratio {execute / echo:.2f}",
            flush=True,
        )
        lat = _measure(_latencies(remote.line, 2_000))
        rate = _measure(_execute_rate(remote.line, 5_000, 64))
        print(
            f"remote python hook round trip (execute -> worker -> result), sequential: "
            f"p50 {_pct(lat, 0.5) * 1e6:,.0f} us, p99 {_pct(lat, 0.99) * 1e6:,.0f} us, "
            f"mean {statistics.fmean(lat) * 1e6:,.0f} us\n"
            f"  64 in flight on one worker connection: {rate:,.0f} calls/s"
        )
    finally:
        for p in (worker, remote, local, plain, raw):
            p.close()


def _main(argv: list[str]) -> None:
    role = argv[0]
    if role == "hookwire-server":
        asyncio.run(_serve_hookwire(int(argv[1])))
    elif role == "raw-server":
        asyncio.run(_serve_raw())
    elif role == "worker":
        asyncio.run(_run_worker(argv[1]))
    else:
        raise SystemExit(f"unknown role {role!r}")


if __name__ == "__main__":
    _main(sys.argv[1:])
