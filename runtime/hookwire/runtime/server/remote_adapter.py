"""Hooks served by a remote worker: one `WorkerConnection` per Connect stream, one
`RemoteHookAdapter` per hook the worker registered.

Calls to one worker are multiplexed on its stream: each HookCall gets a fresh `call_id` and the
HookCallResult carrying the same id completes it, in any order. A call that outlives its
timeout is answered with a CancelCall to the worker and fails as a timeout; a worker that goes
away fails every call still in flight at once (the executor classifies them ERROR, the breaker
counts them, the failure policy applies).

Bounded outbox: calls wait in the connection's outbox until the stream takes them, so a
worker that stops reading its stream would make them pile up. The outbox is bounded in bytes
and in messages (`max_queued_bytes`, `max_queued_messages`); a call that times out before it
was sent leaves the outbox at once (it already has its answer, TIMEOUT, and no CancelCall is
needed), and a worker over the bound is treated as failing: the connection closes with
RESOURCE_EXHAUSTED, every call in flight fails as `WorkerGone` naming the reason, and its hooks
are unregistered. `close()` drops the calls still queued (they fail at once).

Virtual time (conformance): when the worker said `virtual_clock` in its hello and the executor
runs on a `VirtualClock`, each HookCall carries the executor's virtual wall time and the
worker answers with `clock_advance`, how far its hook moved time. The adapter advances the
executor's clock by exactly that before returning, so the executor measures the remote hook's
duration as `clock_advance` and classifies TIMEOUT / slow from it, deterministically. While
waiting, a generous real-time guard (`virtual_call_guard_s`) stands in for the timeout, since
virtual time does not pass while the executor waits.

Batching: when the worker said `batching` in its hello, the writer sends every call queued
while it was busy as one `call_batch` frame (a lone call stays a plain `call`; cancels and acks
keep their place in the order). Each gRPC message costs far more than its bytes, so with many
calls in flight this multiplies the calls a stream carries. Results may come back as
`result_batch` from any worker; `deliver()` is applied to each in order.

Example (wiring, as the executor service does it):
    >>> import asyncio
    >>> from hookwire.runtime.clock import SystemClock
    >>> conn = WorkerConnection("c1", "w1", "javascript", clock=SystemClock())
    >>> adapter = RemoteHookAdapter(conn, "audit", "javascript")
    >>> (adapter.language, adapter.is_async)
    ('javascript', True)
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections import deque
from collections.abc import AsyncIterator, Callable

from hookwire.runtime.adapter import HookFailed, HookTimedOut, InvalidResult
from hookwire.runtime.clock import Clock, VirtualClock
from hookwire.runtime.context import HookContext
from hookwire.runtime.errors import HookwireError
from hookwire.runtime.results import HookResult
from hookwire.runtime.wire.context import fill_context
from hookwire.runtime.wire.results import result_from_proto
from hookwire.v1 import executor_service_pb2 as es

__all__ = [
    "DEFAULT_MAX_QUEUED_BYTES",
    "DEFAULT_MAX_QUEUED_MESSAGES",
    "RemoteHookAdapter",
    "WorkerConnection",
    "WorkerGone",
]

_NS = 1_000_000_000
DEFAULT_MAX_QUEUED_BYTES = 64 * 1024 * 1024
DEFAULT_MAX_QUEUED_MESSAGES = 10_000


class WorkerGone(HookFailed):
    """The worker serving a hook disconnected before (or while) the hook was called."""


class _Expired(Exception):
    """Set on a call's future by the deadline timer: the worker did not answer in time."""


