"""The generic worker driver: every scenario against any worker program that implements the
testee protocol (conformance/README.md, "Testee protocol"), over the gRPC executor service on
the run's virtual clock. `js-remote` and `py-remote` are instances of it.

`python -m hookwire.conformance --worker-cmd "CMD ..."` starts `CMD` once per conformance run
in the runner's working directory (its `{address}` argument, and the `HOOKWIRE_ADDRESS`
environment variable, say where the
run's hookwire server listens on 127.0.0.1). The program connects to that server as a worker
on a virtual clock, says `{"ev": "ready", "language": "<its language>"}` on stdout, and then
follows the driver's JSON lines on stdin: `define` (a scenario hook: register a hook built from
its behaviour under the given key), `undefine` (a run ended) and `answer` (a nested execution it
asked for is done). It reports on stdout, before the hook's answer goes out on the gRPC stream:
`seen` (what the hook received, as the language holds it), `refused` (a publish the step
expected to be refused was refused), `nested` (run the step's nested execution now) and `done`.

One server and one worker process serve every scenario of a conformance run; each scenario
run gets its own hook names on the server (`r<run>.<hook>`), its own call counters in the
worker, and its hooks are unregistered when the run closes.

How a call flows: the runner's executor (`Executor.execute`, on the scenario's VirtualClock)
calls a `WorkerHookAdapter`; it sends the call over the worker's stream with the server's
`RemoteHookAdapter`, whose connection clock forwards to this scenario's clock. The hook
advances the per-call virtual clock its SDK gives it and answers with `clock_advance`; the
remote adapter advances the scenario's clock by exactly that, so durations, `slow` and TIMEOUT
are exact. Hook events go on the worker stream ahead of the answer (the server publishes them
on the run's bus before it applies the answer). Nested executions run on the runner's thread
(re-entrantly, as in py-sync) while the adapter waits for the answer and the "done" line.

Example:
    >>> worker_adapter_name("ruby=ruby examples/ruby/conformance_worker.rb {address}")
    'ruby'
    >>> worker_adapter_name("node conformance/js/driver_worker.mjs {address}")
    'worker'
"""

from __future__ import annotations

import asyncio
import atexit
import itertools
import json
import os
import queue
import re
import shlex
import subprocess
import threading
from collections import deque
from collections.abc import Callable, Coroutine, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from hookwire.conformance.driver import HookEnv, SeenContext
from hookwire.conformance.remote_session import GUARD_S, RemoteHarness, run_key
from hookwire.conformance.scenario import Behaviour, CallStep, HookDef
from hookwire.runtime.adapter import HookFailed, HookTimedOut
from hookwire.runtime.context import HookContext
from hookwire.runtime.errors import FailedPrecondition
from hookwire.runtime.results import HookResult
from hookwire.runtime.server.remote_adapter import RemoteHookAdapter
from hookwire.runtime.trace import Execution
from hookwire.runtime.worker_connection import StreamConnection, WorkerGone

__all__ = [
    "WorkerCmdDriver",
    "WorkerHarness",
    "WorkerHookAdapter",
    "WorkerSession",
    "behaviour_to_json",
    "worker_adapter_name",
]

_POLL_S = 0.0005  # how often an awaited call looks for its "done" line (real time)
_T = TypeVar("_T")
_NAME = re.compile(r"([a-z0-9][a-z0-9-]*)=(.+)", re.DOTALL)


def worker_adapter_name(cmd: str) -> str:
    """The adapter name of a `--worker-cmd`: `NAME=CMD` names it NAME, else `worker`."""
    m = _NAME.fullmatch(cmd)
    return m.group(1) if m else "worker"


def worker_argv(cmd: str | Sequence[str]) -> list[str]:
    """The program and arguments of a `--worker-cmd` (without its `NAME=`)."""
    if isinstance(cmd, str):
        m = _NAME.fullmatch(cmd)
        return shlex.split(m.group(2) if m else cmd)
    return list(cmd)


