"""The state a bus shares with its subscriptions: one lock, its condition, the clock, waiting.

Both `EventBus` and `Subscription` import this module and neither imports the other's
internals: the bus hands each subscription its `Guard`, and a subscription reaches the bus only
through the two callables the guard carries (unsubscribe, report a callback error).

Example:
    >>> from hookwire.runtime.clock import VirtualClock
    >>> g = Guard(VirtualClock(), on_callback_error=lambda sub, ev, exc: None)
    >>> g.deadline(0.5, "timeout")
    500000000
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import threading
from collections.abc import Callable, Iterable
from typing import Any, Final

from hookwire.runtime.clock import Clock
from hookwire.runtime.errors import InvalidArgument

__all__ = ["NS_PER_S", "WAIT_SLICE_S", "Guard", "resolve", "set_done"]

NS_PER_S: Final = 1_000_000_000
# Blocked threads re-read the clock at least this often (seconds): a virtual clock advanced by
# another thread is noticed without the bus knowing about it.
WAIT_SLICE_S: Final = 0.01


def set_done(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


def resolve(loop: asyncio.AbstractEventLoop, fut: asyncio.Future[None]) -> None:
    """Complete `fut` from any thread."""
    if asyncio.events._get_running_loop() is loop:
        set_done(fut)
    else:
        # A closed loop raises RuntimeError: nobody is waiting there any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(set_done, fut)


class Guard:
    """One bus's lock and what waits on it.

    `full` holds the BACKPRESSURE subscriptions whose queue is at capacity (kept by the
    subscriptions themselves, under the lock), so a publish checks one set, not every queue.
    `work` holds the callback subscriptions a fan-out claimed (see `Subscription.offer`); the
    thread that fanned out takes it before releasing the lock and runs them after.
    """

    __slots__ = ("clock", "cond", "full", "lock", "on_callback_error", "unsubscribe", "work")

    def __init__(
        self,
        clock: Clock,
        *,
        on_callback_error: Callable[[Any, Any, Exception], None],
        unsubscribe: Callable[[Any], None] = lambda sub: None,
    ) -> None:
        self.clock = clock
        # Not re-entrant (cheaper): nothing called under it takes it again, and callbacks run
        # outside it.
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.full: set[Any] = set()
        self.work: list[Any] = []
        self.on_callback_error = on_callback_error
        self.unsubscribe = unsubscribe

    def deadline(self, timeout: float | None, field: str) -> int | None:
        """The monotonic deadline of a timeout in seconds (None: no deadline)."""
        if timeout is None:
            return None
        if (
            not isinstance(timeout, (int, float))
            or isinstance(timeout, bool)
            or not math.isfinite(timeout)
            or timeout < 0
        ):
            raise InvalidArgument(
                field, f"must be a non-negative number of seconds, got {timeout!r}"
            )
        return self.clock.monotonic_ns() + round(timeout * NS_PER_S)

    def take_work(self) -> list[Any]:
        """The claimed callback deliveries (lock held); run them with `Subscription.run`."""
        work = self.work
        self.work = []
        return work

    def wait_slice(self, waiters: Iterable[Any]) -> None:
        """Wait (lock held, blocking this thread) until woken or for one wait slice, counted
        as waiting on each of `waiters` (subscriptions: a change to one wakes this thread)."""
        for w in waiters:
            w.begin_sync_wait()
        try:
            self.cond.wait(WAIT_SLICE_S)
        finally:
            for w in waiters:
                w.end_sync_wait()

    async def await_slice(
        self, fut: asyncio.Future[None], forget: Callable[[], None] | None = None
    ) -> None:
        """Await `fut` for at most one wait slice; then `forget()` under the lock."""
        loop = asyncio.get_running_loop()
        handle = loop.call_later(WAIT_SLICE_S, set_done, fut)
        try:
            await fut
        finally:
            handle.cancel()
            if forget is not None:
                with self.lock:
                    forget()
