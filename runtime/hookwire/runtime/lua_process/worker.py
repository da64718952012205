"""LuaProcessWorker: runs Lua hook files in a supervised Lua 5.4 process (sdk/lua/worker.lua).

The interpreter is the system `lua5.4` when it is on PATH, else the fallback: lupa's bundled
Lua 5.4 in a child Python process (`hookwire.runtime.lua_process.interpreter`); `interpreter`
says which one runs.

The supervisor starts the process, takes its hello and hook registrations, registers each hook
in a Registry with a `LuaProcessHookAdapter`, and calls hooks over the process's worker
connection (`hookwire.runtime.worker_connection`: the worker protocol of the gRPC Connect
stream, its stdio-process transport `PipeConnection` carrying it as length-delimited frames on
stdin/stdout; a reader thread completes the calls, so synchronous callers block on their own
call and `acall` awaits it). Each run of the process is one connection; this class supervises
the runs.

Failure handling:
- the process exits, or writes a malformed frame: every call in flight fails at once
  (`WorkerGone`, classified ERROR), the process is killed, and the next call after a backoff
  (measured on the runtime clock: `backoff_initial_ms`, times `backoff_multiplier` per failed
  life, at most `backoff_max_ms`; reset by a successful call) starts it again and takes its
  registrations again; calls before that fail at once with the reason and the time left.
- a call still unanswered at its deadline is abandoned (HookTimedOut, a CancelCall is sent). The
  worker stops a runaway hook itself (an instruction-count hook with the call's timeout as CPU
  budget, answered as a timeout); if it has not answered `kill_grace_ms` after the deadline it
  is stuck (in one C function, say) and the process is killed and restarted at once. The worker
  runs calls one at a time in the order sent, so the calls queued behind the stuck one have not
  started: they are sent again, in order, to the restarted process (running them is not a
  repeat), and keep their own deadlines. Only if the restart fails do they fail, each with an
  error naming the stuck hook.
- memory: the process's address space is limited (`memory_limit`, default 256 MiB); a hook
  that allocates past it fails with ERROR "Lua worker out of memory".
- events: `hookwire.publish(type, payload)` in a worker hook writes a `WorkerMessage.publish`
  frame; the reader thread publishes it on `bus` (anything with EventBus's `publish_batch`)
  before it reads the next frame, so the event gets its sequence before the call's result is
  delivered, stamped with the hook's time. Without a bus, or when the bus refuses the event
  (invalid, rate limit), the refusal is logged and counted in `publish_errors`.
- with `virtual_clock=True` (conformance), calls carry the executor's VirtualClock time, the
  worker reports how far its hook advanced time (`clock_advance`) and the adapter advances the
  VirtualClock by exactly that, so a Lua hook that "takes 60 ms" takes 60 ms. The real-time wait
  is then `timeout + virtual_call_guard_s` (virtual time does not pass while waiting; the
  worker's own CPU budget still stops a runaway hook at its timeout, so the guard only catches
  a stuck worker, generously, since a loaded machine must not turn into a verdict).

Example:
    >>> import pathlib, tempfile
    >>> from hookwire.runtime.context import HookContext
    >>> from hookwire.runtime.executor import Executor
    >>> from hookwire.runtime.registry import Registry
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "deny.lua").write_text(
    ...     'hookwire.register("session_start", function(ctx) '
    ...     'return hookwire.cancel("no " .. ctx.data.user) end, {name = "deny"})')
    >>> reg = Registry()
    >>> with LuaProcessWorker([d / "deny.lua"], registry=reg, blocking=True) as worker:
    ...     ctx = HookContext("session_start", {"user": "bob"})
    ...     Executor(reg).execute("session_start", ctx).result
    Cancel(reason='no bob')
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import itertools
import logging
import os
import queue
import resource
import subprocess
import threading
from collections.abc import Generator, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

from hookwire.runtime.adapter import HookFailed
from hookwire.runtime.bus.event import Event
from hookwire.runtime.clock import Clock, SystemClock, VirtualClock
from hookwire.runtime.context import HookContext
from hookwire.runtime.errors import FailedPrecondition, InvalidArgument
from hookwire.runtime.lua_process.interpreter import (
    choose_interpreter,
    describe_interpreter,
    find_lua,
    interpreter_command,
)
from hookwire.runtime.registry import HookSpec, Registry
from hookwire.runtime.share import generated_lua_dir, lua_dir
from hookwire.runtime.worker_connection.connection import WorkerGone, publish_events
from hookwire.runtime.worker_connection.pipe import PipeConnection
from hookwire.v1 import event_pb2
from hookwire.v1 import executor_service_pb2 as es

if TYPE_CHECKING:
    from hookwire.runtime.lua_process.adapter import LuaProcessHookAdapter

__all__ = [
    "DEFAULT_MEMORY_LIMIT",
    "EventPublisher",
    "LuaProcessWorker",
    "LuaWorkerError",
    "WorkerGone",
    "default_worker_script",
    "find_lua",
]

_log = logging.getLogger("hookwire.lua_process")
_NS = 1_000_000_000
_MS = 1_000_000
_T = TypeVar("_T")
#: Default address-space limit of a worker process.
DEFAULT_MEMORY_LIMIT = 256 << 20


class LuaWorkerError(FailedPrecondition):
    """The Lua worker could not be started: no such interpreter, a hook file that does not load, a
    refused registration, or a broken handshake. The message carries the worker's stderr."""


