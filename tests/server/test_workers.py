"""Remote Python workers over Connect: chains mixing remote and local hooks, multiplexing,
timeouts and cancellation, a worker killed mid-call, registration errors, virtual time,
reconnect."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from hookwire.runtime.breaker import BreakerConfig
from hookwire.runtime.clock import VirtualClock
from hookwire.runtime.context import HookContext
from hookwire.runtime.errors import AlreadyExists, FailedPrecondition
from hookwire.runtime.registry import FailurePolicy
from hookwire.runtime.results import Cancel, Modified, Outcome
from hookwire.runtime.server.config import ServerConfig
from hookwire.runtime.server.server import HookwireServer, ServerThread
from hookwire.sdk import AsyncClient, Client, Worker

POINT = "before_tool_execution"
StartServer = Callable[..., ServerThread]


def run(body: Callable[[HookwireServer], Awaitable[None]], **kwargs: Any) -> None:
    """Run `body(server)` with a started server on one event loop; always stop it."""

    async def main() -> None:
        server = HookwireServer(config=ServerConfig(port=0, shutdown_grace_s=2.0), **kwargs)
        await server.start()
        try:
            await asyncio.wait_for(body(server), 30)
        finally:
            await server.stop()

    asyncio.run(main())


def test_remote_hook_joins_local_chain_in_priority_order() -> None:
    async def body(server: HookwireServer) -> None:
        server.registry.register(
            lambda ctx: Modified({"trail": ["local-first"]}), name="l1", point=POINT, priority=-100
        )
        server.registry.register(
            lambda ctx: Modified({"trail": [*ctx.data["trail"], "local-last"]}),
            name="l2",
            point=POINT,
            priority=100,
        )
        worker = Worker(server.address, worker_id="w")

        @worker.hook(POINT, priority=0)
        async def remote(ctx: HookContext) -> Modified:
            return Modified({"trail": [*ctx.data["trail"], "remote"]})

        async with worker, AsyncClient(server.address) as client:
            ex = await client.execute(POINT, {"trail": []})
            assert [t.hook_name for t in ex.trace] == ["l1", "remote", "l2"]
            assert ex.result == Modified({"trail": ["local-first", "remote", "local-last"]})
            hooks = await client.list_hooks(POINT)
            assert [h.name for h in hooks] == ["l1", "remote", "l2"]
        # The worker closed its stream: its hook is gone, the local ones stay.
        await asyncio.sleep(0.05)
        assert [s.name for s in server.registry.hooks(POINT)] == ["l1", "l2"]

    run(body)


def test_many_calls_multiplexed_on_one_worker() -> None:
    async def body(server: HookwireServer) -> None:
        worker = Worker(server.address)
        active = 0
        peak = 0

        # Every call takes 0.2 s, "slow" by the default breaker: on a loaded machine the calls
        # that start late would find the breaker opened by the first ones to finish.
        @worker.hook(POINT, timeout_ms=5_000, breaker=BreakerConfig(slow_call_duration_ns=10**10))
        async def echo(ctx: HookContext) -> Modified:
            nonlocal active, peak
            active += 1
            peak = max(peak, active)
            await asyncio.sleep(0.2)
            active -= 1
            return Modified({"echo": ctx.data["i"] * 3})

        async with worker, AsyncClient(server.address) as client:
            began = time.monotonic()
            results = await asyncio.gather(*(client.execute(POINT, {"i": i}) for i in range(64)))
            elapsed = time.monotonic() - began
        assert [r.context.data["echo"] for r in results] == [i * 3 for i in range(64)]
        assert peak >= 32, peak  # calls really were in flight together on one stream
        # 64 x 0.2 s would be 12.8 s one at a time; half of that leaves room for a loaded machine.
        assert elapsed < 6.4, elapsed

    run(body)


def test_remote_timeout_cancels_the_call_on_the_worker() -> None:
    cancelled = asyncio.Event()

    async def body(server: HookwireServer) -> None:
        worker = Worker(server.address)

        @worker.hook(POINT, timeout_ms=100)
        async def sleepy(ctx: HookContext) -> None:
            try:
                await asyncio.sleep(5)
            except asyncio.CancelledError:
                cancelled.set()
                raise

        async with worker, AsyncClient(server.address) as client:
            ex = await client.execute(POINT, {})
            assert [(t.outcome, t.reason) for t in ex.trace] == [(Outcome.TIMEOUT, "timeout")]
            await asyncio.wait_for(cancelled.wait(), 2)
            breakers = await client.breaker_states("sleepy")
            assert breakers["sleepy"].window_failures == 1

    run(body)


def test_remote_errors_and_invalid_results() -> None:
    async def body(server: HookwireServer) -> None:
        worker = Worker(server.address)

        @worker.hook(POINT, priority=1)
        def raises(ctx: HookContext) -> None:
            raise ValueError("bad input")

        @worker.hook(POINT, priority=2)
        def weird(ctx: HookContext) -> Any:
            return 42

        @worker.hook(POINT, priority=3, failure_policy=FailurePolicy.FAIL_CLOSED)
        async def closes(ctx: HookContext) -> None:
            raise KeyError("k")

        async with worker, AsyncClient(server.address) as client:
            ex = await client.execute(POINT, {})
        assert [(t.hook_name, t.outcome) for t in ex.trace] == [
            ("raises", Outcome.ERROR),
            ("weird", Outcome.ERROR),
            ("closes", Outcome.ERROR),
        ]
        assert ex.trace[0].reason == "bad input"  # the message alone, as in-process
        assert ex.trace[1].reason == "invalid_result"
        assert isinstance(ex.result, Cancel) and ex.result.reason.startswith("hook closes failed")

    run(body)


def test_registration_conflict_is_already_exists_and_atomic() -> None:
    async def body(server: HookwireServer) -> None:
        server.registry.register(lambda ctx: None, name="taken", point=POINT)
        worker = Worker(server.address, reconnect=False)
        worker.register(lambda ctx: None, name="fresh", point=POINT)
        worker.register(lambda ctx: None, name="taken", point=POINT)
        with pytest.raises(AlreadyExists) as info:
            await worker.start()
        assert info.value.field == "hooks[1].name"
        # All or nothing: "fresh" was not left behind.
        assert [s.name for s in server.registry.hooks(POINT)] == ["taken"]

        ok = Worker(server.address)
        async with ok:
            with pytest.raises(AlreadyExists):
                await ok.register_now(lambda ctx: None, name="taken", point="session_start")
            await ok.register_now(lambda ctx: None, name="later", point="session_start")
            assert "later" in server.registry
            await ok.unregister("later")
            assert "later" not in server.registry

    run(body)


def test_virtual_clock_remote_hook_takes_exactly_what_it_advances() -> None:
    clock = VirtualClock()

    async def body(server: HookwireServer) -> None:
        worker = Worker(server.address, virtual_clock=True)

        @worker.hook(POINT, priority=1, timeout_ms=100)
        def takes_60ms(ctx: HookContext) -> Modified:
            worker.clock.advance_ms(60)
            return Modified({"started_at": worker.clock.time_ns() - 60_000_000})

        @worker.hook(POINT, priority=2, timeout_ms=100)
        async def takes_150ms(ctx: HookContext) -> Modified:
            await worker.clock.asleep(0.150)
            return Modified({"late": True})

        async with worker, AsyncClient(server.address) as client:
            before_mono, before_wall = clock.monotonic_ns(), clock.time_ns()
            ex = await client.execute(POINT, {})
        assert [(t.outcome, t.duration_ns, t.slow) for t in ex.trace] == [
            (Outcome.MODIFIED, 60_000_000, True),
            (Outcome.TIMEOUT, 150_000_000, True),
        ]
        assert ex.context.data == {"started_at": before_wall}  # the worker saw executor time
        assert "late" not in ex.context.data  # a timed-out result is discarded
        assert clock.monotonic_ns() - before_mono == 210_000_000

    run(body, clock=clock)


def test_virtual_worker_refused_by_real_clock_executor() -> None:
    async def body(server: HookwireServer) -> None:
        worker = Worker(server.address, virtual_clock=True, reconnect=False)
        with pytest.raises(FailedPrecondition) as info:
            await worker.start()
        assert info.value.field == "hello.virtual_clock"

    run(body)


def test_worker_reconnects_and_registers_again() -> None:
    async def body(server: HookwireServer) -> None:
        worker = Worker(server.address, backoff_initial_s=0.01, backoff_max_s=0.05)

        @worker.hook(POINT)
        def mark(ctx: HookContext) -> Modified:
            return Modified({"served": True})

        async with worker, AsyncClient(server.address) as client:
            assert worker.sessions == 1
            first_conn = worker.connection_id
            # Drop the connection from the server side, as a network failure would.
            svc = server.executor_service
            for conn in list(svc.connections.values()):
                svc._disconnect(conn, "test drops the connection")
            assert "mark" not in server.registry
            for _ in range(200):
                if worker.connected and worker.sessions == 2 and "mark" in server.registry:
                    break
                await asyncio.sleep(0.01)
            assert worker.sessions == 2 and worker.connection_id != first_conn
            ex = await client.execute(POINT, {})
            assert ex.context.data == {"served": True}

    run(body)


# -- a worker process killed mid-call ------------------------------------------------------

WORKER_SCRIPT = Path(__file__).with_name("worker_proc.py")


def _spawn_worker(address: str, policy: str) -> subprocess.Popen[str]:
    env = dict(os.environ)
    proc = subprocess.Popen(
        [sys.executable, str(WORKER_SCRIPT), address, policy],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    assert line == "READY", line
    return proc


@pytest.mark.parametrize("policy", ["FAIL_OPEN", "FAIL_CLOSED"])
def test_worker_killed_mid_call_fails_its_call_at_once(
    start_server: StartServer, policy: str
) -> None:
    def setup(server: HookwireServer) -> None:
        server.registry.register(
            lambda ctx: Modified({"after": True}), name="after", point=POINT, priority=100
        )

    st = start_server(setup)
    proc = _spawn_worker(st.address, policy)
    try:
        outcome: dict[str, Any] = {}

        def call() -> None:
            with Client(st.address) as client:
                outcome["execution"] = client.execute(POINT, {}, timeout=20)
                outcome["done_at"] = time.monotonic()

        caller = threading.Thread(target=call)
        caller.start()
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "CALLED"
        killed_at = time.monotonic()
        os.kill(proc.pid, signal.SIGKILL)
        caller.join(10)
        assert not caller.is_alive()
    finally:
        proc.kill()
        proc.wait()
    ex = outcome["execution"]
    assert outcome["done_at"] - killed_at < 2.0  # failed at once, not at the 30 s timeout
    victim = ex.trace[0]
    assert (victim.hook_name, victim.outcome) == ("victim", Outcome.ERROR)
    assert "disconnected" in victim.reason
    assert victim.breaker_state == "OPEN"  # the breaker counted the failure
    if policy == "FAIL_OPEN":
        assert [t.hook_name for t in ex.trace] == ["victim", "after"]
        assert ex.result == Modified({"after": True})
    else:
        assert [t.hook_name for t in ex.trace] == ["victim"]
        assert isinstance(ex.result, Cancel) and "hook victim failed" in ex.result.reason
    with Client(st.address) as client:
        assert [h.name for h in client.list_hooks(POINT)] == ["after"]