def behaviour_to_json(b: Behaviour) -> dict[str, Any]:
    """A behaviour in the scenario file's JSON form (what the worker builds hooks from)."""
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


class WorkerHarness(RemoteHarness):
    """The server and the worker program shared by every session of one command."""

    _instances: ClassVar[dict[tuple[str, ...], WorkerHarness]] = {}
    _lock = threading.Lock()

    @classmethod
    def get(
        cls, argv: Sequence[str], label: str = "worker", cwd: Path | None = None
    ) -> WorkerHarness:
        key = (*argv, str(cwd))
        with cls._lock:
            h = cls._instances.get(key)
            if h is None or not h.alive:
                if h is not None:
                    h.stop()  # the worker died or its stream broke: start afresh
                h = cls._instances[key] = WorkerHarness(list(argv), label, cwd)
                atexit.register(h.stop)
            return h

    def __init__(self, argv: list[str], label: str = "worker", cwd: Path | None = None) -> None:
        super().__init__()
        self.label = label
        self._send_lock = threading.Lock()
        self.inbox: queue.Queue[dict[str, Any]] = queue.Queue()
        self._stderr: deque[str] = deque(maxlen=40)
        args = [a.replace("{address}", self.address) for a in argv]
        try:
            self.proc = subprocess.Popen(
                args,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                encoding="utf-8",
                cwd=cwd,
                env={**os.environ, "HOOKWIRE_ADDRESS": self.address},
            )
        except OSError as exc:
            self.stop_server()
            raise RuntimeError(f"{label}: cannot start {args}: {exc}") from exc
        threading.Thread(target=self._read_stdout, daemon=True, name=f"{label}-out").start()
        threading.Thread(target=self._read_stderr, daemon=True, name=f"{label}-err").start()
        ready = self.next_message(20.0)
        if ready.get("ev") != "ready" or not isinstance(ready.get("language"), str):
            self.stop()
            raise RuntimeError(
                f"{label}: the worker did not say ready with its language: {ready} {self.stderr()}"
            )
        self.language: str = ready["language"]
        self.connection = self._connection()
        self.requests = itertools.count(1)
        self.done: dict[tuple[int, str], deque[int]] = {}
        self.answered: dict[int, dict[str, Any]] = {}
        self.sessions: dict[int, WorkerSession] = {}

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None and not self.connection.closed

    def _connection(self) -> StreamConnection:
        def find() -> StreamConnection | None:
            assert self.server.server is not None
            conns = list(self.server.server.executor_service.connections.values())
            return conns[0] if conns else None

        conn = self.server.call(find)
        if conn is None:
            raise RuntimeError(f"{self.label}: the worker is not connected to the server")
        assert isinstance(conn, StreamConnection)
        return conn

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.strip():
                try:
                    self.inbox.put(json.loads(line))
                except ValueError:
                    self._stderr.append(f"(not a JSON line on stdout) {line.rstrip()}")
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
        with self._send_lock:  # nested answers of concurrent runs come from the session's loop
            self.proc.stdin.write(json.dumps(msg) + "\n")
            self.proc.stdin.flush()

    def pump(self, finished: Any, what: str) -> None:
        """Handle the worker's messages on this thread until `finished()` is true."""
        while not finished():
            msg = self.next_message()
            ev = msg.get("ev")
            if ev in ("timeout", "exit"):
                raise HookFailed(f"{self.label}: {what}: worker {ev}; stderr: {self.stderr()}")
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
        elif ev == "problem":
            session.env.log.problems.append(f"{self.label}: hook {msg['hook']!r}: {msg['message']}")
        elif ev == "refused":
            session.env.log.refused(
                msg["hook"], msg["type"], str(msg.get("code", "")), str(msg.get("message", ""))
            )
        elif ev == "nested":
            if session.loop is None:
                session.run_nested(msg["hook"], msg["n"])
                self.send({"op": "answer", "id": msg["id"]})
                return
            # A concurrent run: the outer executions await on the session's loop; run this
            # one there too, and answer when it is done.
            answer = {"op": "answer", "id": msg["id"]}
            nested = asyncio.run_coroutine_threadsafe(
                session.arun_nested(msg["hook"], msg["n"]), session.loop
            )
            nested.add_done_callback(lambda _f: self.send(answer))

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
            raise HookFailed(
                f"{self.label}: the worker could not register {hook.name!r}: {answer['error']}"
            )
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


