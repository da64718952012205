"""EventBus: publish, subscribe, fan-out, backpressure, rate limit, resume (docs/semantics.md §8).

Sync and asyncio APIs over one state guarded by one lock. Every entry point (`publish`,
`publish_many`, `publish_batch`, `emit`, `apublish`, `apublish_batch`, `apublish_read`, ...)
only builds validated, unsequenced events and hands them to one admission loop:

    admit: rate limit (RateLimited, no sequence used) -> room in full BACKPRESSURE queues
        (wait, await, or count `timed_out`) -> `_commit`
    _commit: fix id and time -> transport.publish            (the only way to the transport)
    transport -> `_fanout`: offer to each matching subscription, in sequence order
    after the lock: run callback subscribers

`publish` of one event on a bus without a rate limit, over a synchronous transport, takes a
fast path derived from this one when admission has nothing to do (a cached route, no full
BACKPRESSURE queue): the same commit for one event, inline, then the same transport, fan-out
and callbacks. tests/bus/test_publish_fast_path.py pins it to the general path.

A synchronous transport (the in-process one) sequences and retains the events and calls
`_fanout` before `publish` returns; an asynchronous one (NATS JetStream) acknowledges later
and delivers from its own thread, where BACKPRESSURE subscribers hold its consumer back.
`_fanout` also advances the resume position, under the same lock: `subscribe(from_sequence)`
replays exactly what was delivered, and receives the rest live.

Example:
    >>> from hookwire.runtime.clock import VirtualClock
    >>> bus = EventBus(clock=VirtualClock())
    >>> seen = []
    >>> _ = bus.subscribe("tool.>", callback=lambda ev: seen.append((ev.sequence, ev.type)))
    >>> bus.publish("tool.invoked", {"tool": "shell"}), bus.publish("agent.started")
    (1, 2)
    >>> seen
    [(1, 'tool.invoked')]
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from operator import attrgetter
from typing import Any, Final, TypeVar, Unpack

from hookwire.runtime.bus.event import (
    NO_ATTRS,
    NO_DATA,
    AttrFields,
    Event,
    EventAttrs,
    IdSource,
    attrs_of,
)
from hookwire.runtime.bus.event_run import EventRun
from hookwire.runtime.bus.guard import Guard
from hookwire.runtime.bus.overflow import (
    DEFAULT_CAPACITY,
    Backpressure,
    DropOldest,
    OverflowStrategy,
    check_capacity,
)
from hookwire.runtime.bus.patterns import Pattern, check_type
from hookwire.runtime.bus.retention import DEFAULT_RETENTION
from hookwire.runtime.bus.stats import BusStats, SubscriptionStats
from hookwire.runtime.bus.subscription import Callback, Subscription
from hookwire.runtime.bus.token_bucket import TokenBucket
from hookwire.runtime.bus.transport import Ack, InProcessTransport, Transport
from hookwire.runtime.clock import Clock, SystemClock
from hookwire.runtime.errors import FailedPrecondition, InvalidArgument, RateLimited
from hookwire.runtime.events import HOOK_EXECUTED, DeferredSource, JsonPayloads
from hookwire.runtime.json_value import validate_json

__all__ = ["EventBus", "PublishFields"]

_Read = TypeVar("_Read", bound=Sequence[Event])

log = logging.getLogger("hookwire.bus")

# Distinct event types whose subscriber lists are cached; beyond this the cache starts over.
MAX_ROUTES: Final = 4096
_type_of = attrgetter("type")
_unsequenced: Final = Event.unsequenced
_ATTR_FIELDS: Final = AttrFields.__optional_keys__
# Value types that need no further check when they are the members of a flat dict payload.
_FLAT: Final = frozenset({str, int, bool, type(None)})

# How a publisher treats a full BACKPRESSURE queue.
_BLOCK: Final = 0  # wait (blocking the thread) for room
_AWAIT: Final = 1  # await room (asyncio)
_NEVER: Final = 2  # never wait: the subscriber counts the event timed_out (emit on a loop)


class PublishFields(AttrFields, total=False):
    """The keyword fields of `EventBus.publish` (all optional): the event's attributes
    (`AttrFields`, or `attrs` itself), and the following."""

    id: str
    time_ns: int | None
    ttl_ns: int | None
    attrs: EventAttrs | None


class _Route:
    """The subscriptions one event type fans out to, computed once per type.

    `only`: the `offer` of the one subscription when there is one (most routes), so that a
    single event is fanned out without a loop; None otherwise.
    """

    __slots__ = ("bp", "only", "subs")

    def __init__(self, subs: tuple[Subscription, ...]) -> None:
        self.subs = subs
        self.bp = tuple(s for s in subs if s.backpressure)
        self.only: Callable[[Event], None] | None = subs[0].offer if len(subs) == 1 else None


def _trivially_valid(payload: Any) -> bool:
    """Whether a payload is valid JSON at a glance: no payload, a scalar, or a flat dict of
    scalars with string keys (most events). Anything else gets the full check."""
    cls = payload.__class__
    if cls is dict:
        for k in payload:
            if k.__class__ is not str or payload[k].__class__ not in _FLAT:
                return False
        return True
    return cls in _FLAT or payload is NO_DATA


def _iterable(items: Iterable[Any], field: str) -> list[Any]:
    try:
        return list(items)
    except TypeError:
        raise InvalidArgument(field, f"must be an iterable, got {type(items).__name__}") from None


def _log_callback_error(sub: Subscription, ev: Event, exc: Exception) -> None:
    log.error("subscription %r: callback raised on event %r", sub, ev, exc_info=exc)


def _log_ack_error(fut: concurrent.futures.Future[list[int]]) -> None:
    if not fut.cancelled() and fut.exception() is not None:
        log.error("bus: an emitted event was not stored", exc_info=fut.exception())


def _run(work: list[Subscription]) -> None:
    """Run the callback deliveries a fan-out claimed (lock NOT held)."""
    if len(work) == 1:  # the usual case: one callback subscription, nobody after it
        work[0].run()
        return
    for i, sub in enumerate(work):
        try:
            sub.run()
        except BaseException:
            for later in work[i + 1 :]:
                later.abandon()
            raise


class EventBus:
    """The event bus; implements the runtime's EventSink (`emit`).

    Args:
        clock: time source for event times, TTLs, rate limits and wait timeouts.
        retention: events kept for resuming (in-process transport only; default 10,000).
        rate_limit: `(rate per second, burst)` for a token bucket over all publishes, or None.
        transport: ordering/retention layer (default: a new InProcessTransport).
        emit_source: the `source` of events published through `emit`.
        on_callback_error: called with (subscription, event, exception) when a callback raises
            (default: log it); the publisher never sees subscriber errors.
    """

    def __init__(
        self,
        clock: Clock | None = None,
        *,
        retention: int = DEFAULT_RETENTION,
        rate_limit: tuple[float, int] | None = None,
        transport: Transport | None = None,
        emit_source: str = "hookwire://runtime",
        on_callback_error: Callable[[Subscription, Event, Exception], None] | None = None,
    ) -> None:
        if clock is not None and not isinstance(clock, Clock):
            raise InvalidArgument(
                "clock", f"must implement hookwire.runtime.clock.Clock, got {clock!r}"
            )
        self._clock: Clock = clock if clock is not None else SystemClock()
        # Wall time for event times: the C function itself for the system clock (hot path).
        self._now: Callable[[], int] = (
            time.time_ns if type(self._clock) is SystemClock else self._clock.time_ns
        )
        if transport is None:
            transport = InProcessTransport(retention)
        elif not isinstance(transport, Transport):
            raise InvalidArgument("transport", f"does not implement Transport: {transport!r}")
        self._transport = transport
        # Publishers wait for BACKPRESSURE room only where they fan out themselves; over an
        # asynchronous transport the stream consumer waits instead (`_deliver_async`).
        self._sync = bool(transport.synchronous)
        self._bucket: TokenBucket | None = None
        if rate_limit is not None:
            if not isinstance(rate_limit, tuple) or len(rate_limit) != 2:
                raise InvalidArgument("rate_limit", f"must be (rate, burst), got {rate_limit!r}")
            self._bucket = TokenBucket(rate_limit[0], rate_limit[1], self._clock)
        # Whether `publish` may take the fast path of `_send` (see there): nothing to rate-limit,
        # and the transport sequences and fans out before `publish` returns.
        self._plain = self._bucket is None and self._sync
        if not isinstance(emit_source, str):
            raise InvalidArgument("emit_source", "must be a string")
        self._emit_attrs = EventAttrs(source=emit_source, source_language="native")
        if on_callback_error is not None and not callable(on_callback_error):
            raise InvalidArgument(
                "on_callback_error", f"must be callable, got {on_callback_error!r}"
            )
        self._guard = Guard(
            self._clock,
            on_callback_error=on_callback_error or _log_callback_error,
            unsubscribe=self.unsubscribe,
        )
        self._lock = self._guard.lock
        self._ids = IdSource()
        self._next_idn = 1
        self._subs: list[Subscription] = []
        self._routes: dict[str, _Route] = {}
        # The cached routes on a `_plain` bus, and on any other an empty dict: one lookup
        # decides `publish`'s fast path.
        self._plain_routes = self._routes if self._plain else {}
        self._closed_subs: list[Subscription] = []
        self._closed_totals = SubscriptionStats()
        self._published = 0
        self._rate_limited = 0
        self._invalid = 0
        self._closed = False
        # What the transport held before this bus is as good as delivered: replay serves it.
        self._position = transport.next_sequence - 1
        self._listening = False
        # The executor whose `hookwire.hook.executed` events may be committed later, in bulk
        # (`add_deferred_source`), and the sources to drain before any commit or read: that
        # one while nothing can tell the difference (`_refresh_deferral`), else none.
        self._source: DeferredSource | None = None
        self._many_sources = False
        self._deferring: tuple[DeferredSource, ...] = ()
        self._deferral_lock = threading.RLock()
        transport.attach(self._fanout if self._sync else self._deliver_async)

    @property
    def clock(self) -> Clock:
        return self._clock

    # -- deferred sources ---------------------------------------------------------------------

    def add_deferred_source(self, source: DeferredSource) -> None:
        """An executor emitting to this bus offers its records (hookwire.runtime.observer
        `ExecutionRecords`): while nothing can tell the difference, the bus lets it commit its
        `hookwire.hook.executed` events in bulk, and drains it before committing any other
        event and before every read (publish, emit, subscribe, retained, stats, position,
        next_sequence, close), so sequence order is execution order and no reader misses an
        event. Nothing can tell while the transport is the in-process one, there is no rate
        limit, no subscription matches `hookwire.hook.executed`, and this is the only source:
        a bus two executors emit to commits each execution's events right after it.
        """
        with self._deferral_lock:
            if self._source is None and not self._many_sources:
                self._source = source
                others = []
            else:
                others = [s for s in (self._source, source) if s is not None]
                self._source = None
                self._many_sources = True
                self._deferring = ()
                for s in others:
                    s.set_deferral(False)
        for s in others:
            s.drain()
        self._refresh_deferral()

    def _refresh_deferral(self) -> None:
        """Whether the source may defer, from the bus's current state. Not under any lock
        when it drains: a refused source's pending executions are committed right away."""
        with self._deferral_lock:
            source = self._source
            if source is None:
                return
            with self._lock:
                route = self._routes.get(HOOK_EXECUTED)
                if route is None and not self._closed:
                    route = self._route(HOOK_EXECUTED)
                allowed = self._plain and not self._closed and route is not None and not route.subs
            source.set_deferral(allowed)
            self._deferring = (source,) if allowed else ()
        if not allowed:
            source.drain()

    def _drain_deferred(self) -> None:
        """Commit what the deferring source holds (before any commit or read; lock NOT held)."""
        for source in self._deferring:
            source.drain()

    # -- validation helpers ------------------------------------------------------------------

    def _route(self, event_type: str) -> _Route:
        """Validate a type and compute its route (lock held); refuses on a closed bus."""
        try:
            check_type(event_type)
        except InvalidArgument:
            self._invalid += 1
            raise
        if self._closed:
            raise FailedPrecondition("bus", "is closed")
        route = _Route(tuple(s for s in self._subs if s.matches(event_type)))
        if len(self._routes) >= MAX_ROUTES:
            self._routes.clear()
        self._routes[event_type] = route
        return route

    def _invalid_input(self) -> None:
        with self._lock:
            self._invalid += 1

    def _check_payload(self, payload: Any, field: str = "payload") -> None:
        """Validate a payload (InvalidArgument naming `field`, counted invalid)."""
        try:
            validate_json(payload, field)
        except InvalidArgument:
            self._invalid_input()
            raise

    def _prepare(self, event: Event, index: int | None) -> Event:
        """Validate a caller's Event and return the unsequenced copy the bus will stamp."""
        where = "" if index is None else f"events[{index}]."
        if not isinstance(event, Event):
            raise InvalidArgument(
                "events" if index is None else f"events[{index}]",
                f"must be an Event, got {type(event).__name__}",
            )
        try:
            check_type(event.type, f"{where}type")
            event.validate()
        except InvalidArgument as exc:
            self._invalid_input()
            if where and exc.field is not None and not exc.field.startswith(where):
                raise InvalidArgument(f"{where}{exc.field}", exc.reason) from None
            raise
        return event.republished()

    def _fields_event(self, event_type: str, payload: Any, fields: dict[str, Any]) -> Event:
        """The unsequenced event of `publish(type, payload, **fields)` (payload checked)."""
        if not fields:  # most publishes: nothing to check
            return Event.unsequenced(event_type, payload, NO_ATTRS)
        unknown = set(fields) - PublishFields.__optional_keys__
        if unknown:
            raise TypeError(f"publish() got unexpected keyword argument(s) {sorted(unknown)}")
        attrs = fields.get("attrs")
        if attrs is None:
            attrs = attrs_of(**{k: v for k, v in fields.items() if k in _ATTR_FIELDS})
        if attrs is not NO_ATTRS:
            try:
                if not isinstance(attrs, EventAttrs):
                    raise InvalidArgument("attrs", f"must be EventAttrs, got {attrs!r}")
                attrs.validate()
            except InvalidArgument:
                self._invalid_input()
                raise
        id = fields.get("id", "")
        time_ns = fields.get("time_ns")
        ttl_ns = fields.get("ttl_ns")
        problem: InvalidArgument | None = None
        if not isinstance(id, str):
            problem = InvalidArgument("id", f"must be a string, got {type(id).__name__}")
        for name, value in (("time_ns", time_ns), ("ttl_ns", ttl_ns)):
            if value is not None and (type(value) is not int or value < 0):
                problem = InvalidArgument(
                    name, f"must be a non-negative int or None, got {value!r}"
                )
        if problem is not None:
            self._invalid_input()
            raise problem
        return Event.unsequenced(event_type, payload, attrs, id, time_ns, ttl_ns)

    # -- the one commit and fan-out path --------------------------------------------------------

    def _commit(self, batch: Sequence[Event]) -> Ack | None:
        """Fix id and time, and hand the batch to the transport (lock held).

        The only way events reach the transport (`publish`'s fast path writes this for one
        event inline). Ids are fixed here, before any transport sees the events: a
        distributed transport deduplicates retries by id.
        """
        if type(batch) is EventRun and not batch.built:
            self._next_idn = batch.stamp(self._ids, self._next_idn, self._now())
            return self._transport.publish(batch)
        self._next_idn = self._ids.stamp(batch, self._next_idn, self._now())
        return self._transport.publish(batch)

    def _fanout(self, events: Sequence[Event]) -> None:
        """Transport -> local subscriptions, in sequence order (lock held). The one fan-out.

        Advances the resume position with the delivery, so a `subscribe(from_sequence)`
        replays exactly what was fanned out before it, and receives the rest live.
        """
        routes = self._routes
        if events.__class__ is EventRun:
            # One type: the subscriptions that take it build its events.
            for sub in (routes.get(events.type) or self._route(events.type)).subs:
                sub.offer_run(events)
            n = events.n
            self._position = events.sequence + n - 1
            self._published += n
            return
        if len(events) == 1:
            ev = events[0]
            route = routes.get(ev.type) or self._route(ev.type)
            offer = route.only
            if offer is not None:
                offer(ev)
            else:
                for sub in route.subs:
                    sub.offer(ev)
            self._position = ev.sequence
            self._published += 1
            return
        if events:
            # Runs of one type (batches usually have one): each subscription takes a run
            # at once, in order.
            start = 0
            n = len(events)
            while start < n:
                t = events[start].type
                end = start + 1
                while end < n and events[end].type == t:
                    end += 1
                subs = (routes.get(t) or self._route(t)).subs
                if subs:
                    run = events[start:end] if start or end != n else events
                    for sub in subs:
                        sub.offer_run(run)
                start = end
            self._position = events[-1].sequence
            self._published += n

    # -- admission: rate limit and BACKPRESSURE room --------------------------------------------

    def _take_tokens(self, n: int) -> None:
        if self._bucket is not None and n and not self._bucket.try_acquire(n):
            self._rate_limited += n
            what = (
                "exceeded; no sequence was used"
                if n == 1
                else f"has no room for {n} event(s); none was accepted"
            )
            raise RateLimited(
                "publish",
                f"rate limit of {self._bucket.rate}/s (burst {self._bucket.burst}) {what}",
            )

    def _need(self, batch: Sequence[Event]) -> dict[Subscription, int]:
        """How many events of `batch` each BACKPRESSURE subscription would take (lock held)."""
        known = self._routes
        need: dict[Subscription, int] = {}
        counts = {batch.type: batch.n} if type(batch) is EventRun else Counter(map(_type_of, batch))
        for t, n in counts.items():  # counted in C: few types
            for s in (known.get(t) or self._route(t)).bp:
                need[s] = need.get(s, 0) + n
        return need

    def _fitting(self, batch: Sequence[Event], i: int) -> int:
        """How many events of `batch` from `i` on fit in every BACKPRESSURE queue now."""
        if not self._guard.full and len(batch) - i == 1:
            return 1
        rest = batch[i:] if i else batch
        need = self._need(rest)
        if all(s.room_for(n) for s, n in need.items()):
            return len(rest)
        # The longest prefix that fits (the batch is larger than some queue's room).
        routes = self._routes
        taken: dict[Subscription, int] = {}
        k = 0
        for ev in rest:
            for s in (routes.get(ev.type) or self._route(ev.type)).bp:
                c = taken.get(s, 0) + 1
                if not s.room_for(c):
                    return k
                taken[s] = c
            k += 1
        return k

    def _blockers(self, ev: Event, since: int) -> list[Subscription]:
        """The BACKPRESSURE subscriptions `ev` must still wait for (lock held)."""
        route = self._routes.get(ev.type) or self._route(ev.type)
        now = self._clock.monotonic_ns()
        return [s for s in route.bp if s.blocks(since, now)]

    def _refuse_up_front(self, batch: Sequence[Event]) -> None:
        """Refuse, before any of it commits, a batch that would have to wait for room where
        this thread cannot wait (lock held). A callback subscription nobody drains now does
        not count: this publisher empties it between steps."""
        short = [
            s
            for s, c in self._need(batch).items()
            if not s.room_for(c) and not s.emptied_by_publishers()
        ]
        if short:
            self._refuse_blocking(short)

    def _refuse_blocking(self, blockers: list[Subscription]) -> None:
        for s in blockers:
            if s.waits_forever_on_this_thread():
                raise FailedPrecondition(
                    "publish",
                    f"would wait for room in {s!r}, whose callback is running on this thread "
                    "(a callback publishing into its own full BACKPRESSURE subscription)",
                )
        if asyncio.events._get_running_loop() is not None:
            names = ", ".join(repr(s) for s in blockers)
            raise FailedPrecondition(
                "publish",
                f"would block the running event loop waiting for room in {names}; use "
                "apublish/apublish_batch from async code",
            )

    def _room(
        self, events: Sequence[Event], i: int, since: int | None
    ) -> tuple[int, list[Subscription], int | None]:
        """How many events from `i` fit in every BACKPRESSURE queue now (lock held); when
        none, the subscriptions to wait for, and the time the wait started."""
        k = self._fitting(events, i)
        if k:
            return k, [], since
        if since is None:
            since = self._clock.monotonic_ns()  # a timeout counts from here
        blockers = self._blockers(events[i], since)
        # Nobody left to wait for (their timeouts ran out): the event goes, counted timed_out.
        return (0 if blockers else 1), blockers, since

    def _wait_for(
        self, batch: Sequence[Event], i: int, mode: int, since: int | None
    ) -> tuple[int, list[Subscription], int | None]:
        """`_room` for a publisher: over an asynchronous transport, or for `_NEVER`, nothing
        to wait for (the stream consumer waits instead)."""
        if self._closed:
            raise FailedPrecondition("bus", "is closed")
        if mode == _NEVER or not self._sync:
            return len(batch) - i, [], since
        return self._room(batch, i, since)

    def _send(self, batch: Sequence[Event], mode: int = _BLOCK) -> Ack | None:
        """Admit and commit `batch` from a thread (`_BLOCK`) or without waiting (`_NEVER`).

        Events commit in as few steps as BACKPRESSURE room allows (one, usually); callbacks
        run between steps, so a callback subscription smaller than the batch loses nothing.
        """
        guard = self._guard
        lock = self._lock
        n = len(batch)
        # acquire/try/finally: half the cost of `with` on a lock (this is the hot path).
        lock.acquire()
        try:
            # A closed bus has no routes and `_route` refuses: only an empty batch needs the
            # check.
            routes = self._routes
            many = n > 1
            if type(batch) is EventRun:
                # One type: only its BACKPRESSURE subscriptions can run short of room.
                many = bool((routes.get(batch.type) or self._route(batch.type)).bp)
            elif n == 1:
                if batch[0].type not in routes:
                    self._route(batch[0].type)  # validates it (a cached route's type is valid)
            elif n:
                for ev in batch:
                    if ev.type not in routes:
                        self._route(ev.type)
            elif self._closed:
                raise FailedPrecondition("bus", "is closed")
            if self._bucket is not None:
                self._take_tokens(n)
            if (guard.full or many) and mode == _BLOCK and self._sync:
                # Some BACKPRESSURE queue is full or may fill up: see what fits.
                self._refuse_up_front(batch)
                whole = self._fitting(batch, 0) == n
            else:
                whole = True
            if whole:
                ack = self._commit(batch)
                work = guard.work
                if work:
                    guard.work = []
        finally:
            lock.release()
        if not whole:
            return self._send_in_steps(batch, mode)
        if work:
            _run(work)
        return ack

    def _send_in_steps(self, batch: Sequence[Event], mode: int) -> Ack | None:
        """`_send` of a batch that does not fit at once (admitted already)."""
        acks: list[Ack] = []

        def room(i: int, since: int | None) -> tuple[int, list[Subscription], int | None]:
            k, blockers, since = self._wait_for(batch, i, mode, since)
            if not k:
                self._refuse_blocking(blockers)
            return k, blockers, since

        def commit(events: Sequence[Event]) -> None:
            ack = self._commit(events)
            if ack is not None:
                acks.append(ack)

        self._stepwise(batch, room, commit)
        if not acks:
            return None
        return acks[0] if len(acks) == 1 else _joined(acks)

    def _stepwise(
        self,
        events: Sequence[Event],
        room: Callable[[int, int | None], tuple[int, list[Subscription], int | None]],
        step: Callable[[Sequence[Event]], None],
    ) -> None:
        """Move `events` on in as many steps as BACKPRESSURE room allows, blocking this thread
        while there is none: under the lock, `room(i, since)` says how many from `i` fit now
        (k > 0), or whom to wait for (k = 0; `since`: when the wait started) or that the bus
        closed (k < 0: stop); `step` takes the k events; the callbacks they claimed run after
        the lock is released. The publisher's side (`_send_in_steps`: commit) and an
        asynchronous transport's (`_deliver_async`: fan out) differ only in those two."""
        guard = self._guard
        lock = self._lock
        n = len(events)
        i = 0
        since: int | None = None
        while i < n:
            lock.acquire()
            try:
                while True:
                    k, blockers, since = room(i, since)
                    if k:
                        break
                    guard.wait_slice(blockers)
                if k < 0:
                    return
                step(events[i : i + k] if k != n else events)
                work = guard.take_work() if guard.work else None
            finally:
                lock.release()
            if work:
                _run(work)
            i += k
            since = None

    async def _asend(self, batch: Sequence[Event]) -> list[Event]:
        """`_send` that awaits room instead of blocking; returns the batch once stored."""
        guard = self._guard
        lock = self._lock
        n = len(batch)
        i = 0
        since: int | None = None
        acks: list[Ack] = []
        first = True
        while i < n:
            with lock:
                if first:
                    for ev in batch:
                        if ev.type not in self._routes:
                            self._route(ev.type)
                    if self._closed:
                        raise FailedPrecondition("bus", "is closed")
                k, blockers, since = self._wait_for(batch, i, _AWAIT, since)
                if k:
                    if first:
                        self._take_tokens(n)
                        first = False
                    ack = self._commit(batch[i : i + k] if k != n else batch)
                    if ack is not None:
                        acks.append(ack)
                    work = guard.take_work() if guard.work else None
                else:
                    loop = asyncio.get_running_loop()
                    fut: asyncio.Future[None] = loop.create_future()
                    for s in blockers:
                        s.add_async_waiter(loop, fut)
            if not k:
                await self._guard.await_slice(fut, _forgetting(blockers, fut))
                continue
            if work:
                _run(work)
            i += k
            since = None
        for ack in acks:
            await asyncio.wrap_future(ack)
        return list(batch)

    # -- the asynchronous transport's side -------------------------------------------------------

    def _deliver_async(self, events: Sequence[Event]) -> None:
        """Transport -> local subscriptions, from the transport's own thread (not an event
        loop). A full BACKPRESSURE subscription holds this consumer back (it waits for room,
        up to the subscription's timeout) rather than dropping events from other hosts."""

        def room(i: int, since: int | None) -> tuple[int, list[Subscription], int | None]:
            if self._closed:
                return -1, [], since
            return self._room(events, i, since)

        self._stepwise(events, room, self._fanout)

    # -- publishing: thin entry points -----------------------------------------------------------

    def publish(self, type: str, payload: Any = NO_DATA, **fields: Unpack[PublishFields]) -> int:
        """Publish one event and return its sequence.

        `payload` is any JSON value (omit it for "no data"; None is JSON null). The keyword
        fields are those of `PublishFields` (id, time_ns, ttl_ns, source, source_language,
        correlation_id, causation_id, metadata, traceparent, tracestate, attrs). `id` and
        `time_ns` are assigned when not given. Raises InvalidArgument (naming the field),
        RateLimited, or FailedPrecondition (a sync publish that would block a running event
        loop on a full BACKPRESSURE queue).

        Example:
            >>> bus = EventBus()
            >>> bus.publish("a.b", [1, 2], correlation_id="run-1")
            1
        """
        if self._deferring:
            self._drain_deferred()
        # `_trivially_valid`, inline (the hot path; pinned to it by test_publish.py).
        cls = payload.__class__
        if cls is dict:
            for k in payload:
                if k.__class__ is not str or payload[k].__class__ not in _FLAT:
                    self._check_payload(payload)
                    break
        elif cls not in _FLAT and payload is not NO_DATA:
            self._check_payload(payload)
        if fields:
            ev = self._fields_event(type, payload, dict(fields))
        else:
            # The fast path of `_send((ev,))`, derived from it for the case where admission has
            # nothing to do: on a `_plain` bus, an event of a type whose route is cached (so
            # the type is valid and the bus open) while no BACKPRESSURE queue is full
            # (`Guard.full`) is admitted as it is, so `_send` reduces to `_commit` (for one
            # event: built with the id number and time `IdSource.stamp` would give it, then
            # the transport) and running the callbacks the fan-out claimed (`_run`).
            # Anything else goes through `_send`.
            # tests/bus/test_publish_fast_path.py pins the two to the same behaviour.
            guard = self._guard
            lock = self._lock
            lock.acquire()
            try:
                try:
                    fast = type in self._plain_routes and not guard.full
                except TypeError:  # an unhashable type: `_send` names it
                    fast = False
                if fast:
                    n = self._next_idn
                    self._next_idn = n + 1
                    # A local: `self._now()` of an attribute holding a function is a method
                    # lookup the interpreter cannot specialize.
                    now = self._now
                    ev = _unsequenced(type, payload, NO_ATTRS, self._ids, now(), None, n)
                    self._transport.publish((ev,))
                    work = guard.work
                    if work:
                        guard.work = []
            finally:
                lock.release()
            if fast:
                if work:  # `_run(work)`, its usual case inline
                    if len(work) == 1:
                        work[0].run()
                    else:
                        _run(work)
                return ev.sequence
            ev = Event.unsequenced(type, payload, NO_ATTRS)
        try:
            ack = self._send((ev,))
        except TypeError:  # an unhashable type: _route names the problem
            with self._lock:
                self._route(type)
            raise
        if ack is not None:
            ack.result()
        return ev.sequence

    async def apublish(self, type: str, payload: Any = NO_DATA, **fields: Any) -> int:
        """Async publish: like `publish` (same keyword fields), but awaits room in full
        BACKPRESSURE queues instead of blocking, and awaits the transport's acknowledgement.
        The rate limit is checked once there is room.

        Example (inside a coroutine): `seq = await bus.apublish("tool.invoked", {"n": 1})`.
        """
        if self._deferring:
            self._drain_deferred()
        if not _trivially_valid(payload):
            self._check_payload(payload)
        ev = self._fields_event(type, payload, fields)
        try:
            await self._asend((ev,))
        except TypeError:
            with self._lock:
                self._route(type)
            raise
        return ev.sequence

    def publish_many(
        self, type: str, payloads: Iterable[Any], *, attrs: EventAttrs | None = None
    ) -> list[int]:
        """Publish one event per payload, all of one type, as one batch (validated first, all
        accepted or none; one lock, one clock read). Returns the sequences.

        The events travel as one `EventRun`, as those of `emit_batch` do: stamped, sequenced
        and retained whole (their Event objects are built for the sequences returned).

        Example:
            >>> bus = EventBus()
            >>> bus.publish_many("metric.sample", [{"v": 1}, {"v": 2}])
            [1, 2]
        """
        if self._deferring:
            self._drain_deferred()
        payloads = payloads if isinstance(payloads, list) else _iterable(payloads, "payloads")
        for i, payload in enumerate(payloads):
            if not _trivially_valid(payload):
                self._check_payload(payload, f"payloads[{i}]")
        if attrs is None:
            attrs = NO_ATTRS
        elif not isinstance(attrs, EventAttrs):
            raise InvalidArgument("attrs", f"must be EventAttrs, got {attrs!r}")
        else:
            attrs.validate()
        batch: Sequence[Event] = EventRun(type, payloads, attrs) if payloads else ()
        try:
            ack = self._send(batch)
        except TypeError:
            with self._lock:
                self._route(type)
            raise
        if ack is not None:
            ack.result()
        return [ev.sequence for ev in batch]

    def emit(self, type: str, payload: dict[str, Any]) -> None:
        """EventSink: publish a runtime event (source `emit_source`, language "native").

        Called synchronously by the executor, and never waits for a transport's
        acknowledgement. On a thread without a running event loop it behaves like `publish`
        (it may block for BACKPRESSURE room). On an event loop's thread it never waits: the
        loop is the one that would have to make room, and a slow subscriber must not break
        hook execution; a full BACKPRESSURE subscriber then counts the event `timed_out`
        (every other subscriber gets it).

        Example:
            >>> bus = EventBus()
            >>> sub = bus.subscribe("hookwire.breaker.*")
            >>> bus.emit("hookwire.breaker.opened", {"hook": "h", "failure_rate": 1.0})
            >>> sub.poll()[0].source
            'hookwire://runtime'
        """
        if not _trivially_valid(payload):
            self._check_payload(payload)
        self._emit(EventRun(type, (payload,), self._emit_attrs))

    def emit_batch(self, type: str, payloads: Iterable[dict[str, Any]] | JsonPayloads) -> None:
        """EventSink: publish several runtime events of one type (an execution's
        `hookwire.hook.executed`) the way `emit` publishes one, as one batch: all accepted or
        none, consecutive sequences, one lock, one clock read; never waiting for a transport's
        acknowledgement nor, on an event loop's thread, for BACKPRESSURE room.

        The events travel as one `EventRun` (hookwire.runtime.bus.event_run) and are built
        when read: a bus nobody subscribed to keeps them in retention without building them.
        `payloads` are read then too, so they must not change afterwards; a `JsonPayloads`
        (hookwire.runtime.events) is JSON by construction and builds each payload when read.

        Example:
            >>> bus = EventBus()
            >>> sub = bus.subscribe("hookwire.hook.*")
            >>> bus.emit_batch("hookwire.hook.executed", [{"hook": "a"}, {"hook": "b"}])
            >>> [(e.sequence, e.payload["hook"]) for e in sub.poll()]
            [(1, 'a'), (2, 'b')]
        """
        if not isinstance(payloads, JsonPayloads):
            payloads = _iterable(payloads, "payloads")
            for i, payload in enumerate(payloads):
                if not _trivially_valid(payload):
                    self._check_payload(payload, f"payloads[{i}]")
        run = EventRun(type, payloads, self._emit_attrs)
        if run.n:
            self._emit(run)

    def _emit(self, run: EventRun) -> None:
        """`emit` / `emit_batch` of validated payloads: commit without waiting for the
        transport, nor, on an event loop's thread, for BACKPRESSURE room."""
        if self._deferring:
            self._drain_deferred()
        mode = _BLOCK if asyncio.events._get_running_loop() is None else _NEVER
        try:
            ack = self._send(run, mode)
        except TypeError:  # an unhashable type: _route names the problem
            with self._lock:
                self._route(run.type)
            raise
        if ack is not None:
            ack.add_done_callback(_log_ack_error)

    def publish_event(self, event: Event) -> Event:
        """Publish a ready-made Event; returns the published copy (with sequence, id, time).

        The caller's event is not changed; its `sequence` is ignored (the bus assigns it).
        """
        return self.publish_batch([event])[0]

    def publish_batch(self, events: Iterable[Event]) -> list[Event]:
        """Publish several events: all are validated (and rate-limited) first, then all are
        accepted or none is. Returns the published copies, in order, with their sequences.

        Sequences of a batch are consecutive unless a BACKPRESSURE subscriber makes the
        publisher wait in the middle of it (other publishers may then get sequences between).

        Example:
            >>> bus = EventBus()
            >>> [e.sequence for e in bus.publish_batch([Event("a"), Event("b", 2)])]
            [1, 2]
        """
        if self._deferring:
            self._drain_deferred()
        prepared = [self._prepare(ev, i) for i, ev in enumerate(_iterable(events, "events"))]
        ack = self._send(prepared)
        if ack is not None:
            ack.result()
        return prepared

    async def apublish_batch(self, events: Iterable[Event]) -> list[Event]:
        """Async `publish_batch`: awaits room in BACKPRESSURE queues without blocking the loop."""
        if self._deferring:
            self._drain_deferred()
        prepared = [self._prepare(ev, i) for i, ev in enumerate(_iterable(events, "events"))]
        return await self._asend(prepared)

    async def apublish_read(self, read: Callable[[], _Read]) -> _Read:
        """`apublish_batch` of the unsequenced events `read()` returns: events a wire reader
        (hookwire.runtime.wire) read and checked, all but their types. What a server receives,
        published without a per-event copy or a second validation (payloads may be decoded
        only when read). A reading error (InvalidArgument naming `events[i].<field>`) or a bad
        type counts as invalid input. Returns what `read()` returned, its events published.

        Example (inside a coroutine):
            `await bus.apublish_read(lambda: WireEvents().read(request.events))`.
        """
        if self._deferring:
            self._drain_deferred()
        try:
            events = read()
            routes = self._routes
            # Each distinct type once, in order (a cached route is a type seen valid); the
            # first event of a bad type is named.
            for t in dict.fromkeys(map(_type_of, events)):
                if t not in routes:
                    try:
                        check_type(t)
                    except InvalidArgument:
                        i = next(i for i, ev in enumerate(events) if ev.type == t)
                        check_type(t, f"events[{i}].type")
        except InvalidArgument:
            self._invalid_input()
            raise
        await self._asend(events)
        return events

    # -- subscribing --------------------------------------------------------------------------

    def subscribe(
        self,
        *patterns: str,
        capacity: int = DEFAULT_CAPACITY,
        overflow: OverflowStrategy | None = None,
        callback: Callback | None = None,
        from_sequence: int = 0,
        name: str = "",
    ) -> Subscription:
        """Subscribe to events matching any of `patterns` (NATS wildcards `*` and `>`).

        `from_sequence` > 0 first replays retained events from that sequence (OutOfRange,
        naming the oldest available, if it was evicted). `callback` (a plain function) is then
        called for each event; otherwise consume the subscription as an iterator.

        The overflow strategy defaults to `DropOldest()` for a consumed subscription and to
        `Backpressure()` for a callback subscription: its publishers run the callback to make
        room, so it loses nothing unless it asks to (docs/events.md).

        Example:
            >>> bus = EventBus()
            >>> _ = bus.publish("a.x", 1)
            >>> sub = bus.subscribe("a.*", from_sequence=1)
            >>> [e.payload for e in sub]
            [1]
        """
        if self._deferring:
            self._drain_deferred()
        if not patterns:
            raise InvalidArgument("patterns", "at least one pattern is required")
        compiled = tuple(Pattern.compile(p, f"patterns[{i}]") for i, p in enumerate(patterns))
        check_capacity(capacity)
        if callback is not None:
            if not callable(callback):
                raise InvalidArgument("callback", f"must be callable, got {callback!r}")
            if asyncio.iscoroutinefunction(callback):
                raise InvalidArgument(
                    "callback", "must be a plain function; consume with `async for` instead"
                )
        if overflow is None:
            overflow = DropOldest() if callback is None else Backpressure()
        if type(from_sequence) is not int or from_sequence < 0:
            raise InvalidArgument("from_sequence", f"must be an int >= 0, got {from_sequence!r}")
        if not isinstance(name, str):
            raise InvalidArgument("name", "must be a string")
        sub = Subscription(self._guard, compiled, capacity, overflow, callback, name)
        with self._lock:
            if self._closed:
                raise FailedPrecondition("bus", "is closed")
            if not self._listening:
                self._listen()
            replay = self._transport.replay(from_sequence) if from_sequence else []
            self._subs.append(sub)
            self._routes.clear()
            position = self._position
            for ev in replay:
                # Beyond the position: stored, not yet fanned out; it arrives live.
                if ev.sequence <= position and sub.matches(ev.type):
                    sub.offer_replayed(ev)
        if self._source is not None:
            self._refresh_deferral()  # a subscription to the executor's events ends deferral
        if callback is not None and replay:
            sub.run_callbacks()
        return sub

    def _listen(self) -> None:
        """The first subscription (lock held): a transport that reads its events only while
        they are wanted (JetStream: `listen`) starts now. What it will not deliver counts as
        fanned out: replay serves it."""
        listen = getattr(self._transport, "listen", None)
        if listen is not None:  # when it fails, the subscribe fails and the next one retries
            self._position = max(self._position, listen())
        self._listening = True

    def unsubscribe(self, sub: Subscription) -> None:
        """Stop queueing events for `sub`; what is already queued can still be taken."""
        if not isinstance(sub, Subscription) or not sub.belongs_to(self._guard):
            raise InvalidArgument("sub", "is not a subscription of this bus")
        with self._lock:
            if sub.closed:
                return
            sub.close_locked()
            self._subs.remove(sub)
            self._routes.clear()
            self._closed_subs.append(sub)
        if self._source is not None:
            self._refresh_deferral()

    def close(self) -> None:
        """Close every subscription and the transport; later publishes fail. Deferred events
        are committed first."""
        self._drain_deferred()
        with self._lock:
            subs = list(self._subs)
        for sub in subs:
            self.unsubscribe(sub)
        with self._lock:
            self._closed = True
            self._routes.clear()
            self._guard.cond.notify_all()
        self._refresh_deferral()
        self._transport.close()

    # -- inspection ---------------------------------------------------------------------------

    @property
    def next_sequence(self) -> int:
        """The sequence the next accepted event will get."""
        if self._deferring:
            self._drain_deferred()
        with self._lock:
            return self._transport.next_sequence

    @property
    def position(self) -> int:
        """The last sequence fanned out to this bus's subscriptions (0: none yet)."""
        if self._deferring:
            self._drain_deferred()
        return self._position

    def retained(self, from_sequence: int, *, stored: bool = False) -> list[Event]:
        """The transport's retained events from `from_sequence` up to the resume position,
        without opening a subscription (OutOfRange as for `subscribe`).

        `stored=True`: every event the transport stores from there, including those not yet
        fanned out to this bus's subscriptions (an asynchronous transport delivers after it
        acknowledges, so an event whose publish returned may still be on its way).

        Example:
            >>> bus = EventBus()
            >>> _ = bus.publish("a.x", 1), bus.publish("a.y", 2)
            >>> [e.type for e in bus.retained(2)], [e.type for e in bus.retained(1, stored=True)]
            (['a.y'], ['a.x', 'a.y'])
        """
        if self._deferring:
            self._drain_deferred()
        with self._lock:
            events = self._transport.replay(from_sequence)
            if stored:
                return events
            position = self._position
            return [ev for ev in events if ev.sequence <= position]

    def subscriptions(self) -> list[Subscription]:
        """The open subscriptions."""
        with self._lock:
            return list(self._subs)

    def stats(self) -> BusStats:
        """A consistent snapshot of the bus and the sum over all its subscriptions."""
        if self._deferring:
            self._drain_deferred()
        with self._lock:
            still: list[Subscription] = []
            for sub in self._closed_subs:
                if len(sub):
                    still.append(sub)
                else:  # nothing can change its counters any more
                    self._closed_totals = self._closed_totals + sub.stats_locked()
            self._closed_subs = still
            totals = self._closed_totals
            for sub in (*self._subs, *still):
                totals = totals + sub.stats_locked()
            return BusStats(
                published=self._published,
                rate_limited=self._rate_limited,
                invalid=self._invalid,
                subscriptions=len(self._subs),
                next_sequence=self._transport.next_sequence,
                oldest_retained=self._transport.oldest_retained,
                totals=totals,
            )


def _forgetting(subs: list[Subscription], fut: asyncio.Future[None]) -> Callable[[], None]:
    def forget() -> None:
        for s in subs:
            s.forget_async_waiter(fut)

    return forget


def _joined(acks: list[Ack]) -> Ack:
    """One acknowledgement for several (a batch committed in steps)."""
    out: concurrent.futures.Future[list[int]] = concurrent.futures.Future()
    left = [len(acks)]
    seqs: list[list[int]] = [[] for _ in acks]

    def done(i: int, fut: Ack) -> None:
        if out.done():
            return
        exc = fut.exception()
        if exc is not None:
            out.set_exception(exc)
            return
        seqs[i] = fut.result()
        left[0] -= 1
        if left[0] == 0:
            out.set_result([s for part in seqs for s in part])

    for i, ack in enumerate(acks):
        ack.add_done_callback(lambda f, i=i: done(i, f))  # type: ignore[misc]
    return out
