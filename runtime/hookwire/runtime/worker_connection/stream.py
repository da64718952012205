"""The gRPC-stream transport of a worker connection: one `StreamConnection` per Connect stream
(JS and Python workers; the executor service feeds `deliver()` with the worker's results and
drains `outgoing()` into the stream).

Calls to one worker are multiplexed on its stream (see `connection.WorkerConnection`). A call
that outlives its timeout is answered with a CancelCall to the worker and fails as a timeout:
one timer on the event loop serves the earliest deadline of all calls in flight.

Bounded outbox: messages wait in the connection's outbox until the stream takes them, so a
worker that stops reading its stream would make them pile up. The outbox is bounded in bytes
and in messages (`max_queued_bytes`, `max_queued_messages`); a call that times out before it
was sent leaves the outbox at once (it already has its answer, TIMEOUT, and no CancelCall is
needed), and a worker over the bound is treated as failing: the connection closes with
RESOURCE_EXHAUSTED, every call in flight fails as `WorkerGone` naming the reason, and its hooks
are unregistered. `close()` drops the calls still queued (they fail at once).

Virtual time (conformance): while waiting, a generous real-time guard (`virtual_call_guard_s`)
stands in for the timeout, since virtual time does not pass while the executor waits.

Batching: when the worker said `batching` in its hello, the writer sends every call queued
while it was busy as one `call_batch` frame (a lone call stays a plain `call`; cancels and acks
keep their place in the order). Each gRPC message costs far more than its bytes, so with many
calls in flight this multiplies the calls a stream carries. Results may come back as
`result_batch` from any worker; `deliver()` is applied to each in order.

Example:
    >>> from hookwire.runtime.clock import SystemClock
    >>> conn = StreamConnection("c1", "w1", "javascript", clock=SystemClock())
    >>> (conn.language, conn.in_flight, conn.queued_messages)
    ('javascript', 0, 0)
"""

from __future__ import annotations

import asyncio
import heapq
from collections import deque
from collections.abc import AsyncIterator

from hookwire.runtime.adapter import HookTimedOut
from hookwire.runtime.clock import Clock
from hookwire.runtime.context import HookContext
from hookwire.runtime.results import HookResult
from hookwire.runtime.worker_connection.connection import WorkerConnection, WorkerGone
from hookwire.v1 import executor_service_pb2 as es

__all__ = ["DEFAULT_MAX_QUEUED_BYTES", "DEFAULT_MAX_QUEUED_MESSAGES", "StreamConnection"]

_NS = 1_000_000_000
DEFAULT_MAX_QUEUED_BYTES = 64 * 1024 * 1024
DEFAULT_MAX_QUEUED_MESSAGES = 10_000


class _Expired(Exception):
    """Set on a call's future by the deadline timer: the worker did not answer in time."""


class StreamConnection(WorkerConnection):
    """A worker connection over one gRPC Connect stream: the outbox `outgoing()` drains."""

    def __init__(
        self,
        connection_id: str,
        worker_id: str,
        language: str,
        *,
        batching: bool = False,
        max_queued_bytes: int = DEFAULT_MAX_QUEUED_BYTES,
        max_queued_messages: int = DEFAULT_MAX_QUEUED_MESSAGES,
        virtual_call_guard_s: float = 30.0,
        clock: Clock,
        virtual: bool = False,
    ) -> None:
        super().__init__(connection_id, worker_id, language, clock=clock, virtual=virtual)
        self.batching = batching
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
        self._loop: asyncio.AbstractEventLoop | None = None
        # Deadlines of calls in flight, (loop time, call id), and ONE timer for the earliest:
        # a timer per call (armed, then cancelled by nearly every answer) costs more than the
        # rest of the call's bookkeeping. Entries of answered calls are dropped lazily.
        self._deadlines: list[tuple[float, int]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = float("inf")

    @property
    def queued_bytes(self) -> int:
        """Encoded bytes of the calls waiting in the outbox (not yet taken by the stream)."""
        return self._queued_bytes

    @property
    def queued_messages(self) -> int:
        """Messages waiting in the outbox."""
        return len(self._outbox)

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        """The server's event loop (set by `bind_loop`), where calls must be awaited."""
        return self._loop

    def bind_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """Remember the server's loop so that sync callers on other threads can reach it."""
        self._loop = loop

    # -- the transport -----------------------------------------------------------------------

    def send(self, message: es.ExecutorMessage) -> None:
        """Queue a message for the worker (dropped silently only after close: nobody listens)."""
        if self._closed_reason is None:
            if len(self._outbox) >= self._max_messages:
                self._overflow()
                return
            self._outbox.append(message)
            self._wake_writer()

    def _withdraw(self, call_id: int) -> bool:
        unsent = self._unsent.pop(call_id, None)
        if unsent is None:
            return False
        # Never sent: the worker knows nothing of it, and its message (context included) is
        # freed now; the writer skips the id left in the outbox.
        self._queued_bytes -= unsent[1]
        return True

    def _closed(self) -> None:
        # Calls still queued fail with the others: drop them (and their contexts) now. Other
        # messages (welcome, acks, cancels: small) still go out, unless the worker itself is
        # the fault.
        kept = (
            []
            if self.failure is not None
            else [m for m in self._outbox if not isinstance(m, int) and not m.HasField("call")]
        )
        self._outbox.clear()
        self._outbox.extend(kept)
        self._unsent.clear()
        self._queued_bytes = 0
        self._disarm()
        self._wake_writer()

    def _overflow(self) -> None:
        self.fail(
            "RESOURCE_EXHAUSTED",
            f"worker {self.worker_id!r} is not reading its stream: {len(self._outbox)} "
            f"messages / {self._queued_bytes} bytes queued for it (limits "
            f"{self._max_messages} messages, {self._max_bytes} bytes)",
        )

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

    # -- calls -------------------------------------------------------------------------------

    async def call(self, hook_name: str, ctx: HookContext, timeout_ns: int) -> HookResult:
        """Call `hook_name` on the worker and wait for its answer (see the module docstring)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[es.HookCallResult] = loop.create_future()
        call_id, message = self.start_call(hook_name, ctx, timeout_ns, future)
        size = message.ByteSize()
        if self._queued_bytes + size > self._max_bytes or len(self._outbox) >= self._max_messages:
            del self._pending[call_id]  # fails below, not as one of the calls in flight
            self._overflow()
            assert self._closed_reason is not None
            raise WorkerGone(self._closed_reason)
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
            self.abandon(call_id)
            raise HookTimedOut(
                f"remote hook {hook_name!r} on worker {self.worker_id!r} did not answer "
                f"within {wait_s:g} s"
            ) from None
        except asyncio.CancelledError:
            # The executor (or the Execute RPC's deadline) gave up: tell the worker to stop.
            self.abandon(call_id)
            raise
        return self.outcome(hook_name, answer)

    def abandon(self, call_id: int) -> bool:
        abandoned = super().abandon(call_id)
        if not self._pending:
            # Nothing left to time out (rare path, unlike an answer): leave no timer behind.
            self._disarm()
        return abandoned

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

    def _disarm(self) -> None:
        """No deadline timer and no deadlines (nothing is in flight)."""
        if self._timer is not None:
            self._timer.cancel()
        self._timer, self._timer_at = None, float("inf")
        self._deadlines.clear()