class WorkerConnection:
    """The executor's side of one worker stream: outgoing messages and calls in flight.

    The Connect handler feeds `deliver()` with the worker's results and drains `outgoing()`
    into the stream; `close()` fails everything in flight and ends `outgoing()`.
    """

    def __init__(
        self,
        connection_id: str,
        worker_id: str,
        language: str,
        *,
        clock: Clock,
        virtual: bool = False,
        virtual_call_guard_s: float = 30.0,
        batching: bool = False,
        max_queued_bytes: int = DEFAULT_MAX_QUEUED_BYTES,
        max_queued_messages: int = DEFAULT_MAX_QUEUED_MESSAGES,
    ) -> None:
        if virtual and not isinstance(clock, VirtualClock):
            raise HookwireError(
                "hello.virtual_clock",
                "the worker asked for virtual time but this executor runs on a real clock",
                code="FAILED_PRECONDITION",
            )
        self.connection_id = connection_id
        self.worker_id = worker_id
        self.language = language
        self.virtual = virtual
        self.batching = batching
        self.hook_names: set[str] = set()
        self._clock = clock
        self._guard_s = virtual_call_guard_s
        # A deque and one waiter instead of an asyncio.Queue: a send is an append (and at most
        # one wake-up), and the writer drains everything queued in one go.
        # A call waits here as its id (its message is in `_unsent`), so that a call abandoned
        # before it was sent frees its message at once; other messages wait as themselves.
        self._outbox: deque[es.ExecutorMessage | int] = deque()
        self._writer_waiting: asyncio.Future[None] | None = None
        # Calls still in the outbox: call id -> (message, its encoded size).
        self._unsent: dict[int, tuple[es.ExecutorMessage, int]] = {}
        self._queued_bytes = 0
        self._max_bytes = max_queued_bytes
        self._max_messages = max_queued_messages
        # Why the stream ended, when the executor ended it ((gRPC code name, text)).
        self.failure: tuple[str, str] | None = None
        # Called with the reason when `fail()` closes the connection (the executor service
        # unregisters the worker's hooks at once: its stream may not end until the peer reads).
        self.on_failure: Callable[[str], None] | None = None
        self._pending: dict[int, asyncio.Future[es.HookCallResult]] = {}
        self._ids = itertools.count(1)
        self._closed_reason: str | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        # Deadlines of calls in flight, (loop time, call id), and ONE timer for the earliest:
        # a timer per call (armed, then cancelled by nearly every answer) costs more than the
        # rest of the call's bookkeeping. Entries of answered calls are dropped lazily.
        self._deadlines: list[tuple[float, int]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = float("inf")

    @property
    def closed(self) -> bool:
        return self._closed_reason is not None

    @property
    def in_flight(self) -> int:
        """Calls sent and not yet answered, cancelled or failed."""
        return len(self._pending)

    @property
    def queued_bytes(self) -> int:
        """Encoded bytes of the calls waiting in the outbox (not yet taken by the stream)."""
        return self._queued_bytes

    @property
    def queued_messages(self) -> int:
        """Messages waiting in the outbox."""
        return len(self._outbox)

    def bind_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """Remember the server's loop so that sync callers on other threads can reach it."""
        self._loop = loop

    def send(self, message: es.ExecutorMessage) -> None:
        """Queue a message for the worker (dropped silently only after close: nobody listens)."""
        if self._closed_reason is None:
            if len(self._outbox) >= self._max_messages:
                self._overflow()
                return
            self._outbox.append(message)
            self._wake_writer()

    def _overflow(self) -> None:
        self.fail(
            "RESOURCE_EXHAUSTED",
            f"worker {self.worker_id!r} is not reading its stream: {len(self._outbox)} "
            f"messages / {self._queued_bytes} bytes queued for it (limits "
            f"{self._max_messages} messages, {self._max_bytes} bytes)",
        )

    def fail(self, code: str, reason: str) -> None:
        """Close the connection because of the worker (the stream ends with `code`)."""
        if self._closed_reason is None:
            self.failure = (code, reason)
            self.close(reason)
            if self.on_failure is not None:
                self.on_failure(reason)

    def _wake_writer(self) -> None:
        waiting = self._writer_waiting
        if waiting is not None:
            self._writer_waiting = None
            if not waiting.done():
                waiting.set_result(None)

    async def outgoing(self) -> AsyncIterator[es.ExecutorMessage]:
        """Messages for the worker, in order, until the connection closes (the messages other
        than calls queued before `close()` are still delivered)."""
        outbox = self._outbox
        while True:
            while outbox:
                message = self._pop_call()
                if message is None:
                    if not outbox:
                        break
                    head = outbox.popleft()  # not a call
                    assert not isinstance(head, int)
                    message = head
                elif self.batching and outbox:
                    message = self._take_batch(message)
                yield message
            if self._closed_reason is not None:
                return
            waiting = asyncio.get_running_loop().create_future()
            self._writer_waiting = waiting
            await waiting

    def deliver(self, result: es.HookCallResult) -> bool:
        """Complete the call `result.call_id`; False when no such call is in flight (late
        answer to a cancelled call, or a worker bug) — the result is then ignored."""
        future = self._pending.pop(result.call_id, None)
        if future is None or future.done():
            return False
        future.set_result(result)
        return True

    def close(self, reason: str) -> None:
        """Fail every call in flight with WorkerGone(reason) and end `outgoing()`. Idempotent."""
        if self._closed_reason is not None:
            return
        self._closed_reason = reason
        pending, self._pending = self._pending, {}
        # Calls still queued fail below: drop them (and their contexts) now. Other messages
        # (welcome, acks, cancels: small) still go out, unless the worker itself is the fault.
        kept = (
            []
            if self.failure is not None
            else [m for m in self._outbox if not isinstance(m, int) and not m.HasField("call")]
        )
        self._outbox.clear()
        self._outbox.extend(kept)
        self._unsent.clear()
        self._queued_bytes = 0
        for future in pending.values():
            if not future.done():
                future.set_exception(WorkerGone(reason))
        self._disarm()
        self._wake_writer()

    async def call(self, hook_name: str, ctx: HookContext, timeout_ns: int) -> HookResult:
        """Call `hook_name` on the worker and wait for its answer (see the module docstring)."""
        if self._closed_reason is not None:
            raise WorkerGone(self._closed_reason)
        call_id = next(self._ids)
        # Built in place: HookCall(context=...) and ExecutorMessage(call=...) would copy each.
        message = es.ExecutorMessage()
        call = message.call
        call.call_id = call_id
        call.hook_name = hook_name
        fill_context(call.context, ctx)
        timeout = call.timeout
        timeout.seconds, timeout.nanos = divmod(timeout_ns, _NS)
        if self.virtual:
            call.clock_now_unix_nanos = self._clock.time_ns()
        size = message.ByteSize()
        if self._queued_bytes + size > self._max_bytes or len(self._outbox) >= self._max_messages:
            self._overflow()
            assert self._closed_reason is not None
            raise WorkerGone(self._closed_reason)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[es.HookCallResult] = loop.create_future()
        self._pending[call_id] = future
        self._unsent[call_id] = (message, size)
        self._queued_bytes += size
        self._outbox.append(call_id)
        self._wake_writer()
        wait_s = self._guard_s if self.virtual else timeout_ns / _NS
        deadline = loop.time() + wait_s
        deadlines = self._deadlines
        heapq.heappush(deadlines, (deadline, call_id))
        if len(deadlines) > 2 * len(self._pending) + 256:
            self._compact()
        if deadline < self._timer_at:
            self._arm(loop, deadline)
        try:
            answer = await future
        except _Expired:
            self._abandon(call_id)
            raise HookTimedOut(
                f"remote hook {hook_name!r} on worker {self.worker_id!r} did not answer "
                f"within {wait_s:g} s"
            ) from None
        except asyncio.CancelledError:
            # The executor (or the Execute RPC's deadline) gave up: tell the worker to stop.
            self._abandon(call_id)
            raise
        return self._outcome(hook_name, answer)

    def _arm(self, loop: asyncio.AbstractEventLoop, when: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = loop.call_at(when, self._expire_due)
        self._timer_at = when

    def _expire_due(self) -> None:
        """The timer: fail the calls whose deadline passed, drop answered ones, re-arm."""
        self._timer, self._timer_at = None, float("inf")
        deadlines, pending = self._deadlines, self._pending
        loop = asyncio.get_running_loop()
        now = loop.time()
        while deadlines and (deadlines[0][0] <= now or deadlines[0][1] not in pending):
            _, call_id = heapq.heappop(deadlines)
            future = pending.get(call_id)
            if future is not None and not future.done():
                future.set_exception(_Expired())
        if deadlines:
            self._arm(loop, deadlines[0][0])

    def _compact(self) -> None:
        """Drop the entries of answered calls (amortized: runs once the heap is mostly those)."""
        pending = self._pending
        self._deadlines = [d for d in self._deadlines if d[1] in pending]
        heapq.heapify(self._deadlines)

    def _abandon(self, call_id: int) -> None:
        if self._pending.pop(call_id, None) is not None:
            unsent = self._unsent.pop(call_id, None)
            if unsent is not None:
                # Never sent: the worker knows nothing of it, and its message (context
                # included) is freed now; the writer skips the id left in the outbox.
                self._queued_bytes -= unsent[1]
            else:
                self.send(es.ExecutorMessage(cancel=es.CancelCall(call_id=call_id)))
        if not self._pending:
            # Nothing left to time out (rare path, unlike an answer): leave no timer behind.
            self._disarm()

    def _disarm(self) -> None:
        """No deadline timer and no deadlines (nothing is in flight)."""
        if self._timer is not None:
            self._timer.cancel()
        self._timer, self._timer_at = None, float("inf")
        self._deadlines.clear()

    def _pop_call(self) -> es.ExecutorMessage | None:
        """Take the call at the head of the outbox (skipping abandoned ones); None when the
        head is not a call or the outbox is empty."""
        outbox = self._outbox
        while outbox:
            head = outbox[0]
            if isinstance(head, int):
                outbox.popleft()
                entry = self._unsent.pop(head, None)
                if entry is None:
                    continue  # abandoned before it was sent
                self._queued_bytes -= entry[1]
                return entry[0]
            if head.HasField("call"):
                outbox.popleft()
                return head
            return None
        return None

    def _take_batch(self, first: es.ExecutorMessage) -> es.ExecutorMessage:
        """`first` (a call, already taken) or, when calls follow it, all those consecutive
        calls as one call_batch (order on the stream is kept)."""
        following = self._pop_call()
        if following is None:
            return first
        batch = es.ExecutorMessage()
        calls = batch.call_batch.calls
        calls.append(first.call)
        while following is not None:
            calls.append(following.call)
            following = self._pop_call()
        return batch

    def _outcome(self, hook_name: str, answer: es.HookCallResult) -> HookResult:
        if self.virtual and answer.HasField("clock_advance"):
            advance = answer.clock_advance.seconds * _NS + answer.clock_advance.nanos
            if advance > 0:
                clock = self._clock
                assert isinstance(clock, VirtualClock)  # checked in __init__
                clock.advance(advance)
        kind = answer.WhichOneof("outcome")
        if kind == "error":
            err = answer.error
            # The reason is the message alone, as for in-process hooks (docs/semantics.md D3.3);
            # the error type only stands in when the worker sent no message.
            text = err.message or err.type
            if err.invalid_result:
                raise InvalidResult(text)
            raise HookFailed(text)
        if kind != "result":
            raise InvalidResult(
                f"worker {self.worker_id!r} answered call to {hook_name!r} with neither "
                "result nor error"
            )
        try:
            return result_from_proto(answer.result, "result")
        except HookwireError as exc:
            raise InvalidResult(str(exc)) from None


class RemoteHookAdapter:
    """The HookAdapter of one hook served by a remote worker (always asynchronous)."""

    __slots__ = ("connection", "hook_name", "is_async", "language")

    def __init__(self, connection: WorkerConnection, hook_name: str, language: str) -> None:
        self.connection = connection
        self.hook_name = hook_name
        self.language = language
        self.is_async = True

    async def acall(self, ctx: HookContext, timeout_ns: int) -> HookResult:
        """Send the call over the worker's stream and wait for its result."""
        return await self.connection.call(self.hook_name, ctx, timeout_ns)

    def call(self, ctx: HookContext, timeout_ns: int) -> HookResult:
        """Blocking call, only from a thread other than the server's event loop."""
        loop = self.connection._loop
        if loop is None or not loop.is_running():
            raise HookFailed(
                f"remote hook {self.hook_name!r}: the server's event loop is not running"
            )
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            raise HookFailed(
                f"remote hook {self.hook_name!r} cannot be called synchronously on the "
                "server's event loop; use Executor.aexecute"
            )
        future = asyncio.run_coroutine_threadsafe(self.acall(ctx, timeout_ns), loop)
        return future.result()
