"""A subscription: patterns, a bounded queue with an overflow strategy, counters, consumption.

Consume it one of three ways:
- callback (given to `EventBus.subscribe`): called on the publishing thread right after the
  publish, in sequence order, never concurrently for one subscription;
- iterator: `for ev in sub` takes what is queued now; `sub.get(timeout)` waits for one;
- async iterator: `async for ev in sub` waits for events until the subscription is closed.

Every counter is updated under the bus lock, so `stats()` is always consistent.

Example:
    >>> from hookwire.runtime.bus import EventBus, DropNewest
    >>> bus = EventBus()
    >>> sub = bus.subscribe("tool.*", capacity=2, overflow=DropNewest())
    >>> for i in range(3):
    ...     _ = bus.publish("tool.invoked", {"i": i})
    >>> [ev.payload["i"] for ev in sub]
    [0, 1]
    >>> sub.stats().dropped_newest
    1
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from itertools import islice, repeat
from operator import attrgetter
from typing import TYPE_CHECKING, Final

from hookwire.runtime.bus.event import Event
from hookwire.runtime.bus.overflow import (
    Backpressure,
    DropNewest,
    DropOldest,
    OverflowStrategy,
    Sample,
)
from hookwire.runtime.bus.patterns import Pattern
from hookwire.runtime.bus.stats import SubscriptionStats
from hookwire.runtime.errors import InvalidArgument

if TYPE_CHECKING:
    from hookwire.runtime.bus.bus import EventBus

__all__ = ["Callback", "Subscription"]

Callback = Callable[[Event], object]

DROP_OLDEST: Final = 0
DROP_NEWEST: Final = 1
BACKPRESSURE: Final = 2
SAMPLE: Final = 3

# Blocked threads re-read the clock at least this often (seconds): a virtual clock advanced by
# another thread is noticed without the bus knowing about it.
WAIT_SLICE_S: Final = 0.01

_get_ident = threading.get_ident
_ttl_of = attrgetter("ttl_ns")


class Subscription:
    """Created by `EventBus.subscribe`; see the module docstring."""

    __slots__ = (
        "__weakref__",
        "_afuts",
        "_bus",
        "_callback",
        "_closed",
        "_drainer",
        "_draining",
        "_fast",
        "_kind",
        "_q",
        "_sample",
        "_swaiting",
        "_waiting",
        "callback_errors",
        "capacity",
        "delivered",
        "dropped_newest",
        "dropped_oldest",
        "expired",
        "name",
        "overflow",
        "patterns",
        "received",
        "sampled_out",
        "timed_out",
    )

    def __init__(
        self,
        bus: EventBus,
        patterns: tuple[Pattern, ...],
        capacity: int,
        overflow: OverflowStrategy,
        callback: Callback | None,
        name: str,
    ) -> None:
        self._bus = bus
        self.patterns = patterns
        self.capacity = capacity
        self.overflow = overflow
        self.name = name
        self._callback = callback
        self._q: deque[Event] = deque()
        self._sample: Sample | None = None
        if isinstance(overflow, DropOldest):
            self._kind = DROP_OLDEST
        elif isinstance(overflow, DropNewest):
            self._kind = DROP_NEWEST
        elif isinstance(overflow, Backpressure):
            self._kind = BACKPRESSURE
        elif isinstance(overflow, Sample):
            self._kind = SAMPLE
            self._sample = overflow
        else:
            raise InvalidArgument(
                "overflow",
                "must be DropOldest(), DropNewest(), Backpressure(...) or Sample(...), "
                f"got {overflow!r}",
            )
        # Below this queue length an event is simply appended (the publish fast path).
        self._fast = overflow.threshold(capacity) if isinstance(overflow, Sample) else capacity
        self._closed = False
        self._draining = False
        self._drainer = 0  # thread id of the drainer while _draining
        # Waiters for "the queue changed" (data for consumers, room for publishers): the queue
        # cannot be empty and full at once, so one set serves both.
        self._swaiting = 0
        self._afuts: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        self._waiting = False
        self.received = 0
        self.delivered = 0
        self.dropped_oldest = 0
        self.dropped_newest = 0
        self.sampled_out = 0
        self.timed_out = 0
        self.expired = 0
        self.callback_errors = 0

    # -- inspection -------------------------------------------------------------------------

    def matches(self, event_type: str) -> bool:
        """Whether any of the patterns matches an event type."""
        return any(p.matches(event_type) for p in self.patterns)

    @property
    def closed(self) -> bool:
        return self._closed

    def stats(self) -> SubscriptionStats:
        """A consistent snapshot of the counters."""
        with self._bus._lock:
            return self._stats_locked()

    def _stats_locked(self) -> SubscriptionStats:
        return SubscriptionStats(
            received=self.received,
            delivered=self.delivered,
            queued=len(self._q),
            dropped_oldest=self.dropped_oldest,
            dropped_newest=self.dropped_newest,
            sampled_out=self.sampled_out,
            timed_out=self.timed_out,
            expired=self.expired,
            callback_errors=self.callback_errors,
        )

    @property
    def has_waiters(self) -> bool:
        """Whether a publisher (waiting for room) or a consumer (waiting for data) waits on this
        subscription now. A BACKPRESSURE publisher reads its start time before this turns true,
        so a test may advance a virtual clock once it sees it."""
        return self._waiting

    def __len__(self) -> int:
        return len(self._q)

    def __repr__(self) -> str:
        pats = ", ".join(p.text for p in self.patterns)
        return f"Subscription({self.name or pats!r}, queued={len(self._q)}, closed={self._closed})"

    # -- called by the bus under its lock ----------------------------------------------------

    def _offer_full(self, ev: Event) -> None:
        """The slow path of enqueueing: the queue is at its fast-path limit."""
        q = self._q
        kind = self._kind
        if kind == DROP_OLDEST:
            q.popleft()
            self.dropped_oldest += 1
            q.append(ev)
        elif kind == DROP_NEWEST:
            self.dropped_newest += 1
        elif kind == BACKPRESSURE:
            # The publisher waited for room before taking a sequence; a full queue here means
            # this subscriber's timeout ran out.
            self.timed_out += 1
        else:
            sample = self._sample
            assert sample is not None
            if not sample.admits(ev.sequence):
                self.sampled_out += 1
            elif len(q) >= self.capacity:
                self.dropped_newest += 1
            else:
                q.append(ev)

    def _replay(self, ev: Event) -> None:
        """Enqueue a retained event at subscribe time (nobody can be made to wait then)."""
        self.received += 1
        if len(self._q) < self._fast or self._kind == BACKPRESSURE:
            self._q.append(ev)
        else:
            self._offer_full(ev)

    def _take_locked(self, limit: int) -> list[Event]:
        """Pop up to `limit` deliverable events, counting expired ones on the way."""
        q = self._q
        n = len(q) if limit >= len(q) else limit
        if n > 1:
            # In bulk when none of the first n has a ttl (the usual case): C loops only.
            out = list(q) if n == len(q) else list(islice(q, n))
            if list(map(_ttl_of, out)).count(None) == n:
                if n == len(q):
                    q.clear()
                else:
                    for _ in repeat(None, n):
                        q.popleft()
                self.delivered += n
                if self._waiting:
                    self._bus._wake(self)
                return out
        out = []
        now: int | None = None
        while q and len(out) < limit:
            ev = q.popleft()
            if ev.ttl_ns is not None and ev.time_ns is not None:
                if now is None:
                    now = self._bus._clock.time_ns()
                if now >= ev.time_ns + ev.ttl_ns:
                    self.expired += 1
                    continue
            out.append(ev)
        self.delivered += len(out)
        if self._waiting:
            self._bus._wake(self)
        return out

    def _take_one_locked(self) -> Event | None:
        """Pop the next deliverable event, or None (the single-event fast path)."""
        q = self._q
        while q:
            ev = q.popleft()
            if (
                ev.ttl_ns is not None
                and ev.time_ns is not None
                and self._bus._clock.time_ns() >= ev.time_ns + ev.ttl_ns
            ):
                self.expired += 1
                continue
            self.delivered += 1
            if self._waiting:
                self._bus._wake(self)
            return ev
        return None

    def _add_async_waiter(self) -> asyncio.Future[None]:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        self._afuts.append((loop, fut))
        self._waiting = True
        return fut

    # -- consumption ---------------------------------------------------------------------------

    def poll(self, max_events: int | None = None) -> list[Event]:
        """Take up to `max_events` (default: all) queued events without waiting."""
        if max_events is None:
            limit = len(self._q) + 1
        elif type(max_events) is not int or max_events < 1:
            raise InvalidArgument("max_events", f"must be an int >= 1 or None, got {max_events!r}")
        else:
            limit = max_events
        with self._bus._lock:
            return self._take_locked(limit)

    def __iter__(self) -> Iterator[Event]:
        """Iterate over what is queued now (ends when the queue is empty)."""
        lock = self._bus._lock
        while True:
            with lock:
                ev = self._take_one_locked()
            if ev is None:
                return
            yield ev

    def get(self, timeout: float | None = None) -> Event | None:
        """Wait (blocking this thread) for the next event; None on timeout or when closed.

        `timeout` is in seconds of the bus clock; None waits for ever.
        """
        bus = self._bus
        deadline = bus._deadline(timeout, "timeout")
        with bus._lock:
            while True:
                got = self._take_locked(1)
                if got:
                    return got[0]
                if self._closed or (deadline is not None and bus._clock.monotonic_ns() >= deadline):
                    return None
                self._swaiting += 1
                self._waiting = True
                try:
                    bus._cond.wait(WAIT_SLICE_S)
                finally:
                    self._swaiting -= 1
                    self._waiting = self._swaiting > 0 or bool(self._afuts)

    def events(self, timeout: float | None = None) -> Iterator[Event]:
        """Iterate, waiting up to `timeout` seconds for each next event; ends on timeout/close."""
        while True:
            ev = self.get(timeout)
            if ev is None:
                return
            yield ev

    def __aiter__(self) -> AsyncIterator[Event]:
        return self

    async def __anext__(self) -> Event:
        """The next event, awaiting it if needed; StopAsyncIteration once closed and drained."""
        lock = self._bus._lock
        while True:
            with lock:
                q = self._q
                if q and q[0].ttl_ns is None:  # fast path: no expiry to check
                    self.delivered += 1
                    first = q.popleft()
                    if self._waiting:
                        self._bus._wake(self)
                    return first
                ev = self._take_one_locked()
                if ev is not None:
                    return ev
                if self._closed:
                    raise StopAsyncIteration
                fut = self._add_async_waiter()
            await fut

    async def next_batch(self, max_events: int = 256, timeout: float | None = None) -> list[Event]:
        """Await at least one event, then take up to `max_events`; [] on timeout or when closed.

        Example (inside a coroutine): `batch = await sub.next_batch(256, timeout=1.0)`.
        """
        if type(max_events) is not int or max_events < 1:
            raise InvalidArgument("max_events", f"must be an int >= 1, got {max_events!r}")
        bus = self._bus
        deadline = bus._deadline(timeout, "timeout")
        lock = bus._lock
        while True:
            with lock:
                got = self._take_locked(max_events)
                if got:
                    return got
                if self._closed or (deadline is not None and bus._clock.monotonic_ns() >= deadline):
                    return []
                fut = self._add_async_waiter()
            if deadline is None:
                await fut
            else:
                await bus._await_slice(fut, (self,))

    def close(self) -> None:
        """Unsubscribe: no new events are queued; what is queued can still be taken."""
        self._bus.unsubscribe(self)

    # -- callbacks ----------------------------------------------------------------------------

    def _run_callbacks(self) -> None:
        """Deliver queued events to the callback (lock NOT held)."""
        with self._bus._lock:
            batch = self._start_drain_locked()
        if batch is not None:
            self._finish_drain(batch)

    def _start_drain_locked(self) -> list[Event] | None:
        """Become the one drainer and take the queue; None if another frame already drains it
        (maybe our caller: a callback that publishes) and will pick new events up in order."""
        if self._draining:
            return None
        self._draining = True
        self._drainer = _get_ident()
        q = self._q
        if len(q) == 1 and q[0].ttl_ns is None and not self._waiting:
            self.delivered += 1
            return [q.popleft()]
        return self._take_locked(len(q) + 1)

    def _callback_failed(self, ev: Event, exc: Exception) -> None:
        """Count a callback that raised on `ev` and report it (lock NOT held)."""
        bus = self._bus
        with bus._lock:
            self.callback_errors += 1
        bus._on_callback_error(self, ev, exc)

    def _finish_drain(self, batch: list[Event]) -> None:
        """Call the callback for `batch` and whatever arrives meanwhile, outside the lock."""
        callback = self._callback
        assert callback is not None
        bus = self._bus
        lock = bus._lock
        try:
            while True:
                for ev in batch:
                    try:  # zero-cost in 3.11 until something raises
                        callback(ev)
                    except Exception as exc:
                        self._callback_failed(ev, exc)
                # acquire/try/finally: half the cost of `with`.
                lock.acquire()
                try:
                    q = self._q
                    # Empty (the common case: nothing arrived meanwhile), or all expired.
                    if not q or not (batch := self._take_locked(len(q) + 1)):
                        self._draining = False
                        return
                finally:
                    lock.release()
        except BaseException:
            with lock:
                self._draining = False
            raise