class WorkerHookAdapter:
    """The HookAdapter the runner registers: one scenario hook served by the worker."""

    is_async = False

    def __init__(self, session: WorkerSession, hook: HookDef, key: str) -> None:
        self.session = session
        self.name = hook.name
        self.key = key
        self.language = session.harness.language
        self.remote = RemoteHookAdapter(session.harness.connection, key, self.language)
        # A concurrent run executes with aexecute: the calls are awaited, several in flight.
        self.is_async = session.loop is not None

    def _begin(self) -> tuple[int, list[dict[str, Any]], int]:
        """Count the call; the step's events (those expected to be refused aside), refused
        first if they would wait on a full queue; the bus's next sequence."""
        s = self.session
        n = s.env.log.begin(self.name)
        behaviour = s.hooks[self.name].behaviour
        assert behaviour is not None
        events = [e for e in behaviour.step_for(n).publish if "refused" not in e]
        try:
            s.env.refuse_blocking_publish(self.name, events)
        except FailedPrecondition as exc:
            raise HookFailed(str(exc)) from exc
        return n, events, s.env.bus.next_sequence if s.env.bus is not None else 0

    def call(self, ctx: HookContext, timeout_ns: int) -> HookResult:
        s, h = self.session, self.session.harness
        n, events, from_sequence = self._begin()
        future: Future[HookResult] = asyncio.run_coroutine_threadsafe(
            self.remote.acall(ctx, timeout_ns), h.server.loop
        )
        future.add_done_callback(lambda _f: h.inbox.put({"ev": "wake"}))
        done = h.done.setdefault((s.run, self.name), deque())

        def unanswered() -> bool:
            # The hook never ended in the worker (it is gone, real-time guard passed):
            # no "done" line will come for this call.
            return isinstance(future.exception(), (WorkerGone, HookTimedOut))

        def finished() -> bool:
            return future.done() and (bool(done) or unanswered())

        h.pump(finished, f"calling {self.name!r}")
        if done and not unanswered():
            got = done.popleft()
            if got != n:
                s.env.log.problems.append(
                    f"{h.label}: hook {self.name!r} ran its call {got} where the runner counted {n}"
                )
        # The hook's publish frames preceded its answer on the stream: they are on the bus now.
        s.env.note_published(self.name, from_sequence, len(events))
        return future.result()

    async def acall(self, ctx: HookContext, timeout_ns: int) -> HookResult:
        """A concurrent run's call: sent, then awaited on the session's loop while the
        runner's thread handles the worker's lines (`WorkerSession.execute`)."""
        s, h = self.session, self.session.harness
        _n, events, from_sequence = self._begin()
        future: Future[HookResult] = asyncio.run_coroutine_threadsafe(
            self.remote.acall(ctx, timeout_ns), h.server.loop
        )
        done = h.done.setdefault((s.run, self.name), deque())
        answered = await asyncio.wrap_future(future)  # raises what the call raised
        # Its lines ("seen", "refused", "done") precede the answer on the worker's stdout;
        # calls of one hook may end in any order here, so any "done" of this hook will do.
        waited = 0.0
        while not done:
            if waited > GUARD_S or not h.alive:  # the worker went away after answering
                raise HookFailed(f"{h.label}: no 'done' line for {self.name!r}: {h.stderr()}")
            await asyncio.sleep(_POLL_S)
            waited += _POLL_S
        done.popleft()
        s.env.note_published(self.name, from_sequence, len(events))
        return answered


