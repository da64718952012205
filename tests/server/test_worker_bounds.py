"""Workers that misbehave: one that stops reading its stream, huge registrations, a stream that
dies before the registration is answered. The server stays bounded and responsive, and every
call ends with a typed outcome."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc import aio
from grpc_health.v1 import health_pb2, health_pb2_grpc  # type: ignore[import-untyped]
from hookwire.runtime.context import HookContext
from hookwire.runtime.errors import RateLimited
from hookwire.runtime.limits import MAX_NAME_BYTES
from hookwire.runtime.results import Outcome
from hookwire.runtime.server.config import ServerConfig
from hookwire.runtime.server.server import HookwireServer, ServerThread
from hookwire.sdk import Worker
from hookwire.v1 import common_pb2, hook_pb2
from hookwire.v1 import executor_service_pb2 as es
from hookwire.v1 import executor_service_pb2_grpc as es_grpc

POINT = "before_tool_execution"
MiB = 1024 * 1024
NEVER_READS = Path(__file__).with_name("never_reading_worker.py")


def run(body: Callable[[HookwireServer], Awaitable[None]], config: ServerConfig) -> None:
    async def main() -> None:
        server = HookwireServer(config=config)
        await server.start()
        try:
            await asyncio.wait_for(body(server), 60)
        finally:
            await server.stop(grace_s=1.0)

    asyncio.run(main())


def _hooks(n: int, *, name: Callable[[int], str] = lambda i: f"h{i}") -> list[Any]:
    return [
        hook_pb2.HookRegistration(name=name(i), point=hook_pb2.HOOK_POINT_BEFORE_TOOL_EXECUTION)
        for i in range(n)
    ]


class RawWorker:
    """A worker on a bare Connect stream whose reading the test controls."""

    def __init__(self, channel: aio.Channel) -> None:
        self._out: asyncio.Queue[es.WorkerMessage | None] = asyncio.Queue()
        self.call = es_grpc.ExecutorServiceStub(channel).Connect(self._requests())

    async def _requests(self) -> AsyncIterator[es.WorkerMessage]:
        while (message := await self._out.get()) is not None:
            yield message

    async def hello_and_register(self, hooks: list[Any]) -> es.RegisterHooksAck:
        await self._out.put(
            es.WorkerMessage(
                hello=es.WorkerHello(worker_id="raw", language=common_pb2.LANGUAGE_PYTHON)
            )
        )
        welcome = await self.call.read()
        assert isinstance(welcome, es.ExecutorMessage)
        assert welcome.WhichOneof("message") == "welcome"
        await self._out.put(es.WorkerMessage(register=es.RegisterHooks(hooks=hooks, request_id=1)))
        ack = await self.call.read()
        assert isinstance(ack, es.ExecutorMessage)
        assert ack.WhichOneof("message") == "register_ack"
        return ack.register_ack


def _rss_bytes() -> int:
    """Resident set size, after handing freed heap memory back to the OS (glibc keeps freed
    1 MiB blocks otherwise, and RSS would count them)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    with open(f"/proc/{os.getpid()}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_calls_to_a_worker_that_never_reads_time_out_and_leave_the_queue() -> None:
    """A worker process that never reads its stream; 400 calls of 1 MiB each time out
    unanswered. Timed-out calls leave the outbox at once, so the server's memory stays bounded
    (before: every one stayed queued, RSS grew by 400 MiB and more)."""

    async def body(server: HookwireServer) -> None:
        proc = subprocess.Popen(
            [sys.executable, str(NEVER_READS), server.address, "stuck", "30"],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert proc.stdout is not None
            line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 20)
            assert line.strip() == "ready"
            (connection,) = server.executor_service.connections.values()
            blob = "x" * MiB
            rss_before = _rss_bytes()
            peak_queued = 0

            async def one(i: int) -> None:
                nonlocal peak_queued
                ctx = HookContext(POINT, {"blob": blob, "i": i})
                execution = await server.executor.aexecute(POINT, ctx)
                assert execution.trace[0].outcome is Outcome.TIMEOUT
                peak_queued = max(peak_queued, connection.queued_bytes)

            for start in range(0, 400, 10):
                server.executor.reset_breaker("stuck")  # keep calling it
                await asyncio.gather(*(one(i) for i in range(start, start + 10)))
            grown = _rss_bytes() - rss_before
            assert connection.queued_bytes == 0, connection.queued_bytes
            assert peak_queued <= 11 * MiB, peak_queued
            assert grown < 200 * MiB, f"server RSS grew by {grown / MiB:.0f} MiB"
            proc.kill()
            proc.wait(10)
            for _ in range(100):  # the worker left: its connection and hooks go
                if not server.executor_service.connections:
                    break
                await asyncio.sleep(0.05)
            assert connection.closed and "stuck" not in server.registry
        finally:
            proc.kill()
            proc.wait(10)

    run(body, ServerConfig(port=0, shutdown_grace_s=1.0))


def test_a_worker_over_its_queue_bound_fails_its_calls_and_is_dropped() -> None:
    async def body(server: HookwireServer) -> None:
        async with aio.insecure_channel(server.address) as channel:
            worker = RawWorker(channel)
            slow = hook_pb2.HookRegistration(
                name="stuck", point=hook_pb2.HOOK_POINT_BEFORE_TOOL_EXECUTION
            )
            slow.timeout.seconds = 20  # the bound, not the timeout, must end these calls
            ack = await worker.hello_and_register([slow])
            assert not ack.error
            (connection,) = server.executor_service.connections.values()
            blob = "x" * MiB
            started = time.monotonic()
            executions = await asyncio.gather(
                *(
                    server.executor.aexecute(POINT, HookContext(POINT, {"blob": blob, "i": i}))
                    for i in range(40)
                )
            )
            assert time.monotonic() - started < 10
            # Every call has a typed outcome naming the reason, none is silently lost: ERROR
            # for the calls the worker failed, then SKIPPED once the breaker opened on them;
            # calls started after the worker was dropped find no hook to call.
            outcomes = {(e.trace[0].outcome, e.trace[0].reason) for e in executions if e.trace}
            errors = {r for o, r in outcomes if o is Outcome.ERROR}
            assert errors and all("is not reading its stream" in r for r in errors), outcomes
            assert {o for o, _ in outcomes} <= {Outcome.ERROR, Outcome.SKIPPED}, outcomes
            assert connection.closed and connection.queued_bytes == 0
            assert "stuck" not in server.registry
            # The worker's stream ends with RESOURCE_EXHAUSTED naming why.
            with contextlib.suppress(grpc.RpcError):
                while await asyncio.wait_for(worker.call.read(), 10) is not aio.EOF:
                    pass
            assert await worker.call.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert "not reading its stream" in await worker.call.details()

    run(body, ServerConfig(port=0, shutdown_grace_s=1.0, worker_queue_bytes=8 * MiB))


def test_registration_caps_name_length_and_hook_count() -> None:
    async def body(server: HookwireServer) -> None:
        async with aio.insecure_channel(server.address) as channel:
            worker = RawWorker(channel)
            ack = await worker.hello_and_register(
                _hooks(2, name=lambda i: "ok" if i == 0 else "n" * (MAX_NAME_BYTES + 1))
            )
            assert ack.code == "INVALID_ARGUMENT"
            assert ack.error.startswith("hooks[1].name: is 257 bytes long"), ack.error
            assert "ok" not in server.registry  # all or nothing
            worker.call.cancel()
        async with aio.insecure_channel(server.address) as channel:
            worker = RawWorker(channel)
            ack = await worker.hello_and_register(_hooks(101))
            assert ack.code == "RESOURCE_EXHAUSTED"
            assert ack.error.startswith("hooks: this worker would have 101 hooks; at most 100")
            assert len(server.registry) == 0
            worker.call.cancel()

    run(body, ServerConfig(port=0, shutdown_grace_s=1.0, max_hooks_per_worker=100))


def test_a_huge_registration_does_not_stall_other_rpcs() -> None:
    """20,000 hooks in one Connect while a health check runs in a loop from another thread:
    no check waits for more than a slice of the registration (before: the registration was
    quadratic and ran in one go, about 6 s, and a check waited all of it)."""
    n = 20_000
    with ServerThread(
        config=ServerConfig(port=0, shutdown_grace_s=1.0, max_hooks_per_worker=n)
    ) as st:
        latencies: list[float] = []
        done = threading.Event()

        def probe() -> None:
            with grpc.insecure_channel(st.address) as channel:
                check = health_pb2_grpc.HealthStub(channel).Check
                check(health_pb2.HealthCheckRequest(), timeout=10)
                while not done.is_set():
                    t0 = time.perf_counter()
                    check(health_pb2.HealthCheckRequest(), timeout=10)
                    latencies.append(time.perf_counter() - t0)
                    time.sleep(0.005)

        prober = threading.Thread(target=probe)
        prober.start()
        try:

            async def register() -> tuple[es.RegisterHooksAck, float]:
                async with aio.insecure_channel(st.address) as channel:
                    worker = RawWorker(channel)
                    await asyncio.sleep(0.2)
                    t0 = time.perf_counter()
                    ack = await worker.hello_and_register(_hooks(n))
                    took = time.perf_counter() - t0
                    worker.call.cancel()
                    return ack, took

            ack, took = asyncio.run(register())
        finally:
            done.set()
            prober.join(20)
        assert not ack.error, ack.error
        assert latencies
        worst = max(latencies)
        # Relative to the registration's own time, so that a loaded machine slows both: run in
        # one go (before), a check waited about as long as the whole registration took. A fast
        # registration (well under a second) still has one indivisible step, reading the
        # 20,000-hook message, so the bound is never below a second.
        assert worst < max(took / 2, 1.0), f"a health check waited {worst:.2f} s of {took:.2f} s"
        assert worst < 2.0, f"a health check waited {worst:.2f} s"


def test_worker_start_raises_when_the_stream_dies_before_the_registration_ack() -> None:
    """The registration exceeds the server's message limit: the server ends the stream with
    RESOURCE_EXHAUSTED before any ack. start() raises it (before: it waited forever)."""

    async def body(server: HookwireServer) -> None:
        worker = Worker(server.address, worker_id="big", reconnect=False)
        for i in range(200):
            worker.register(lambda ctx: None, name=f"hook-{i:03d}-" + "n" * 200, point=POINT)
        with pytest.raises(RateLimited):
            await asyncio.wait_for(worker.start(), 10)
        await worker.stop()

    run(body, ServerConfig(port=0, shutdown_grace_s=1.0, max_message_bytes=16 * 1024))


def test_a_bad_breaker_setting_is_named_once() -> None:
    from hookwire.runtime.errors import InvalidArgument
    from hookwire.runtime.wire.registration import spec_from_proto

    reg = hook_pb2.HookRegistration(name="h", point=hook_pb2.HOOK_POINT_BEFORE_TOOL_EXECUTION)
    reg.breaker.minimum_calls = 1_000_000
    with pytest.raises(InvalidArgument) as info:
        spec_from_proto(reg, "hooks[0]")
    assert info.value.field == "hooks[0].breaker.minimum_calls"
