"""The stdio-process transport of a worker connection: one `PipeConnection` per run of a worker
process (the Lua worker, `sdk/lua/worker.lua`), its messages as length-delimited protobuf
frames (`hookwire.runtime.framing`) on the process's stdin (ExecutorMessage) and stdout
(WorkerMessage); stderr is its log.

A reader thread takes the frames: results complete their calls (thread-safe futures, so a
caller may block on one or await it), a `publish` frame goes to `on_publish` before the next
frame is read (the hook's events precede its result; a `sequenced_publish` is then answered
with the PublishAck `on_publish` returns), `hello` and `register` go to the
`handshake` queue of the host that started the process. End of output, a malformed frame or
an unexpected message ends the connection: the process is killed and `on_death` gets the
reason with the tail of stderr. Writes go straight to stdin, under a lock.

Example (the frames, without a process):
    >>> from hookwire.runtime.framing import encode_frame
    >>> encode_frame(b"abc")
    b'\\x03abc'
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import queue
import subprocess
import threading
from collections import deque
from collections.abc import Callable, Iterator
from typing import IO

from google.protobuf.message import DecodeError
from hookwire.runtime.clock import Clock
from hookwire.runtime.context import HookContext
from hookwire.runtime.framing import FrameReader, MalformedFrame, encode_frame
from hookwire.runtime.worker_connection.connection import WorkerConnection, WorkerGone
from hookwire.v1 import event_pb2
from hookwire.v1 import executor_service_pb2 as es

__all__ = ["PipeConnection"]

_STDERR_LINES = 20


class PipeConnection(WorkerConnection):
    """A worker connection over the stdin/stdout of `proc` (see the module docstring).

    `lock` is the host's: calls move between connections under it (`adopt`), so that
    answers and abandons of those calls see one consistent state. `call_ids` is shared with
    the host's other connections for the same reason.
    """

    def __init__(
        self,
        proc: subprocess.Popen[bytes],
        connection_id: str,
        worker_id: str,
        language: str,
        *,
        clock: Clock,
        virtual: bool,
        lock: threading.RLock,
        call_ids: Iterator[int],
        on_publish: Callable[[list[event_pb2.UniversalEvent]], es.PublishAck],
        on_death: Callable[[PipeConnection, str], None],
        log: logging.Logger,
        peer: str = "the worker process",
    ) -> None:
        super().__init__(
            connection_id, worker_id, language, clock=clock, virtual=virtual, call_ids=call_ids
        )
        self.proc = proc
        self.handshake: queue.Queue[es.WorkerMessage | str] = queue.Queue()
        self.stderr: deque[str] = deque(maxlen=_STDERR_LINES)
        self.stderr_done = threading.Event()
        # The HookCall of every call sent and not yet answered (abandoned ones included), in
        # the order sent: the worker runs them in this order.
        self.calls: dict[int, es.HookCall] = {}
        #: Calls abandoned at their deadline and not answered since.
        self.overdue: set[int] = set()
        self._lock = lock
        self._on_publish = on_publish
        self._on_death = on_death
        self._log = log
        #: How reasons name the process, e.g. "the Lua worker".
        self.peer = peer

    def start_reading(self) -> None:
        """Start the threads that read the process's stdout (frames) and stderr (its log)."""
        threading.Thread(
            target=self._read_stderr, daemon=True, name=f"{self._log.name}-stderr"
        ).start()
        threading.Thread(
            target=self._read_stdout, daemon=True, name=f"{self._log.name}-stdout"
        ).start()

    def stderr_text(self) -> str:
        """The last lines the process wrote on stderr."""
        self.stderr_done.wait(1.0)
        return "\n".join(self.stderr)

    # -- the transport -----------------------------------------------------------------------

    def send(self, message: es.ExecutorMessage) -> None:
        """Write `message` as one frame on the process's stdin. Raises WorkerGone (and ends the
        connection) when the process cannot take it."""
        stdin: IO[bytes] | None = self.proc.stdin
        assert stdin is not None
        try:
            with self._lock:
                stdin.write(encode_frame(message.SerializeToString()))
                stdin.flush()
        except (OSError, ValueError) as exc:
            self._on_death(self, f"cannot write to {self.peer}: {exc}")
            raise WorkerGone(self.closed_reason or str(exc)) from None

    # -- calls -------------------------------------------------------------------------------

    def submit(
        self, hook_name: str, ctx: HookContext, timeout_ns: int
    ) -> tuple[int, concurrent.futures.Future[es.HookCallResult]]:
        """Send a call; returns its id and the future of its answer. Raises WorkerGone."""
        future: concurrent.futures.Future[es.HookCallResult] = concurrent.futures.Future()
        with self._lock:
            call_id, message = self.start_call(hook_name, ctx, timeout_ns, future)
            self.calls[call_id] = message.call
            self.send(message)
        return call_id, future

    def adopt(
        self,
        call_id: int,
        call: es.HookCall,
        future: concurrent.futures.Future[es.HookCallResult],
    ) -> None:
        """Send again a call another connection (an earlier run of the process) took but never
        ran, keeping its id and its caller's future (lock held)."""
        self._pending[call_id] = future
        self.calls[call_id] = call
        # On a write failure, on_death fails it with the other pending calls.
        with contextlib.suppress(WorkerGone):
            self.send(es.ExecutorMessage(call=call))

    def take_queued_after(
        self, call_id: int
    ) -> list[tuple[int, es.HookCall, concurrent.futures.Future[es.HookCallResult]]]:
        """Remove and return the calls sent after `call_id` and still awaited, in order: the
        process runs calls one at a time, so they have not started (lock held)."""
        queued = []
        for cid, call in self.calls.items():
            if cid > call_id and cid in self._pending:
                waiter = self._pending.pop(cid)
                assert isinstance(waiter, concurrent.futures.Future)
                queued.append((cid, call, waiter))
        return queued

    def deliver(self, result: es.HookCallResult) -> bool:
        with self._lock:
            self.calls.pop(result.call_id, None)
            if result.call_id not in self._pending:
                self.overdue.discard(result.call_id)  # an abandoned call's late answer
                return False
            return super().deliver(result)

    def abandon(self, call_id: int) -> bool:
        """Give up on a call: send a CancelCall and remember it as overdue. False when it was
        not in flight, or the process cannot be told (it is dead: the host restarts it)."""
        with self._lock:
            if call_id not in self._pending:
                return False
            self.overdue.add(call_id)
            try:
                return super().abandon(call_id)
            except WorkerGone:
                return False

    def end(self, reason: str, graceful_s: float = 0.0) -> None:
        """Fail every call in flight with `reason` and end the process: end of input and
        `graceful_s` to exit, then a kill."""
        with self._lock:
            self.close(reason)
        proc = self.proc
        if proc.poll() is None:
            if graceful_s > 0 and proc.stdin is not None:
                try:
                    proc.stdin.close()
                    proc.wait(graceful_s)
                except (OSError, subprocess.TimeoutExpired):
                    pass
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        stdin = proc.stdin
        if stdin is not None and not stdin.closed:
            with contextlib.suppress(OSError):
                stdin.close()

    # -- reading -----------------------------------------------------------------------------

    def _read_stdout(self) -> None:
        stdout = self.proc.stdout
        assert stdout is not None
        reader = FrameReader(stdout)
        reason: str
        while True:
            try:
                body = reader.read()
                if body is None:
                    code = self.proc.wait()
                    reason = f"{self.peer} exited with status {code}"
                    break
                message = es.WorkerMessage.FromString(body)
            except MalformedFrame as exc:
                reason = f"malformed frame from {self.peer}: {exc}"
                break
            except DecodeError as exc:
                reason = f"malformed frame from {self.peer}: not a WorkerMessage ({exc})"
                break
            except (OSError, ValueError) as exc:
                reason = f"cannot read from {self.peer}: {exc}"
                break
            if self.take_results(message):
                continue
            kind = message.WhichOneof("message")
            if kind == "publish":
                # On this thread, before the next frame: the hook's events precede its result.
                self._on_publish(list(message.publish.events))
            elif kind == "sequenced_publish":
                # The same, answered: the worker's hookwire.publish returns the sequence.
                req = message.sequenced_publish
                ack = self._on_publish(list(req.events))
                ack.request_id = req.request_id
                with contextlib.suppress(WorkerGone):  # the connection ended: on_death ran
                    self.send(es.ExecutorMessage(publish_ack=ack))
            elif kind in ("hello", "register"):
                self.handshake.put(message)
            else:
                reason = f"malformed frame from {self.peer}: unexpected message {kind!r}"
                break
        stdout.close()
        if self.proc.poll() is None:
            # A worker that broke the protocol cannot be trusted with another frame; killing
            # it first also closes its stderr, so the tail below is complete.
            self.proc.kill()
        stderr = self.stderr_text()
        if stderr:
            reason = f"{reason}; stderr: {stderr}"
        self.handshake.put(reason)
        self._on_death(self, reason)

    def _read_stderr(self) -> None:
        stderr = self.proc.stderr
        assert stderr is not None
        try:
            for raw in stderr:
                line = raw.decode(errors="replace").rstrip("\n")
                self.stderr.append(line)
                self._log.info("%s %s: %s", self.peer, self.worker_id, line)
        finally:
            stderr.close()
            self.stderr_done.set()
