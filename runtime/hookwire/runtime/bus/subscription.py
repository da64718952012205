"""A subscription: patterns, a bounded queue with an overflow strategy, counters, consumption.

Consume it one of three ways:
- callback (given to `EventBus.subscribe`): called on the publishing thread right after the
  publish, in sequence order, never concurrently for one subscription. A callback
  subscription defaults to `Backpressure()`: its publishers make room by running it, so it
  sees every event (see docs/events.md, "Callback subscribers");
- iterator: `for ev in sub` takes what is queued now; `sub.get(timeout)` waits for one;
- async iterator: `async for ev in sub` waits for events until the subscription is closed.

The subscription owns its queue: the bus offers events to it and asks it for room, always
under the bus lock (the methods marked "lock held"); consumers take events through the
public consumption methods. Every counter is updated under that lock, so `stats()` is always
consistent.

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
import logging
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import fields
from itertools import islice, repeat
from operator import attrgetter
from typing import Final

from hookwire.runtime.bus.event import Event
from hookwire.runtime.bus.guard import Guard, resolve
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

__all__ = ["Callback", "Subscription"]

Callback = Callable[[Event], object]

DROP_OLDEST: Final = 0
DROP_NEWEST: Final = 1
BACKPRESSURE: Final = 2
SAMPLE: Final = 3

log = logging.getLogger("hookwire.bus")

_get_ident = threading.get_ident
# What `stats_locked` reads from a subscription: every SubscriptionStats field but `queued`.
_COUNTERS: Final = tuple(f.name for f in fields(SubscriptionStats) if f.name != "queued")
_ttl_of = attrgetter("ttl_ns")


class Subscription:
    """Created by `EventBus.subscribe`; see the module docstring."""

    __slots__ = (
        "__weakref__",
        "_afuts",
        "_callback",
        "_closed",
        "_delivered",
        "_drainer",
        "_fast",
        "_guard",
        "_handed",
        "_handovers",
        "_kind",
        "_q",
        "_received",
        "_sample",
        "_swaiting",
        "_waiting",
        "backpressure",
        "callback_errors",
        "capacity",
        "dropped_newest",
        "dropped_oldest",
        "expired",
        "name",
        "overflow",
        "patterns",
        "sampled_out",
        "timed_out",
    )

    def __init__(
        self,
        guard: Guard,
        patterns: tuple[Pattern, ...],
        capacity: int,
        overflow: OverflowStrategy,
        callback: Callback | None,
        name: str,
    ) -> None:
        self._guard = guard
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
        #: Whether a full queue makes publishers (or a live stream consumer) wait.
        self.backpressure = self._kind == BACKPRESSURE
        # Below this queue length an event is simply appended (the offer fast path).
        self._fast = overflow.threshold(capacity) if isinstance(overflow, Sample) else capacity
        self._closed = False
        # Who runs the callback now: the thread id of the publisher that claimed it (see
        # `offer`), 0 while nobody does; -1 for a subscription without a callback, which
        # consumers drain instead (one slot read decides the offer).
        self._drainer = 0 if callback is not None else -1
        # The event handed over to the claiming thread (see `offer`) until `run` takes it.
        self._handed: Event | None = None
        # Waiters for "the queue changed" (data for consumers, room for publishers): the queue
        # cannot be empty and full at once, so one set serves both.
        self._swaiting = 0
        self._afuts: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        self._waiting = False
        # The counters (see `stats_locked`). `_handovers`: events handed straight to the
        # callback (see `offer`), received and delivered at once, counted once on the hot path.
        self._received = self._delivered = self._handovers = 0
        self.dropped_oldest = self.dropped_newest = self.sampled_out = 0
        self.timed_out = self.expired = self.callback_errors = 0

    # -- inspection -------------------------------------------------------------------------

    def matches(self, event_type: str) -> bool:
        """Whether any of the patterns matches an event type."""
        return any(p.matches(event_type) for p in self.patterns)

    @property
    def received(self) -> int:
        """Events offered to this subscription (`SubscriptionStats.received`)."""
        return self._received + self._handovers

    @property
    def delivered(self) -> int:
        """Events handed to a consumer or the callback (`SubscriptionStats.delivered`)."""
        return self._delivered + self._handovers

    @property
    def closed(self) -> bool:
        return self._closed

    def belongs_to(self, guard: Guard) -> bool:
        """Whether this subscription was made by the bus that owns `guard`."""
        return self._guard is guard

    def stats(self) -> SubscriptionStats:
        """A consistent snapshot of the counters."""
        with self._guard.lock:
            return self.stats_locked()

    def stats_locked(self) -> SubscriptionStats:
        """`stats()` with the bus lock held."""
        return SubscriptionStats(
            queued=len(self._q), **{name: getattr(self, name) for name in _COUNTERS}
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

    # -- the bus side (lock held) -------------------------------------------------------------

    def offer(self, ev: Event) -> None:
        """Take a sequenced event (lock held): queue it or apply the overflow strategy.

        A callback subscription nobody drains is claimed for the calling thread, which runs
        the callback once it released the lock (`Guard.work`, `run`); an idle one gets the
        event handed over without queueing it.
        """
        q = self._q
        if not self._drainer:
            self._drainer = _get_ident()
            self._guard.work.append(self)
            if not q and ev.ttl_ns is None:
                self._handovers += 1
                self._handed = ev
                return
        self._received += 1
        if len(q) < self._fast:
            q.append(ev)
            if self.backpressure and len(q) >= self.capacity:
                self._guard.full.add(self)
        else:
            self._offer_full(ev)
        if self._waiting:
            self.wake()

    def offer_run(self, events: Sequence[Event]) -> None:
        """`offer` each of `events`, in order (lock held): at once while they fit."""
        q = self._q
        if len(q) + len(events) <= self._fast and self._drainer:
            self._received += len(events)
            q.extend(events)
            if self.backpressure and len(q) >= self.capacity:
                self._guard.full.add(self)
            if self._waiting:
                self.wake()
        else:
            for ev in events:
                self.offer(ev)

    def _offer_full(self, ev: Event) -> None:
        q = self._q
        kind = self._kind
        if kind == DROP_OLDEST:
            q.popleft()
            self.dropped_oldest += 1
            q.append(ev)
        elif kind == DROP_NEWEST:
            self.dropped_newest += 1
        elif kind == BACKPRESSURE:
            # The publisher (or stream consumer) waited for room before this; a full queue
            # here means this subscriber's timeout ran out.
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

    def offer_replayed(self, ev: Event) -> None:
        """Queue a retained event at subscribe time (nobody can be made to wait then)."""
        self._received += 1
        if len(self._q) < self._fast or self._kind == BACKPRESSURE:
            self._q.append(ev)
            if self.backpressure and len(self._q) >= self.capacity:
                self._guard.full.add(self)
        else:
            self._offer_full(ev)

    def room_for(self, n: int) -> bool:
        """Whether `n` more events fit (a closed subscription never blocks anyone)."""
        return self._closed or len(self._q) + n <= self.capacity

    def blocks(self, since_ns: int, now_ns: int) -> bool:
        """Whether a publisher that started waiting at `since_ns` must still wait for room."""
        if self._closed or len(self._q) < self.capacity:
            return False
        overflow = self.overflow
        timeout = overflow.timeout_ns if isinstance(overflow, Backpressure) else None
        return timeout is None or now_ns - since_ns < timeout

    def waits_forever_on_this_thread(self) -> bool:
        """Whether waiting for room here would wait for this very thread: the callback that
        would make room is running on it, and the strategy has no timeout."""
        overflow = self.overflow
        forever = isinstance(overflow, Backpressure) and overflow.timeout_ns is None
        return forever and self._drainer == _get_ident()

    def emptied_by_publishers(self) -> bool:
        """Whether the next publisher to fan out to it runs its callback (nobody drains it
        now): such a queue never makes that publisher wait."""
        return not self._drainer

    def begin_sync_wait(self) -> None:
        self._swaiting += 1
        self._waiting = True

    def end_sync_wait(self) -> None:
        self._swaiting -= 1
        self._waiting = self._swaiting > 0 or bool(self._afuts)

    def add_async_waiter(self, loop: asyncio.AbstractEventLoop, fut: asyncio.Future[None]) -> None:
        self._afuts.append((loop, fut))
        self._waiting = True

    def forget_async_waiter(self, fut: asyncio.Future[None]) -> None:
        self._afuts = [w for w in self._afuts if w[1] is not fut]
        self._waiting = self._swaiting > 0 or bool(self._afuts)

    def wake(self) -> None:
        """The queue changed: wake whoever waits on it."""
        if self._swaiting:
            self._guard.cond.notify_all()
        afuts = self._afuts
        if afuts:
            self._afuts = []
            for loop, fut in afuts:
                resolve(loop, fut)
        self._waiting = self._swaiting > 0

    def close_locked(self) -> None:
        """Stop queueing: what is queued can still be taken, and nobody waits for room."""
        self._closed = True
        self._guard.full.discard(self)
        self.wake()

    # -- taking events (lock held) --------------------------------------------------------------

    def _took(self) -> None:
        if self.backpressure and len(self._q) < self.capacity:
            self._guard.full.discard(self)
        if self._waiting:
            self.wake()

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
                self._delivered += n
                self._took()
                return out
        out = []
        now: int | None = None
        while q and len(out) < limit:
            ev = q.popleft()
            if ev.ttl_ns is not None and ev.time_ns is not None:
                if now is None:
                    now = self._guard.clock.time_ns()
                if now >= ev.time_ns + ev.ttl_ns:
                    self.expired += 1
                    continue
            out.append(ev)
        self._delivered += len(out)
        self._took()
        return out

    def _take_one_locked(self) -> Event | None:
        """Pop the next deliverable event, or None (the single-event path)."""
        q = self._q
        if not q:
            return None
        while q:
            ev = q.popleft()
            if (
                ev.ttl_ns is not None
                and ev.time_ns is not None
                and self._guard.clock.time_ns() >= ev.time_ns + ev.ttl_ns
            ):
                self.expired += 1
                continue
            self._delivered += 1
            self._took()
            return ev
        self._took()
        return None

    def _add_async_waiter(self) -> asyncio.Future[None]:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        self.add_async_waiter(loop, fut)
        return fut

    def _forget(self, fut: asyncio.Future[None]) -> Callable[[], None]:
        return lambda: self.forget_async_waiter(fut)

    # -- consumption ---------------------------------------------------------------------------

    def poll(self, max_events: int | None = None) -> list[Event]:
        """Take up to `max_events` (default: all) queued events without waiting."""
        if max_events is None:
            limit = len(self._q) + 1
        elif type(max_events) is not int or max_events < 1:
            raise InvalidArgument("max_events", f"must be an int >= 1 or None, got {max_events!r}")
        else:
            limit = max_events
        with self._guard.lock:
            return self._take_locked(limit)

    def __iter__(self) -> Iterator[Event]:
        """Iterate over what is queued now (ends when the queue is empty)."""
        lock = self._guard.lock
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
        guard = self._guard
        deadline = guard.deadline(timeout, "timeout")
        with guard.lock:
            while True:
                got = self._take_locked(1)
                if got:
                    return got[0]
                if self._closed or (
                    deadline is not None and guard.clock.monotonic_ns() >= deadline
                ):
                    return None
                guard.wait_slice((self,))

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
        lock = self._guard.lock
        while True:
            with lock:
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
        guard = self._guard
        deadline = guard.deadline(timeout, "timeout")
        while True:
            with guard.lock:
                got = self._take_locked(max_events)
                if got:
                    return got
                if self._closed or (
                    deadline is not None and guard.clock.monotonic_ns() >= deadline
                ):
                    return []
                fut = self._add_async_waiter()
            if deadline is None:
                await fut
            else:
                await guard.await_slice(fut, self._forget(fut))

    def close(self) -> None:
        """Unsubscribe: no new events are queued; what is queued can still be taken."""
        self._guard.unsubscribe(self)

    # -- callbacks ----------------------------------------------------------------------------

    def run(self) -> None:
        """Run a delivery `offer` claimed for this thread (lock NOT held): the event it handed
        over, or whatever is queued."""
        ev = self._handed
        if ev is None:
            with self._guard.lock:
                batch = self._take_locked(len(self._q) + 1)
            self._finish_drain(batch)
            return
        self._handed = None
        callback = self._callback  # a local: see `EventBus.publish`
        try:
            try:  # zero-cost in 3.11 until something raises
                callback(ev)  # type: ignore[misc]
            except Exception as exc:
                self._callback_failed(ev, exc)
        except BaseException:
            self.abandon()
            raise
        # Stop draining without the lock, then look at the queue: a publisher that queued
        # meanwhile (under the lock) either saw us draining and left its events to us, and we
        # see them now, or saw us done and claimed them itself. The GIL orders the two stores
        # and the two loads, so no event is left behind.
        self._drainer = 0
        if self._q:
            self.run_callbacks()

    def abandon(self) -> None:
        """Give up a claimed delivery (an exception unwinds past it): queued events stay
        queued, and an event handed over but not delivered goes back in front."""
        with self._guard.lock:
            self._drainer = 0
            ev = self._handed
            if ev is not None:
                self._handed = None
                self._handovers -= 1
                self._received += 1
                self._q.appendleft(ev)

    def run_callbacks(self) -> None:
        """Deliver queued events to the callback unless another frame drains them (lock NOT
        held)."""
        with self._guard.lock:
            if self._drainer or not self._q:
                return
            self._drainer = _get_ident()
            batch = self._take_locked(len(self._q) + 1)
        self._finish_drain(batch)

    def _callback_failed(self, ev: Event, exc: Exception) -> None:
        """Count a callback that raised on `ev` and report it (lock NOT held). The report
        cannot stop the delivery of later events, to this or any other subscription."""
        guard = self._guard
        with guard.lock:
            self.callback_errors += 1
        try:
            guard.on_callback_error(self, ev, exc)
        except Exception:
            log.exception("subscription %r: on_callback_error raised", self)

    def _finish_drain(self, batch: list[Event]) -> None:
        """Call the callback for `batch` and whatever arrives meanwhile (lock NOT held)."""
        callback = self._callback
        assert callback is not None
        lock = self._guard.lock
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
                        self._drainer = 0
                        return
                finally:
                    lock.release()
        except BaseException:
            self.abandon()
            raise
