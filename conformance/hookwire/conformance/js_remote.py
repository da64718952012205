"""The `js-remote` driver: behaviours become real JS hook functions in a node worker process,
called through the gRPC executor service's worker protocol on the run's virtual clock.

One hookwire server (on 127.0.0.1, its executor on a virtual clock) and one node process
(`conformance/js/driver_worker.mjs`, a worker built with the JS SDK) serve every scenario of a
conformance run; each scenario run gets its own hook names on the server (`r<run>.<hook>`), its
own call counters in node, and its hooks are unregistered when the run closes.

How a call flows: the runner's executor (`Executor.execute`, on the scenario's VirtualClock)
calls a `JsHookAdapter`; it sends the call over the worker's stream with the server's
`RemoteHookAdapter`, whose connection clock forwards to this scenario's clock. The JS hook
advances the per-call virtual clock the SDK gives it and answers with `clock_advance`; the
remote adapter advances the scenario's clock by exactly that, so durations, `slow` and TIMEOUT
are exact. The JS hook publishes its events with the SDK's `call.publish`, which sends them on
the worker stream ahead of its answer, stamped with its own virtual time; the server publishes
them on the run's bus before it applies the answer. What the JS hook records or executes
(nested) comes back as JSON lines on node's stdout, written before its answer; the adapter
handles them on the runner's thread (a nested execution runs right there, re-entrantly, as in
py-sync) and returns once the answer and the hook's "done" line are both in.

Example:
    >>> JsRemoteDriver().name
    'js-remote'
"""

from __future__ import annotations

import asyncio
import atexit
import itertools
import json
import os
import queue
import subprocess
import threading
from collections import deque
from concurrent.futures import Future
from typing import Any

from hookwire.conformance.driver import HookEnv, SeenContext
from hookwire.conformance.remote_session import GUARD_S, RemoteHarness, run_key
from hookwire.conformance.scenario import Behaviour, CallStep, HookDef
from hookwire.conformance.share import js_root, js_script
from hookwire.runtime.adapter import HookFailed, HookTimedOut
from hookwire.runtime.context import HookContext
from hookwire.runtime.errors import FailedPrecondition
from hookwire.runtime.results import HookResult
from hookwire.runtime.server.remote_adapter import (
    RemoteHookAdapter,
    WorkerConnection,
    WorkerGone,
)
from hookwire.runtime.trace import Execution

__all__ = ["JsHookAdapter", "JsRemoteDriver", "JsRemoteSession", "behaviour_to_json"]

#: The node side, in the JS source tree (hookwire.conformance.share.js_root).
WORKER_SCRIPT = "conformance/js/driver_worker.mjs"


def behaviour_to_json(b: Behaviour) -> dict[str, Any]:
    """A behaviour in the scenario file's JSON form (what the node side builds hooks from)."""
    return {"calls": [_step_to_json(s) for s in b.calls], "repeat": b.repeat}


def _step_to_json(s: CallStep) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if s.advance_ms:
        out["advanceMs"] = s.advance_ms
    if s.record:
        out["record"] = True
    if s.publish:
        out["publish"] = list(s.publish)
    if s.execute is not None:
        out["execute"] = {"point": s.execute.point, "context": s.execute.context}
    if s.returns is not None:
        out["returns"] = s.returns
    if s.raises is not None:
        out["raises"] = s.raises
    if s.returns_invalid:
        out["returnsInvalid"] = True
    return out


class _Harness(RemoteHarness):
    """The server and the node worker shared by every js-remote session of this process."""

    _instance: _Harness | None = None
    _lock = threading.Lock()

    @classmethod
    def get(cls) -> _Harness:
        with cls._lock:
            if cls._instance is None or not cls._instance.alive:
                if cls._instance is not None:
                    cls._instance.stop()  # node died or its stream broke: start afresh
                cls._instance = _Harness()
                atexit.register(cls._instance.stop)
            return cls._instance

    def __init__(self) -> None:
        super().__init__()
        self.inbox: queue.Queue[dict[str, Any]] = queue.Queue()
        self._stderr: deque[str] = deque(maxlen=40)
        self.proc = subprocess.Popen(
            ["node", str(js_script(WORKER_SCRIPT)), self.address],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=js_root(),
            env={**os.environ},
        )
        threading.Thread(target=self._read_stdout, daemon=True, name="js-remote-out").start()
        threading.Thread(target=self._read_stderr, daemon=True, name="js-remote-err").start()
        ready = self.next_message(20.0)
        if ready.get("ev") != "ready":
            self.stop()
            raise RuntimeError(f"js-remote: node worker did not start: {ready} {self.stderr()}")
        self.connection = self._connection()
        self.requests = itertools.count(1)
        self.done: dict[tuple[int, str], deque[int]] = {}
        self.answered: dict[int, dict[str, Any]] = {}
        self.sessions: dict[int, JsRemoteSession] = {}

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None and not self.connection.closed

    def _connection(self) -> WorkerConnection:
        def find() -> WorkerConnection | None:
            assert self.server.server is not None
            conns = list(self.server.server.executor_service.connections.values())
            return conns[0] if conns else None

        conn = self.server.call(find)
        if conn is None:
            raise RuntimeError("js-remote: the node worker is not connected to the server")
        assert isinstance(conn, WorkerConnection)
        return conn

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.strip():
                self.inbox.put(json.loads(line))
        self.inbox.put({"ev": "exit"})

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._stderr.append(line.rstrip())

    def stderr(self) -> str:
        return "\n".join(self._stderr)

    def next_message(self, timeout: float = GUARD_S) -> dict[str, Any]:
        try:
            return self.inbox.get(timeout=timeout)
        except queue.Empty:
            return {"ev": "timeout"}

    def send(self, msg: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(msg) + "\n")
        self.proc.stdin.flush()

    def pump(self, finished: Any, what: str) -> None:
        """Handle node's messages on this thread until `finished()` is true."""
        while not finished():
            msg = self.next_message()
            ev = msg.get("ev")
            if ev in ("timeout", "exit"):
                raise HookFailed(f"js-remote: {what}: node worker {ev}; stderr: {self.stderr()}")
            self.dispatch(msg)

    def dispatch(self, msg: dict[str, Any]) -> None:
        ev = msg["ev"]
        if ev == "wake":
            return
        if ev == "defined":
            self.answered[msg["id"]] = msg
            return
        session = self.sessions.get(msg.get("run", -1))
        if session is None:
            return  # a closed run's late message
        if ev == "done":
            self.done.setdefault((msg["run"], msg["hook"]), deque()).append(msg["n"])
        elif ev == "seen":
            ctx = msg["ctx"]
            session.env.log.seen.append(
                SeenContext(
                    msg["hook"], ctx["point"], ctx["data"], ctx["metadata"], ctx["correlationId"]
                )
            )
        elif ev == "nested":
            session.run_nested(msg["hook"], msg["n"])
            self.send({"op": "answer", "id": msg["id"]})

    def define(self, run: int, hook: HookDef) -> str:
        assert hook.behaviour is not None
        key = run_key(run, hook.name)
        rid = next(self.requests)
        self.send(
            {
                "op": "define",
                "id": rid,
                "run": run,
                "hook": hook.name,
                "key": key,
                "behaviour": behaviour_to_json(hook.behaviour),
            }
        )
        self.pump(lambda: rid in self.answered, f"registering {hook.name!r}")
        answer = self.answered.pop(rid)
        if answer.get("error"):
            raise HookFailed(f"js-remote: node could not register {hook.name!r}: {answer['error']}")
        return key

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.close()  # the worker closes its stream and exits
                self.proc.wait(5)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self.stop_server()


