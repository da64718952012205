"""The `py-remote` driver: behaviours become Python hooks served by the Python SDK's `Worker`
over a real gRPC server on 127.0.0.1, called through the executor service's worker protocol.

One server (`ServerThread`, its executor on a forwarding virtual clock) and one `Worker`
(`virtual_clock=True`, on its own thread and event loop) serve every scenario of a conformance
run. Each scenario run registers its hooks on the worker under run-scoped names
(`r<run>.<hook>`, so no run sees another's hooks) and unregisters them when it closes.

How a call flows: the runner's executor (`Executor.execute`, on the scenario's VirtualClock)
calls a `PyRemoteHookAdapter`, which sends the call over the worker's Connect stream with the
server's `RemoteHookAdapter`. The server's clock forwards to the current run's clock, so the
HookCall carries the scenario's virtual time; the hook "takes 60 ms" with
`worker.clock.advance_ms(60)` and answers with `clock_advance`, which the remote adapter adds to
the scenario's clock before returning: durations, `slow` and TIMEOUT are exact. A hook
publishes with the SDK worker's `Worker.publish`: a publish frame on the worker stream, ahead of
the call's answer, which the server publishes on the run's bus (the harness points it there)
before it applies the answer; the event's time is the hook's own virtual time (call start plus
what it advanced so far), as an in-process hook's publish would be stamped. Recording and
call counting use the run's `HookEnv` from the worker thread while the runner's thread waits; a
nested execution runs on a helper thread (`asyncio.to_thread`) so the worker's loop stays free
to serve the nested calls.

Example:
    >>> PyRemoteDriver().name
    'py-remote'
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import threading
from collections.abc import Callable, Coroutine
from typing import Any

from hookwire.conformance.driver import HookEnv
from hookwire.conformance.py_sync import native_return
from hookwire.conformance.remote_session import GUARD_S, RemoteHarness, run_key
from hookwire.conformance.scenario import HookDef
from hookwire.runtime.bus.event import NO_DATA
from hookwire.runtime.context import HookContext
from hookwire.runtime.errors import HookwireError
from hookwire.runtime.results import HookResult
from hookwire.runtime.server.remote_adapter import RemoteHookAdapter, WorkerConnection
from hookwire.runtime.trace import Execution
from hookwire.sdk.worker import Worker

__all__ = ["PyRemoteDriver", "PyRemoteHookAdapter", "PyRemoteSession"]

# The worker's own (real-time) deadline per hook call: generous, since virtual durations take
# no real time and only the executor classifies TIMEOUT, from the virtual clock.
_WORKER_TIMEOUT_MS = 30_000
_NS_PER_S = 1_000_000_000


class _Harness(RemoteHarness):
    """The server and the worker shared by every py-remote session of this process."""

    _instance: _Harness | None = None
    _lock = threading.Lock()

    @classmethod
    def get(cls) -> _Harness:
        with cls._lock:
            if cls._instance is None or not cls._instance.alive:
                cls._instance = _Harness()
                atexit.register(cls._instance.stop)
            return cls._instance

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self.loop.run_forever, daemon=True, name="py-remote-worker"
        )
        self._thread.start()
        self.worker = Worker(
            self.address, worker_id="conformance-py-remote", virtual_clock=True, reconnect=False
        )
        self.run_on_worker(self.worker.start())
        self.connection = self._connection()

    @property
    def alive(self) -> bool:
        return self.worker.connected and not self.connection.closed

    def run_on_worker(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(GUARD_S)

    def _connection(self) -> WorkerConnection:
        wanted = self.worker.connection_id

        def find() -> WorkerConnection | None:
            assert self.server.server is not None
            return self.server.server.executor_service.connections.get(wanted)

        conn = self.server.call(find)
        if not isinstance(conn, WorkerConnection):
            raise RuntimeError("py-remote: the worker is not connected to the server")
        return conn

    def stop(self) -> None:
        with contextlib.suppress(Exception):  # best effort at exit
            self.run_on_worker(self.worker.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.stop_server()


class PyRemoteHookAdapter:
    """The HookAdapter the runner registers: one scenario hook served by the remote worker."""

    is_async = False
    language = "python"

    def __init__(self, harness: _Harness, key: str, env: HookEnv, hook: HookDef) -> None:
        self.harness = harness
        self.env = env
        self.hook = hook
        self.remote = RemoteHookAdapter(harness.connection, key, "python")
        self.is_async = env.concurrent  # a concurrent run executes with aexecute

    def call(self, ctx: HookContext, timeout_ns: int) -> HookResult:
        env, name, behaviour = self.env, self.hook.name, self.hook.behaviour
        assert behaviour is not None
        from_sequence = env.bus.next_sequence if env.bus is not None else 0
        future = asyncio.run_coroutine_threadsafe(
            self.remote.acall(ctx, timeout_ns), self.harness.server.loop
        )
        try:
            return future.result()
        finally:
            # The hook's publish frames preceded its answer on the stream: they are on the bus.
            n = env.log.calls.get(name, 0) - 1
            if n >= 0:
                events = [e for e in behaviour.step_for(n).publish if "refused" not in e]
                env.note_published(name, from_sequence, len(events))

    async def acall(self, ctx: HookContext, timeout_ns: int) -> HookResult:
        """A concurrent run's call (aexecute): awaited, so several are in flight at once."""
        env, name, behaviour = self.env, self.hook.name, self.hook.behaviour
        assert behaviour is not None
        from_sequence = env.bus.next_sequence if env.bus is not None else 0
        future = asyncio.run_coroutine_threadsafe(
            self.remote.acall(ctx, timeout_ns), self.harness.server.loop
        )
        try:
            return await asyncio.wrap_future(future)
        finally:
            n = env.log.calls.get(name, 0) - 1
            if n >= 0:
                events = [e for e in behaviour.step_for(n).publish if "refused" not in e]
                env.note_published(name, from_sequence, len(events))


