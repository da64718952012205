"""LuaProcessHookAdapter: the HookAdapter of one hook served by a LuaProcessWorker.

Asynchronous for the executor (`acall` awaits the answer without blocking the loop), unless
the worker was made with `blocking=True` (then the synchronous `Executor.execute` runs it and
`call` blocks the calling thread on the pipe). Both abandon the call at its deadline
(HookTimedOut and a CancelCall), map the worker's answer to a result the way the embedded
adapter does (a result; an error with the Lua message; `invalid_result`; the worker's
instruction budget as a timeout) and, with a virtual clock, advance it by the answer's
`clock_advance` first.

Example:
    >>> import pathlib, tempfile
    >>> from hookwire.runtime.lua_process.worker import LuaProcessWorker
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "a.lua").write_text(
    ...     'hookwire.register("session_start", function() end, {name = "a"})')
    >>> w = LuaProcessWorker([d / "a.lua"])
    >>> a = w.adapter("a")
    >>> (a.language, a.is_async)
    ('lua', True)
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from typing import TYPE_CHECKING

from hookwire.runtime.adapter import HookFailed, HookTimedOut, InvalidResult
from hookwire.runtime.clock import VirtualClock
from hookwire.runtime.context import HookContext
from hookwire.runtime.errors import HookwireError
from hookwire.runtime.results import HookResult
from hookwire.runtime.wire.results import result_from_proto
from hookwire.v1 import executor_service_pb2 as es

if TYPE_CHECKING:
    from hookwire.runtime.lua_process.worker import LuaProcessWorker

__all__ = ["TIMEOUT_ERROR_TYPE", "LuaProcessHookAdapter"]

#: HookError.type the worker uses for a hook its instruction budget stopped.
TIMEOUT_ERROR_TYPE = "hookwire.Timeout"
_NS = 1_000_000_000


class LuaProcessHookAdapter:
    """Calls `hook_name` in `worker`'s process."""

    __slots__ = ("hook_name", "is_async", "worker")
    language = "lua"

    def __init__(self, worker: LuaProcessWorker, hook_name: str) -> None:
        self.worker = worker
        self.hook_name = hook_name
        # A blocking worker's hooks run on the executor's synchronous path (`execute`), each
        # call blocking its thread on the pipe; otherwise they are awaited (`aexecute`).
        self.is_async = not worker.blocking

    def call(self, ctx: HookContext, timeout_ns: int) -> HookResult:
        """Send the call and block this thread until the answer or the deadline."""
        call_id, future = self.worker.submit(self.hook_name, ctx, timeout_ns)
        try:
            answer = future.result(self.worker.wait_s(timeout_ns))
        except concurrent.futures.TimeoutError:
            self.worker.abandon(call_id)
            raise HookTimedOut("timeout") from None
        return self._outcome(answer)

    async def acall(self, ctx: HookContext, timeout_ns: int) -> HookResult:
        """Send the call and await the answer; abandoned at the deadline or on cancellation."""
        call_id, future = self.worker.submit(self.hook_name, ctx, timeout_ns)
        try:
            async with asyncio.timeout(self.worker.wait_s(timeout_ns)):
                answer = await asyncio.wrap_future(future)
        except TimeoutError:
            self.worker.abandon(call_id)
            raise HookTimedOut("timeout") from None
        except asyncio.CancelledError:
            self.worker.abandon(call_id)
            raise
        return self._outcome(answer)

    def _outcome(self, answer: es.HookCallResult) -> HookResult:
        worker = self.worker
        if worker.virtual and answer.HasField("clock_advance"):
            advance = answer.clock_advance.seconds * _NS + answer.clock_advance.nanos
            clock = worker.clock
            if advance > 0 and isinstance(clock, VirtualClock):
                clock.advance(advance)
        worker.note_success()
        kind = answer.WhichOneof("outcome")
        if kind == "error":
            err = answer.error
            if err.type == TIMEOUT_ERROR_TYPE:
                raise HookTimedOut("timeout")
            if err.invalid_result:
                raise InvalidResult(err.message)
            raise HookFailed(f"{err.type}: {err.message}" if err.type else err.message)
        if kind != "result":
            raise InvalidResult(
                f"the Lua worker answered a call to {self.hook_name!r} "
                "with neither result nor error"
            )
        try:
            return result_from_proto(answer.result, "result")
        except HookwireError as exc:
            raise InvalidResult(str(exc)) from None

    def __repr__(self) -> str:
        return f"LuaProcessHookAdapter({self.hook_name!r}, worker={self.worker.worker_id!r})"
