"""Hooks served by a remote worker: one `RemoteHookAdapter` per hook a worker registered on its
Connect stream, calling it through the stream's worker connection
(`hookwire.runtime.worker_connection.StreamConnection`, where calls, their deadlines, answers
and a dead peer are handled).

Example (wiring, as the executor service does it):
    >>> from hookwire.runtime.clock import SystemClock
    >>> from hookwire.runtime.worker_connection import StreamConnection
    >>> conn = StreamConnection("c1", "w1", "javascript", clock=SystemClock())
    >>> adapter = RemoteHookAdapter(conn, "audit", "javascript")
    >>> (adapter.language, adapter.is_async)
    ('javascript', True)
"""

from __future__ import annotations

import asyncio

from hookwire.runtime.adapter import HookFailed
from hookwire.runtime.context import HookContext
from hookwire.runtime.results import HookResult
from hookwire.runtime.worker_connection.stream import StreamConnection

__all__ = ["RemoteHookAdapter"]


class RemoteHookAdapter:
    """The HookAdapter of one hook served by a remote worker (always asynchronous)."""

    __slots__ = ("connection", "hook_name", "is_async", "language")

    def __init__(self, connection: StreamConnection, hook_name: str, language: str) -> None:
        self.connection = connection
        self.hook_name = hook_name
        self.language = language
        self.is_async = True

    async def acall(self, ctx: HookContext, timeout_ns: int) -> HookResult:
        """Send the call over the worker's stream and wait for its result."""
        return await self.connection.call(self.hook_name, ctx, timeout_ns)

    def call(self, ctx: HookContext, timeout_ns: int) -> HookResult:
        """Blocking call, only from a thread other than the server's event loop."""
        loop = self.connection.loop
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
