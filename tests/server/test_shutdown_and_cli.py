"""Graceful shutdown loses nothing accepted; `hookwire serve` from the command line."""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import sys
from collections.abc import Callable

import grpc
import pytest
from grpc import aio
from hookwire.runtime.bus import Event, EventBus
from hookwire.runtime.context import HookContext
from hookwire.runtime.results import Modified
from hookwire.runtime.server.config import ServerConfig
from hookwire.runtime.server.server import HookwireServer, ServerThread
from hookwire.sdk import AsyncClient, Client, Subscription, event
from hookwire.sdk.errors import Unavailable
from hookwire.v1 import event_service_pb2 as bs
from hookwire.v1 import event_service_pb2_grpc as bs_grpc

POINT = "before_tool_execution"


def test_graceful_shutdown_drains_calls_and_queued_events() -> None:
    async def main() -> None:
        server = HookwireServer(config=ServerConfig(port=0, shutdown_grace_s=10.0))

        async def slow(ctx: HookContext) -> Modified:
            await asyncio.sleep(0.3)
            return Modified({"finished": True})

        server.registry.register(slow, name="slow", point=POINT, timeout_ms=5_000)
        address = await server.start()
        channel = aio.insecure_channel(address)
        stub = bs_grpc.EventBusServiceStub(channel)
        sub = stub.Subscribe(bs.SubscribeRequest(patterns=["load.*"], capacity=5000))
        while not server.bus.subscriptions():
            await asyncio.sleep(0.01)
        client = AsyncClient(address)
        accepted = await client.publish([event("load.x", i) for i in range(1000)])
        running = asyncio.create_task(client.execute(POINT, {}))
        while server.executor_service.in_flight == 0:
            await asyncio.sleep(0.005)
        stopping = asyncio.create_task(server.stop())
        await asyncio.sleep(0.05)
        # No new RPCs once shutdown began.
        late = AsyncClient(address)
        with pytest.raises(Unavailable):
            await late.execute(POINT, {}, timeout=2)
        await late.close()
        # The call that was running finishes normally.
        execution = await running
        assert execution.result == Modified({"finished": True})
        # Every accepted event still reaches the connected subscriber, then the stream ends
        # with UNAVAILABLE (so clients resume elsewhere), not with a silent OK.
        got: list[int] = []
        with pytest.raises(grpc.RpcError) as info:
            async for batch in sub:
                got.extend(e.sequence for e in batch.events)
        assert info.value.code() == grpc.StatusCode.UNAVAILABLE
        assert got == accepted
        await asyncio.wait_for(stopping, 10)
        await client.close()
        await channel.close()

    asyncio.run(main())


def test_cli_serves_prints_address_and_stops_on_sigterm() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "hookwire.runtime.cli", "serve", "--port", "0", "--token", "t0k"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.match(
            r"hookwire serving on (127\.0\.0\.1:\d+) \(insecure, token auth, uvloop\)", line
        )
        assert match, line
        with Client(match.group(1), token="t0k") as client:
            assert client.execute("session_start", {}).result.kind == "CONTINUE"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
        assert "shutting down" in proc.stdout.read()
    finally:
        proc.kill()
        proc.wait()


def test_cli_rejects_bad_flags_naming_them(tmp_path: object) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "hookwire.runtime.cli",
            "serve",
            "--port",
            "0",
            "--tls-cert",
            "/nonexistent/cert.pem",
            "--tls-key",
            "/nonexistent/key.pem",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "--tls-cert" in result.stderr
    result = subprocess.run(
        [sys.executable, "-m", "hookwire.runtime.cli", "serve", "--port", "70000"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2 and "port" in result.stderr


def test_sync_client_subscription_survives_a_server_restart(
    start_server: Callable[..., ServerThread],
) -> None:
    bus = EventBus()
    first = start_server(bus=bus)
    port = int(first.address.rsplit(":", 1)[1])
    bus.publish_batch([Event("e", i) for i in range(1, 4)])
    seen: list[int] = []
    state = Subscription()
    with Client(first.address) as client:
        batches = client.subscribe_raw("e", from_sequence=1, state=state)
        while len(seen) < 3:
            seen.extend(e.sequence for e in next(batches).events)
        first.stop(grace_s=1.0)  # the stream ends UNAVAILABLE after what was queued
        bus.publish_batch([Event("e", i) for i in range(4, 7)])  # while no server is up
        start_server(bus=bus, config=ServerConfig(port=port, shutdown_grace_s=1.0))
        while len(seen) < 6:
            seen.extend(e.sequence for e in next(batches).events)
    assert seen == [1, 2, 3, 4, 5, 6]
    assert state.reconnects >= 1 and state.last_sequence == 6
