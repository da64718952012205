"""The server's event loop: uvloop by default when installed, asyncio on request, and the same
behaviour on both (a remote hook's round trip and an event stream, end to end)."""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
import subprocess
import sys

import pytest
from hookwire.runtime.context import HookContext
from hookwire.runtime.errors import FailedPrecondition, InvalidArgument
from hookwire.runtime.results import Modified
from hookwire.runtime.server import HookwireServer, ServerConfig
from hookwire.runtime.server.event_loop import loop_factory, loop_name, new_event_loop, run
from hookwire.runtime.server.server import ServerThread
from hookwire.sdk import AsyncClient, Worker, event

POINT = "before_tool_execution"


def test_auto_prefers_uvloop_and_asyncio_can_be_forced() -> None:
    for kind, expected in (("auto", "uvloop"), ("uvloop", "uvloop"), ("asyncio", "asyncio")):
        loop = new_event_loop(kind)
        try:
            assert loop_name(loop) == expected, kind
        finally:
            loop.close()


def test_unknown_loop_is_invalid_argument_naming_it() -> None:
    with pytest.raises(InvalidArgument, match=r"loop: unknown event loop 'trio'"):
        loop_factory("trio")

    async def never() -> None:  # pragma: no cover - must not run
        raise AssertionError

    with pytest.raises(InvalidArgument):
        run(never(), "trio")


def test_without_uvloop_auto_falls_back_and_uvloop_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # makes `import uvloop` fail
    loop = new_event_loop("auto")
    try:
        assert loop_name(loop) == "asyncio"
    finally:
        loop.close()
    with pytest.raises(FailedPrecondition, match="uvloop is not installed"):
        new_event_loop("uvloop")


@pytest.mark.parametrize("kind", ["asyncio", "uvloop"])
def test_remote_hook_and_subscription_work_alike_on_both_loops(kind: str) -> None:
    async def main() -> tuple[str, object, list[str]]:
        server = HookwireServer(config=ServerConfig(port=0, shutdown_grace_s=2.0))
        server.registry.register(
            lambda ctx: Modified({"n": ctx.data["n"] + 1}), name="local", point=POINT, priority=10
        )
        await server.start()
        worker = Worker(server.address, worker_id="w")

        @worker.hook(POINT, priority=-10)
        async def remote(ctx: HookContext) -> Modified:
            return Modified({"n": ctx.data["n"] * 10})

        try:
            async with worker, AsyncClient(server.address) as client:
                results = []
                for n in range(1, 51):  # many calls through one worker stream
                    ex = await client.execute(POINT, {"n": n})
                    assert isinstance(ex.result, Modified)
                    results.append(ex.result.data["n"])
                assert results == [n * 10 + 1 for n in range(1, 51)]
                sub = client.subscribe_raw("loop.*", from_sequence=1)
                await client.publish([event("loop.a", {"i": 1}), event("loop.b", {"i": 2})])
                seen: list[str] = []
                async with contextlib.aclosing(sub):  # type: ignore[type-var]
                    async for batch in sub:
                        seen.extend(e.type for e in batch.events)
                        if len(seen) >= 2:
                            break
                return loop_name(asyncio.get_running_loop()), ex.result, seen
        finally:
            await server.stop()

    name, last, seen = run(main(), kind)
    assert name == kind
    assert last == Modified({"n": 501})
    assert seen == ["loop.a", "loop.b"]


def test_server_thread_runs_on_the_chosen_loop() -> None:
    with ServerThread(loop="asyncio", config=ServerConfig(port=0)) as st:
        assert loop_name(st.loop) == "asyncio"
    with ServerThread(config=ServerConfig(port=0)) as st:
        assert loop_name(st.loop) == "uvloop"


def test_cli_loop_flag() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "hookwire.runtime.cli", "serve", "--port", "0", "--loop", "asyncio"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert re.match(
            r"hookwire serving on 127\.0\.0\.1:\d+ \(insecure, no auth, asyncio\)", line
        )
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
    finally:
        proc.kill()
        proc.wait()
    bad = subprocess.run(
        [sys.executable, "-m", "hookwire.runtime.cli", "serve", "--loop", "trio"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert bad.returncode == 2
    assert "--loop: invalid choice: 'trio'" in bad.stderr