class WorkerSession:
    """The worker's hooks of one scenario run."""

    def __init__(self, env: HookEnv, harness: WorkerHarness) -> None:
        self.env = env
        self.harness = harness
        self.language = harness.language
        # A scenario with concurrent steps runs every execution with aexecute on this loop.
        self.loop: asyncio.AbstractEventLoop | None = (
            asyncio.new_event_loop() if env.concurrent else None
        )
        self.run = self.harness.begin_run(env)
        self.hooks: dict[str, HookDef] = {}
        self.keys: list[str] = []
        self.harness.sessions[self.run] = self

    def language_for(self, hook: HookDef) -> str:
        return self.language

    def build_hook(self, hook: HookDef) -> WorkerHookAdapter:
        self.hooks[hook.name] = hook
        key = run_key(self.run, hook.name)
        if key not in self.keys:
            self.harness.define(self.run, hook)
            self.keys.append(key)
        return WorkerHookAdapter(self, hook, key)

    def run_nested(self, hook: str, n: int) -> None:
        behaviour = self.hooks[hook].behaviour
        assert behaviour is not None
        spec = behaviour.step_for(n).execute
        assert spec is not None
        self.env.run_nested(hook, spec)

    async def arun_nested(self, hook: str, n: int) -> None:
        behaviour = self.hooks[hook].behaviour
        assert behaviour is not None
        spec = behaviour.step_for(n).execute
        assert spec is not None
        await self.env.arun_nested(hook, spec)

    def execute(self, point: str, ctx: HookContext) -> Execution:
        if self.loop is None:
            return self.env.executor.execute(point, ctx)
        return self._drive(lambda: self.env.executor.aexecute(point, ctx))

    def execute_concurrently(self, calls: list[tuple[str, HookContext]]) -> list[Execution]:
        """Start every execution at once with aexecute: the worker has them all in flight."""
        ex = self.env.executor

        async def together() -> list[Execution]:
            return list(await asyncio.gather(*(ex.aexecute(p, c) for p, c in calls)))

        return self._drive(together)

    def _drive(self, work: Callable[[], Coroutine[Any, Any, _T]]) -> _T:
        """Run `work` on the session's loop on a helper thread while this thread handles the
        worker's lines (seen, refused, nested, done) until it is over."""
        loop = self.loop
        assert loop is not None
        box: dict[str, Any] = {}
        over = threading.Event()

        def runner() -> None:
            try:
                box["value"] = loop.run_until_complete(work())
            except BaseException as exc:  # handed to the runner's thread below
                box["error"] = exc
            finally:
                over.set()
                self.harness.inbox.put({"ev": "wake"})

        thread = threading.Thread(target=runner, daemon=True, name=f"{self.harness.label}-run")
        thread.start()
        self.harness.pump(over.is_set, "a concurrent run")
        thread.join()
        if "error" in box:
            raise box["error"]
        value: _T = box["value"]
        return value

    def close(self) -> None:
        if self.loop is not None:
            self.loop.close()
        h = self.harness
        h.sessions.pop(self.run, None)
        for key in list(h.done):
            if key[0] == self.run:
                del h.done[key]
        if self.keys and h.alive:
            h.send({"op": "undefine", "run": self.run, "keys": self.keys})


class WorkerCmdDriver:
    """Hooks in a worker program (`cmd`: a command line or an argv list), through the gRPC
    executor service."""

    def __init__(
        self, cmd: str | Sequence[str], name: str = "worker", cwd: Path | None = None
    ) -> None:
        self.argv = worker_argv(cmd)
        self.name = name
        self.cwd = cwd  # where the program runs (None: the runner's working directory)

    def open(self, env: HookEnv) -> WorkerSession:
        return WorkerSession(env, WorkerHarness.get(self.argv, self.name, self.cwd))
