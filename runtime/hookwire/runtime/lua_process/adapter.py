"""LuaProcessHookAdapter: the HookAdapter of one hook served by a LuaProcessWorker.

Asynchronous for the executor (`acall` awaits the answer without blocking the loop), unless
the worker was made with `blocking=True` (then the synchronous `Executor.execute` runs it and
`call` blocks the calling thread on the pipe). Both abandon the call at its deadline
(HookTimedOut and a CancelCall); the answer becomes a result as on every worker connection
(`hookwire.runtime.worker_connection`: a result; an error with the Lua message;
`invalid_result`; the worker's instruction budget as a timeout; with a virtual clock, the
clock advanced by the answer's `clock_advance` first).

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

from hookwire.runtime.adapter import HookTimedOut
from hookwire.runtime.context import HookContext
from hookwire.runtime.results import HookResult
from hookwire.runtime.worker_connection.connection import TIMEOUT_ERROR_TYPE, WorkerGone
from hookwire.v1 import executor_service_pb2 as es

if TYPE_CHECKING:
    from hookwire.runtime.lua_process.worker import LuaProcessWorker

__all__ = ["TIMEOUT_ERROR_TYPE", "LuaProcessHookAdapter"]


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
        connection = self.worker.connection()
        if connection is None:  # pragma: no cover - an answer comes from a started process
            raise WorkerGone("the Lua worker was never started")
        self.worker.note_success()
        return connection.outcome(self.hook_name, answer)

    def __repr__(self) -> str:
        return f"LuaProcessHookAdapter({self.hook_name!r}, worker={self.worker.worker_id!r})"