class PyRemoteSession:
    """Remote Python hooks of one scenario run."""

    def __init__(self, env: HookEnv) -> None:
        self.env = env
        self.harness = _Harness.get()
        self.run = self.harness.begin_run(env)
        self.keys: list[str] = []
        # A scenario with concurrent steps runs every execution with aexecute on this loop.
        self.loop: asyncio.AbstractEventLoop | None = (
            asyncio.new_event_loop() if env.concurrent else None
        )

    def language_for(self, hook: HookDef) -> str:
        return "python"

    def _body(self, hook: HookDef) -> Callable[[HookContext], Coroutine[Any, Any, Any]]:
        env, name, behaviour = self.env, hook.name, hook.behaviour
        worker = self.harness.worker
        assert behaviour is not None

        def publish(event: dict[str, Any]) -> None:
            env.refuse_blocking_publish(name, [event])  # nothing could drain the queue
            ttl = event.get("ttlMs")
            worker.publish(
                event["type"],
                event.get("payload", NO_DATA),
                source=event.get("source", ""),
                correlation_id=event.get("correlationId", ""),
                metadata=event.get("metadata"),
                ttl_ms=ttl,
            )

        async def call(ctx: HookContext) -> Any:
            step = behaviour.step_for(env.log.begin(name))
            if step.advance_ms:
                worker.clock.advance_ms(step.advance_ms)  # this call's virtual clock
            if step.record:
                env.log.record(name, ctx)
            for event in step.publish:
                if "refused" not in event:
                    publish(event)
                    continue
                try:
                    publish(event)
                except HookwireError as exc:
                    env.log.refused(name, event["type"], exc.code, str(exc))
            if step.execute is not None:
                if self.loop is None:
                    await asyncio.to_thread(env.run_nested, name, step.execute)
                else:  # the outer executions await on the session's loop: nest there too
                    await asyncio.wrap_future(
                        asyncio.run_coroutine_threadsafe(
                            env.arun_nested(name, step.execute), self.loop
                        )
                    )
            return native_return(step)

        call.__name__ = f"hook_{name}"
        return call

    def build_hook(self, hook: HookDef) -> PyRemoteHookAdapter:
        key = run_key(self.run, hook.name)
        if key not in self.keys:
            self.harness.run_on_worker(
                self.harness.worker.register_now(
                    self._body(hook), name=key, point=hook.point, timeout_ms=_WORKER_TIMEOUT_MS
                )
            )
            self.keys.append(key)
        return PyRemoteHookAdapter(self.harness, key, self.env, hook)

    def execute(self, point: str, ctx: HookContext) -> Execution:
        if self.loop is None:
            return self.env.executor.execute(point, ctx)
        return self.loop.run_until_complete(self.env.executor.aexecute(point, ctx))

    def execute_concurrently(self, calls: list[tuple[str, HookContext]]) -> list[Execution]:
        """Start every execution at once with aexecute: the worker has them all in flight."""
        assert self.loop is not None
        ex = self.env.executor

        async def together() -> list[Execution]:
            return list(await asyncio.gather(*(ex.aexecute(p, c) for p, c in calls)))

        return self.loop.run_until_complete(together())

    def close(self) -> None:
        if self.loop is not None:
            self.loop.close()
        h = self.harness
        if not h.alive:
            return
        for key in self.keys:
            with contextlib.suppress(Exception):  # the run is over; a gone hook is fine
                h.run_on_worker(h.worker.unregister(key))


class PyRemoteDriver:
    """Python hooks served by the SDK worker over gRPC."""

    name = "py-remote"

    def open(self, env: HookEnv) -> PyRemoteSession:
        return PyRemoteSession(env)