class JsHookAdapter:
    """The HookAdapter the runner registers: one scenario hook served by the node worker."""

    is_async = False
    language = "javascript"

    def __init__(self, session: JsRemoteSession, hook: HookDef, key: str) -> None:
        self.session = session
        self.name = hook.name
        self.key = key
        self.remote = RemoteHookAdapter(session.harness.connection, key, "javascript")

    def call(self, ctx: HookContext, timeout_ns: int) -> HookResult:
        s, h = self.session, self.session.harness
        n = s.env.log.begin(self.name)
        behaviour = s.hooks[self.name].behaviour
        assert behaviour is not None
        events = behaviour.step_for(n).publish
        try:
            s.env.refuse_blocking_publish(self.name, events)
        except FailedPrecondition as exc:
            raise HookFailed(str(exc)) from exc
        from_sequence = s.env.bus.next_sequence if s.env.bus is not None else 0
        future: Future[HookResult] = asyncio.run_coroutine_threadsafe(
            self.remote.acall(ctx, timeout_ns), h.server.loop
        )
        future.add_done_callback(lambda _f: h.inbox.put({"ev": "wake"}))
        done = h.done.setdefault((s.run, self.name), deque())

        def unanswered() -> bool:
            # The hook never ended on the node side (worker gone, real-time guard passed):
            # no "done" line will come for this call.
            return isinstance(future.exception(), (WorkerGone, HookTimedOut))

        def finished() -> bool:
            return future.done() and (bool(done) or unanswered())

        h.pump(finished, f"calling {self.name!r}")
        if done and not unanswered():
            got = done.popleft()
            if got != n:
                s.env.log.problems.append(
                    f"js-remote: hook {self.name!r} ran its call {got} where the runner counted {n}"
                )
        # The hook's publish frames preceded its answer on the stream: they are on the bus now.
        s.env.note_published(self.name, from_sequence, len(events))
        return future.result()

    async def acall(self, ctx: HookContext, timeout_ns: int) -> HookResult:
        raise HookFailed("js-remote hooks run under Executor.execute (the driver's entry point)")


class JsRemoteSession:
    """JS hooks of one scenario run."""

    language = "javascript"

    def __init__(self, env: HookEnv) -> None:
        self.env = env
        self.harness = _Harness.get()
        self.run = self.harness.begin_run(env)
        self.hooks: dict[str, HookDef] = {}
        self.keys: list[str] = []
        self.harness.sessions[self.run] = self

    def language_for(self, hook: HookDef) -> str:
        return "javascript"

    def build_hook(self, hook: HookDef) -> JsHookAdapter:
        self.hooks[hook.name] = hook
        key = run_key(self.run, hook.name)
        if key not in self.keys:
            self.harness.define(self.run, hook)
            self.keys.append(key)
        return JsHookAdapter(self, hook, key)

    def run_nested(self, hook: str, n: int) -> None:
        behaviour = self.hooks[hook].behaviour
        assert behaviour is not None
        spec = behaviour.step_for(n).execute
        assert spec is not None
        self.env.run_nested(hook, spec)

    def execute(self, point: str, ctx: HookContext) -> Execution:
        return self.env.executor.execute(point, ctx)

    def close(self) -> None:
        h = self.harness
        h.sessions.pop(self.run, None)
        for key in list(h.done):
            if key[0] == self.run:
                del h.done[key]
        if self.keys and h.alive:
            h.send({"op": "undefine", "run": self.run, "keys": self.keys})


class JsRemoteDriver:
    """JS hooks in a node worker, through the gRPC executor service."""

    name = "js-remote"

    def open(self, env: HookEnv) -> JsRemoteSession:
        return JsRemoteSession(env)