class EventPublisher(Protocol):
    """Where a worker's published events go: an EventBus, or anything with its `publish_batch`
    (all events accepted or the whole batch refused with a HookwireError)."""

    def publish_batch(self, events: Iterable[Event]) -> list[Event]: ...


def default_worker_script() -> Path:
    """The worker program, `worker.lua`, in the host Lua sources (`share.lua_dir`)."""
    return lua_dir() / "worker.lua"


def _run(steps: Generator[None, None, _T]) -> _T:
    """Run a generator of steps to its end (nothing to interleave here) and return its value."""
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]


def _lua_path() -> str:
    # Only hookwire's own modules: a LUA_PATH of the caller's must not change the worker.
    roots = (generated_lua_dir(), lua_dir())
    return ";".join(f"{root}/?.lua" for root in roots)


class LuaProcessWorker:
    """Supervises one Lua worker process (`lua5.4`, or the lupa fallback) serving the hooks of
    `hook_files` (Lua files, or directories: every `.lua` file under them, sorted).

    `start()` (or the context manager) starts it and, with a `registry`, registers its hooks;
    `stop()` ends it and unregisters them. `adapter(name)` gives the HookAdapter of one hook
    (for registering by hand). `blocking=True` makes the hooks synchronous for the executor
    (`Executor.execute`; each call blocks its thread on the pipe); by default they are
    asynchronous (`Executor.aexecute`). Thread-safe.
    """

    def __init__(
        self,
        hook_files: Iterable[str | Path],
        *,
        registry: Registry | None = None,
        clock: Clock | None = None,
        virtual_clock: bool = False,
        worker_id: str = "lua-worker",
        lua: str | None = None,
        worker_script: str | Path | None = None,
        backoff_initial_ms: float = 100.0,
        backoff_multiplier: float = 2.0,
        backoff_max_ms: float = 30_000.0,
        kill_grace_ms: float = 1000.0,
        start_timeout_s: float = 10.0,
        check_every: int = 1000,
        blocking: bool = False,
        memory_limit: int | None = DEFAULT_MEMORY_LIMIT,
        virtual_call_guard_s: float = 30.0,
        bus: EventPublisher | None = None,
    ) -> None:
        self.hook_files: list[Path] = []
        for i, f in enumerate(map(Path, hook_files)):
            if f.is_dir():
                self.hook_files += sorted(f.rglob("*.lua"))
            elif f.is_file():
                self.hook_files.append(f)
            else:
                raise InvalidArgument(f"hook_files[{i}]", f"{f} is neither a file nor a directory")
        self.clock: Clock = clock if clock is not None else SystemClock()
        if virtual_clock and not isinstance(self.clock, VirtualClock):
            raise InvalidArgument("virtual_clock", "needs clock to be a VirtualClock")
        for name, v, low in (
            ("backoff_initial_ms", backoff_initial_ms, 0.0),
            ("backoff_multiplier", backoff_multiplier, 1.0),
            ("backoff_max_ms", backoff_max_ms, 0.0),
            ("kill_grace_ms", kill_grace_ms, 0.0),
            ("start_timeout_s", start_timeout_s, 0.0),
            ("virtual_call_guard_s", virtual_call_guard_s, 0.0),
        ):
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not low <= v < 1e12:
                raise InvalidArgument(name, f"must be a number >= {low:g}, got {v!r}")
        if not isinstance(check_every, int) or isinstance(check_every, bool) or check_every < 1:
            raise InvalidArgument("check_every", f"must be a positive int, got {check_every!r}")
        if not worker_id or not isinstance(worker_id, str):
            raise InvalidArgument("worker_id", f"must be a non-empty string, got {worker_id!r}")
        if memory_limit is not None and (
            not isinstance(memory_limit, int)
            or isinstance(memory_limit, bool)
            or memory_limit < (16 << 20)
        ):
            raise InvalidArgument(
                "memory_limit", f"must be None or an int >= 16 MiB, got {memory_limit!r}"
            )
        self.memory_limit = memory_limit
        self.registry = registry
        self.blocking = bool(blocking)
        self.virtual = virtual_clock
        self.worker_id = worker_id
        #: The interpreter: `lua` when given, else `lua5.4` on PATH, else "lupa" (the fallback).
        self.lua = choose_interpreter(lua)
        self.worker_script = Path(worker_script) if worker_script else default_worker_script()
        self.backoff_initial_ns = round(backoff_initial_ms * _MS)
        self.backoff_multiplier = float(backoff_multiplier)
        self.backoff_max_ns = round(backoff_max_ms * _MS)
        self.kill_grace_s = kill_grace_ms / 1000.0
        self.start_timeout_s = float(start_timeout_s)
        self.virtual_call_guard_s = float(virtual_call_guard_s)
        self.check_every = check_every
        #: Hook name -> its spec, as the worker registered it (last successful start).
        self.specs: dict[str, HookSpec] = {}
        #: How often the process was started (1 after the first start).
        self.starts = 0
        #: Why the process last died, if it did.
        self.last_failure: str | None = None
        self._lock = threading.RLock()
        # The connection to the running process (one per run), if one was started.
        self._life: PipeConnection | None = None
        self._ids = itertools.count(1)
        self._generations = itertools.count(1)
        self._next_start_ns = 0
        self._backoff_ns = self.backoff_initial_ns
        self._stopped = False
        self._registered: list[str] = []
        self.bus = bus
        # The connection of a run: what it shares with the others (and with this supervisor).
        self._new_connection = functools.partial(
            PipeConnection,
            clock=self.clock,
            virtual=self.virtual,
            lock=self._lock,
            call_ids=self._ids,
            on_publish=self._publish,
            on_death=self._on_death,
            log=_log,
            peer="the Lua worker",
        )
        #: Publish frames refused so far (no bus, invalid event, rate limit); each is logged.
        self.publish_errors = 0

    # -- lifecycle -----------------------------------------------------------------------------

    def __enter__(self) -> LuaProcessWorker:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        """True while a process is up and has registered its hooks."""
        life = self._life
        return life is not None and not life.closed

    @property
    def pid(self) -> int | None:
        """The process id of the running worker."""
        life = self._life
        return life.proc.pid if life is not None and not life.closed else None

    @property
    def in_flight(self) -> int:
        """Calls sent and not yet answered or failed."""
        life = self._life
        return life.in_flight if life is not None else 0

    def start(self) -> list[HookSpec]:
        """Start the process and (with a registry) register its hooks; returns their specs.

        Raises LuaWorkerError when the process cannot start or a hook file does not load.
        """
        with self._lock:
            if self._stopped:
                raise FailedPrecondition("worker", "this LuaProcessWorker was stopped")
            if self.running:
                return list(self.specs.values())
            self._spawn()
            return list(self.specs.values())

    def stop(self, timeout_s: float = 5.0) -> None:
        """End the process (end of input, then a kill after `timeout_s`), fail calls in flight
        and unregister the hooks this worker registered. Idempotent."""
        with self._lock:
            self._stopped = True
            life = self._life
            if life is not None:
                life.end("the Lua worker was stopped", graceful_s=timeout_s)
            if self.registry is not None:
                for name in self._registered:
                    if name in self.registry:
                        self.registry.unregister(name)
            self._registered = []

    def adapter(self, hook_name: str) -> LuaProcessHookAdapter:
        """The HookAdapter calling `hook_name` in this worker."""
        from hookwire.runtime.lua_process.adapter import LuaProcessHookAdapter

        return LuaProcessHookAdapter(self, hook_name)

    # -- process -------------------------------------------------------------------------------

    @property
    def interpreter(self) -> str:
        """Which interpreter runs the worker, e.g. `lua5.4 (/usr/bin/lua5.4)` or
        `lupa 2.8 fallback (Lua 5.4 in /venv/bin/python)`."""
        return describe_interpreter(self.lua)

    def _command(self) -> list[str]:
        # The host Lua sources (sandbox, conversion, SDK) are passed explicitly: a worker script
        # of the caller's need not lie beside them.
        cmd = [*interpreter_command(self.lua), str(self.worker_script)]
        cmd += ["--lua-dir", str(lua_dir())]
        cmd += ["--worker-id", self.worker_id]
        cmd += ["--check-every", str(self.check_every)]
        if self.virtual:
            cmd.append("--virtual-clock")
        return cmd + [str(f) for f in self.hook_files]

    def _spawn(self) -> None:
        """Start a process and do the handshake (lock held). On failure: LuaWorkerError."""
        self.starts += 1
        env = dict(os.environ, LUA_PATH=_lua_path())
        env.pop("LUA_PATH_5_4", None)  # it would take precedence over LUA_PATH
        try:
            proc = subprocess.Popen(
                self._command(),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
            )
        except OSError as exc:
            self._schedule_restart()
            raise LuaWorkerError("lua", f"cannot start {self.lua!r}: {exc}") from None
        if self.memory_limit is not None:
            # The process's address space (set after the start, not in preexec_fn, which is
            # unsafe with threads). A hook that allocates past it gets Lua's "not enough memory".
            limit = self.memory_limit
            with contextlib.suppress(OSError, ValueError):
                resource.prlimit(proc.pid, resource.RLIMIT_AS, (limit, limit))
        life = self._new_connection(
            proc, f"{self.worker_id}#{next(self._generations)}", self.worker_id, "lua"
        )
        self._life = life
        life.start_reading()
        try:
            self._handshake(life)
        except LuaWorkerError as exc:
            self.last_failure = str(exc)
            life.end(str(exc))
            self._schedule_restart()
            raise

    def _expect(self, life: PipeConnection, what: str) -> es.WorkerMessage:
        try:
            m = life.handshake.get(timeout=self.start_timeout_s)
        except queue.Empty:
            raise LuaWorkerError(
                "worker", f"no {what} from the Lua worker within {self.start_timeout_s:g} s"
            ) from None
        if isinstance(m, str):
            raise LuaWorkerError("worker", f"before its {what}: {m}")
        if m.WhichOneof("message") != what:
            raise LuaWorkerError(
                "worker", f"protocol error: expected {what}, got {m.WhichOneof('message')}"
            )
        return m

    def _handshake(self, life: PipeConnection) -> None:
        hello = self._expect(life, "hello").hello
        if hello.virtual_clock != self.virtual:
            raise LuaWorkerError(
                "hello.virtual_clock", f"is {hello.virtual_clock}, expected {self.virtual}"
            )
        life.send(
            es.ExecutorMessage(
                welcome=es.WorkerWelcome(connection_id=life.connection_id, publish_acks=True)
            )
        )
        register = self._expect(life, "register").register
        steps = life.registration(
            self.registry, register, lambda spec: self.adapter(spec.name), kept=self._registered
        )
        ack, specs = _run(steps)
        life.send(es.ExecutorMessage(register_ack=ack))
        if ack.error:
            raise LuaWorkerError("register", f"the worker's hooks were refused: {ack.error}")
        self._registered += sorted(life.hook_names)
        self.specs = {spec.name: spec for spec in specs}
        _log.info(
            "Lua worker %s (pid %d) serves %d hooks",
            self.worker_id,
            life.proc.pid,
            len(self.specs),
        )

    def _publish(self, pbs: list[event_pb2.UniversalEvent]) -> es.PublishAck:
        try:
            if self.bus is None:
                raise FailedPrecondition("bus", "this LuaProcessWorker was given no event bus")
            published = self.bus.publish_batch(publish_events(pbs, "lua"))
        except Exception as exc:  # the reader thread must go on; the refusal is reported
            self.publish_errors += 1
            _log.warning(
                "Lua worker %s: %d published event(s) refused: %s", self.worker_id, len(pbs), exc
            )
            return es.PublishAck(error=str(exc), code=getattr(exc, "code", "INTERNAL"))
        return es.PublishAck(sequences=[e.sequence for e in published])

    def _on_death(self, life: PipeConnection, reason: str) -> None:
        with self._lock:
            if life.closed:
                return
            running = next(iter(life.calls.values()), None)
            if running is not None:
                reason = f"{reason} (running hook {running.hook_name!r}, call {running.call_id})"
            if not self._stopped:
                self.last_failure = reason
                _log.warning("Lua worker %s died: %s", self.worker_id, reason)
                self._schedule_restart()
            life.end(reason)

    def _schedule_restart(self) -> None:
        self._next_start_ns = self.clock.monotonic_ns() + self._backoff_ns
        self._backoff_ns = min(
            round(self._backoff_ns * self.backoff_multiplier), self.backoff_max_ns
        )

    # -- calls ---------------------------------------------------------------------------------

    def submit(
        self, hook_name: str, ctx: HookContext, timeout_ns: int
    ) -> tuple[int, concurrent.futures.Future[es.HookCallResult]]:
        """Send a call to the worker (restarting it first when it is down and the backoff has
        passed); returns the call id and the future of its answer. Raises WorkerGone."""
        with self._lock:
            if self._stopped:
                raise WorkerGone("the Lua worker was stopped")
            life = self._life
            if life is None or life.closed:
                now = self.clock.monotonic_ns()
                if now < self._next_start_ns:
                    wait_ms = (self._next_start_ns - now) / _MS
                    raise WorkerGone(
                        f"the Lua worker is down ({self.last_failure}); restart in {wait_ms:g} ms"
                    )
                try:
                    self._spawn()
                except LuaWorkerError as exc:
                    raise WorkerGone(f"restarting the Lua worker failed: {exc}") from None
                life = self._life
                assert life is not None
            if hook_name not in self.specs:
                raise HookFailed(f"the Lua worker no longer serves a hook named {hook_name!r}")
            return life.submit(hook_name, ctx, timeout_ns)

    def connection(self) -> PipeConnection | None:
        """The connection to the running process (None before the first start)."""
        return self._life

    def wait_s(self, timeout_ns: int) -> float:
        """How long (real seconds) a caller waits for an answer before abandoning the call."""
        if self.virtual:
            return timeout_ns / _NS + self.virtual_call_guard_s
        return timeout_ns / _NS

    def abandon(self, call_id: int) -> None:
        """Give up on a call at its deadline: send a CancelCall, and kill the process if the
        call is still unanswered after the grace period (a hook stuck where the instruction
        budget cannot stop it, e.g. inside one C function)."""
        with self._lock:
            life = self._life
            if life is None or not life.abandon(call_id):
                return
        # With a virtual clock the wait already included a generous guard.
        delay = 0.0 if self.virtual else self.kill_grace_s
        timer = threading.Timer(delay, self._kill_if_silent, (life, call_id))
        timer.daemon = True
        timer.start()

    def _kill_if_silent(self, life: PipeConnection, call_id: int) -> None:
        """Kill a worker stuck in call `call_id`, restart it at once and send it the calls that
        were queued behind the stuck one (they had not started)."""
        with self._lock:
            if call_id not in life.overdue or life.closed:
                return
            stuck = life.calls.get(call_id)
            hook = stuck.hook_name if stuck is not None else "?"
            reason = (
                f"call {call_id} was not answered {self.kill_grace_s:g} s after its deadline: "
                f"hook {hook!r} is stuck; the Lua worker was killed"
            )
            queued = life.take_queued_after(call_id)
            self.last_failure = reason
            _log.warning("Lua worker %s: %s", self.worker_id, reason)
            life.end(reason)
            if not queued:
                self._schedule_restart()  # the next call starts it (after the backoff)
                return
            failure: str | None = None
            if self._stopped:
                failure = "the Lua worker was stopped"
            else:
                try:
                    self._spawn()  # at once: the process was sound, only one hook was stuck
                except LuaWorkerError as exc:
                    failure = f"restarting it failed: {exc}"
            new = self._life
            for cid, call, future in queued:
                if future.done():
                    continue
                if failure is None and new is not None and not new.closed:
                    if call.hook_name in self.specs:
                        new.adopt(cid, call, future)
                        continue
                    why = f"the restarted Lua worker no longer serves {call.hook_name!r}"
                else:
                    why = failure or "the restarted Lua worker died"
                with contextlib.suppress(concurrent.futures.InvalidStateError):
                    future.set_exception(
                        WorkerGone(
                            f"this call to {call.hook_name!r} was queued behind hook {hook!r}, "
                            f"which was stuck past its deadline and killed with the Lua worker; "
                            f"{why}"
                        )
                    )

    def note_success(self) -> None:
        """A call came back: the backoff starts again from `backoff_initial_ms`."""
        self._backoff_ns = self.backoff_initial_ns
