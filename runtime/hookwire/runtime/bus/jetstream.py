"""JetStreamTransport: the bus on a NATS JetStream stream, one total order across hosts.

The stream is the order and the retention log: an event's `sequence` is its stream sequence,
the same on every host, and `from_sequence` means the same everywhere. Each bus (host)
publishes into the stream and reads it back through one ordered push consumer, so its own
events reach its subscribers the way other hosts' events do. See docs/distributed.md.

Publishing never waits on the network under the bus lock: `publish` queues the events for
the transport's own event loop (a thread) and returns an `Ack`. Each event carries its id as
`Nats-Msg-Id`, so a retry after a lost acknowledgement is stored once (within the stream's
duplicate window). A batch of several events is one atomic batch (all stored or none, with
consecutive sequences; at most 1,000 events, larger ones are split).

Example (needs a NATS server >= 2.12 with JetStream):
    bus = EventBus(transport=JetStreamTransport("nats://127.0.0.1:4222"))
    bus.publish("tool.invoked", {"tool": "shell"})   # -> the stream sequence
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import ssl
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from hookwire.runtime.bus.event import Event
from hookwire.runtime.bus.transport import Ack, Deliver
from hookwire.runtime.errors import FailedPrecondition, InvalidArgument, OutOfRange
from hookwire.runtime.wire.event import event_to_bytes, events_from_bytes

__all__ = [
    "DEFAULT_STREAM",
    "MAX_ATOMIC_BATCH",
    "SUBJECT_PREFIX",
    "JetStreamOptions",
    "JetStreamTransport",
]

log = logging.getLogger("hookwire.bus.jetstream")

DEFAULT_STREAM: Final = "HOOKWIRE"
SUBJECT_PREFIX: Final = "hookwire.events"
#: The server's limit on the messages of one atomic batch.
MAX_ATOMIC_BATCH: Final = 1000
#: The oldest server with atomic batches and multi-filter consumers.
MIN_SERVER: Final = (2, 12)
# How long one attempt waits for an acknowledgement, and how long retries go on in all (a
# stream leader election pauses writes for 4-7 s).
ACK_WAIT_S: Final = 2.0
RETRY_FOR_S: Final = 30.0
_DUPLICATE_IN_BATCH: Final = 10201
# Messages received and not yet handed to the bus before the consumer waits.
INBOX_MAX: Final = 4096
# Tokens of a v1 ack subject ($JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<time>.
# <pending>); v2 subjects add a domain, an account hash and a token.
_V1_TOKENS: Final = 9


@dataclass(frozen=True)
class JetStreamOptions:
    """How to reach the servers and what stream to use (created if absent, never changed).

    `max_age_s`/`max_bytes`/`max_msgs`: the stream's LIMITS retention (oldest dropped first;
    0 = unlimited). `duplicate_window_s` must outlast publish retries (`RETRY_FOR_S`).
    `replicas`: None = 3 on a cluster, 1 on a single server. Credentials and TLS are passed
    to nats-py as they are (`user`/`password`, `token`, `user_credentials` (a .creds file),
    `nkeys_seed`, `tls` (an ssl.SSLContext), `tls_hostname`).
    """

    stream: str = DEFAULT_STREAM
    max_age_s: float = 7 * 24 * 3600.0
    max_bytes: int = 0
    max_msgs: int = 0
    duplicate_window_s: float = 120.0
    replicas: int | None = None
    connect_timeout_s: float = 5.0
    user: str | None = None
    password: str | None = None
    token: str | None = None
    user_credentials: str | None = None
    nkeys_seed: str | None = None
    tls: ssl.SSLContext | None = None
    tls_hostname: str | None = None
    name: str = "hookwire"
    extra: dict[str, Any] = field(default_factory=dict)

    def connect_kwargs(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "connect_timeout": self.connect_timeout_s}
        for key in ("user", "password", "token", "user_credentials", "nkeys_seed", "tls"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.tls_hostname is not None:
            out["tls_hostname"] = self.tls_hostname
        out.update(self.extra)
        return out


def subject_of(event_type: str) -> str:
    """The subject an event type is published on (types are valid subject tokens)."""
    return f"{SUBJECT_PREFIX}.{event_type}"


class JetStreamTransport:
    """The bus's transport on a JetStream stream (see the module docstring).

    Connects at construction (FailedPrecondition if the server is older than 2.12, has no
    JetStream, or the existing stream does not have the settings hookwire relies on).
    """

    synchronous = False

    def __init__(self, servers: str | Sequence[str], options: JetStreamOptions | None = None):
        try:
            import nats  # noqa: F401
        except ImportError as exc:  # pragma: no cover - the extra is installed in tests
            raise FailedPrecondition("nats", "needs nats-py: pip install 'hookwire[nats]'") from exc
        self.options = options or JetStreamOptions()
        self._servers = [servers] if isinstance(servers, str) else list(servers)
        self._deliver: Deliver | None = None
        self._closed = False
        self._last_seq = 0
        self._first_seq = 1
        # For `settle`: publish calls made and answered, the highest sequence stored by them,
        # the highest delivered to the bus.
        self._submitted = 0
        self._answered = 0
        self._stored = 0
        self._delivered = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="hookwire-jetstream", daemon=True
        )
        self._thread.start()
        self._outbox: asyncio.Queue[tuple[list[Event], Ack]] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._sub: Any = None
        self._pool = concurrent.futures.ThreadPoolExecutor(1, "hookwire-jetstream-deliver")
        try:
            self._call(self._connect(), self.options.connect_timeout_s * 2 + RETRY_FOR_S + 10)
        except BaseException:
            self._closed = True
            with contextlib.suppress(Exception):
                self._call(self._shutdown(), 10)
            self._stop_loop()
            raise

    # -- the loop thread ----------------------------------------------------------------------

    def _call(self, coro: Any, timeout: float) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    async def _connect(self) -> None:
        import nats
        from nats.js import api

        opts = self.options
        try:
            self._nc = await asyncio.wait_for(
                nats.connect(
                    servers=self._servers,
                    allow_reconnect=True,
                    max_reconnect_attempts=-1,
                    **opts.connect_kwargs(),
                ),
                opts.connect_timeout_s * 2,
            )
        except Exception as exc:
            raise FailedPrecondition(
                "nats", f"cannot connect to {', '.join(self._servers)}: {exc}"
            ) from exc
        version = self._nc.connected_server_version
        if (version.major, version.minor) < MIN_SERVER:
            await self._nc.close()
            raise FailedPrecondition(
                "nats",
                f"server {version} at {self._nc.connected_url} is older than 2.12 (needed: "
                "atomic batch publish and multi-subject consumer filters)",
            )
        self._js = self._nc.jetstream(timeout=ACK_WAIT_S)
        cluster = bool(self._nc._server_info.get("cluster"))
        replicas = opts.replicas if opts.replicas is not None else (3 if cluster else 1)
        wanted = api.StreamConfig(
            name=opts.stream,
            subjects=[f"{SUBJECT_PREFIX}.>"],
            retention=api.RetentionPolicy.LIMITS,
            discard=api.DiscardPolicy.OLD,
            max_age=opts.max_age_s or None,
            max_bytes=opts.max_bytes or None,
            max_msgs=opts.max_msgs or None,
            storage=api.StorageType.FILE,
            num_replicas=replicas,
            duplicate_window=opts.duplicate_window_s,
            deny_delete=True,
            deny_purge=True,
            allow_atomic=True,
        )
        from nats.js.errors import NotFoundError

        deadline = self._loop.time() + RETRY_FOR_S
        while True:
            try:
                info = await self._js.stream_info(opts.stream)
                break
            except NotFoundError:  # absent: create it (another host may win the race; fine)
                try:
                    info = await self._js.add_stream(wanted)
                except Exception:
                    info = await self._js.stream_info(opts.stream)
                break
            except Exception:  # no answer while a cluster elects a leader: ask again
                if self._loop.time() >= deadline:
                    raise
                await asyncio.sleep(0.2)
        cfg = info.config
        everything = f"{SUBJECT_PREFIX}.>"
        problems = [
            name
            for name, ok in (
                (f"subjects including {everything}", everything in (cfg.subjects or [])),
                ("allow_atomic", bool(cfg.allow_atomic)),
                ("deny_delete", cfg.deny_delete),
                ("deny_purge", cfg.deny_purge),
                ("duplicate_window >= 30 s", (cfg.duplicate_window or 0) >= RETRY_FOR_S),
            )
            if not ok
        ]
        if problems:
            raise FailedPrecondition(
                "nats",
                f"stream {opts.stream} exists without {', '.join(problems)}; hookwire never "
                "changes an existing stream: fix it or choose another with --nats-stream",
            )
        self._first_seq = info.state.first_seq
        self._last_seq = info.state.last_seq
        self._outbox = asyncio.Queue()
        self._tasks.append(self._loop.create_task(self._publisher()))

    # -- publishing ---------------------------------------------------------------------------

    def publish(self, events: Sequence[Event]) -> Ack:
        """Queue events for the stream (bus lock held: nothing waits here)."""
        ack: Ack = concurrent.futures.Future()
        if self._closed:
            ack.set_exception(FailedPrecondition("transport", "is closed"))
            return ack
        assert self._outbox is not None
        self._submitted += 1
        ack.add_done_callback(self._settled)
        self._loop.call_soon_threadsafe(self._outbox.put_nowait, (list(events), ack))
        return ack

    async def _publisher(self) -> None:
        """Sends queued events in commit order: single events pipelined, batches atomic."""
        assert self._outbox is not None
        while True:
            events, ack = await self._outbox.get()
            try:
                if len(events) == 1:
                    task = self._loop.create_task(self._one(events[0]))
                    task.add_done_callback(lambda t, ack=ack: _settle(ack, t))  # type: ignore[misc]
                    continue
                seqs: list[int] = []
                for start in range(0, len(events), MAX_ATOMIC_BATCH):
                    seqs += await self._batch(events[start : start + MAX_ATOMIC_BATCH])
                ack.set_result(seqs)
            except Exception as exc:
                if not ack.done():
                    ack.set_exception(exc)
            except asyncio.CancelledError:  # closing: nobody waits for ever
                if not ack.done():
                    ack.set_exception(FailedPrecondition("transport", "closed before storing"))
                raise

    async def _one(self, ev: Event) -> list[int]:
        """Publish one event, retrying with the same id (a retry is stored once)."""
        data = event_to_bytes(ev)
        headers = {"Nats-Msg-Id": ev.id}
        subject = subject_of(ev.type)
        pub = await self._retrying(
            lambda: self._js.publish(subject, data, headers=headers, timeout=ACK_WAIT_S),
            f"event {ev.id} not acknowledged",
        )
        ev.sequence = pub.seq
        self._seen(pub.seq)
        return [pub.seq]

    async def _retrying(self, call: Callable[[], Awaitable[Any]], failure: str) -> Any:
        """`call()` again every 0.2 s while it fails, for RETRY_FOR_S: right after a node of a
        cluster died, the JetStream API answers nothing until a new leader is elected
        (seconds). A publish retried this way keeps its id, so it is stored once."""
        deadline = self._loop.time() + RETRY_FOR_S
        while True:
            try:
                return await call()
            except Exception as exc:
                if self._loop.time() >= deadline or self._closed:
                    raise FailedPrecondition("nats", f"{failure}: {exc!r}") from exc
                await asyncio.sleep(0.2)

    async def _batch(self, events: list[Event]) -> list[int]:
        """One atomic batch: all stored or none, consecutive sequences. A retry after a lost
        commit acknowledgement that finds the ids stored reads their sequences back."""
        import json

        encoded = [(subject_of(ev.type), event_to_bytes(ev), ev.id) for ev in events]
        n = len(encoded)
        deadline = self._loop.time() + RETRY_FOR_S
        while True:
            batch_id = uuid.uuid4().hex
            try:
                reply = None
                for i, (subject, data, ident) in enumerate(encoded, 1):
                    headers = {
                        "Nats-Batch-Id": batch_id,
                        "Nats-Batch-Sequence": str(i),
                        "Nats-Msg-Id": ident,
                    }
                    if i == n:
                        headers["Nats-Batch-Commit"] = "1"
                    if i == 1 or i == n:  # the start and the commit are acknowledged
                        reply = await self._nc.request(
                            subject, data, headers=headers, timeout=ACK_WAIT_S
                        )
                    else:
                        await self._nc.publish(subject, data, headers=headers)
                assert reply is not None
                answer = json.loads(reply.data or b"{}")
            except Exception as exc:
                if self._loop.time() >= deadline or self._closed:
                    raise FailedPrecondition("nats", f"batch not acknowledged: {exc!r}") from exc
                await asyncio.sleep(0.2)
                continue
            error = answer.get("error")
            if error is None:
                last = int(answer["seq"])
                seqs = list(range(last - n + 1, last + 1))
                break
            if error.get("err_code") == _DUPLICATE_IN_BATCH:
                # An earlier attempt was committed (atomic: all of it): each id, published
                # again alone, is acknowledged as a duplicate with its original sequence.
                seqs = []
                for ev in events:
                    seqs += await self._one(ev)
                return seqs
            if self._loop.time() >= deadline:
                raise FailedPrecondition("nats", f"batch refused: {error.get('description')}")
            await asyncio.sleep(0.2)
        for ev, seq in zip(events, seqs, strict=True):
            ev.sequence = seq
        self._seen(seqs[-1])
        return seqs

    def _settled(self, ack: Ack) -> None:
        self._answered += 1
        if not ack.cancelled() and ack.exception() is None:
            stored = max(ack.result(), default=0)
            if stored > self._stored:
                self._stored = stored

    def settle(self, timeout: float = RETRY_FOR_S) -> None:
        """Wait until every event handed to this transport so far is stored (or refused) and,
        once the bus listens (has had a subscription), the stored ones have been delivered to
        this host's bus: read-your-writes on this host (events published by other hosts
        meanwhile may arrive later). FailedPrecondition when that takes longer than `timeout`
        seconds.

        Example: `bus.emit("agent.step", {...}); transport.settle()`: this host's subscribers
        have now been offered the event.
        """
        deadline = time.monotonic() + timeout
        submitted = self._submitted
        while self._answered < submitted or (
            self._sub is not None and self._delivered < self._stored
        ):
            if time.monotonic() >= deadline:
                raise FailedPrecondition(
                    "transport",
                    f"events not stored and delivered back within {timeout} s (stored up to "
                    f"{self._stored}, delivered up to {self._delivered})",
                )
            time.sleep(0.0005)

    def _seen(self, seq: int) -> None:
        if seq > self._last_seq:
            self._last_seq = seq

    # -- consuming ----------------------------------------------------------------------------

    def attach(self, deliver: Deliver) -> None:
        """Where to deliver; the stream is read from the bus's first subscription (`listen`)."""
        if self._deliver is not None:
            raise FailedPrecondition("transport", "is already attached to a bus")
        self._deliver = deliver
        self._delivered = self._last_seq

    def listen(self) -> int:
        """The bus has its first subscription: start reading the stream after its last event
        (asked of the server) and return that sequence, which the bus takes as delivered
        (`replay` serves what came before). Until then the bus reads nothing: a host that
        only publishes does not download the stream. Called with the bus lock held, once."""
        if self._sub is not None:
            return self._delivered
        last: int = self._call(self._listen(), RETRY_FOR_S * 2 + 10)
        return last

    async def _listen(self) -> int:
        info = await self._retrying(
            lambda: self._js.stream_info(self.options.stream), "cannot read the stream's state"
        )
        last: int = max(info.state.last_seq, self._last_seq)
        self._seen(last)
        self._delivered = last
        await self._consume(last + 1)
        return last

    async def _consume(self, start: int) -> None:
        from nats.js import api

        inbox = _Inbox()

        # Naming the stream skips the look-up of the stream by subject.
        self._sub = await self._retrying(
            lambda: self._js.subscribe(
                f"{SUBJECT_PREFIX}.>",
                stream=self.options.stream,
                cb=inbox.put,
                ordered_consumer=True,
                idle_heartbeat=1.0,
                flow_control=True,
                config=api.ConsumerConfig(
                    deliver_policy=api.DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=start
                ),
            ),
            "cannot create the stream consumer",
        )
        self._tasks.append(self._loop.create_task(self._dispatch(inbox)))

    async def _dispatch(self, inbox: _Inbox) -> None:
        """Decode what arrived and hand it to the bus, in order, from a worker thread (the
        bus may make it wait for BACKPRESSURE room; the loop keeps running meanwhile)."""
        assert self._deliver is not None
        deliver = self._deliver
        while True:
            msgs = await inbox.take()
            seqs = _stream_sequences(msgs)
            try:
                events = events_from_bytes([msg.data for msg in msgs], seqs)
            except Exception:  # one is not ours (published by something else): one by one
                events = []
                for msg, seq in zip(msgs, seqs, strict=True):
                    try:
                        events += events_from_bytes([msg.data], [seq])
                    except Exception as exc:
                        log.error("stream message %d is not a hookwire event: %s", seq, exc)
            if events:
                self._seen(events[-1].sequence)
                await self._loop.run_in_executor(self._pool, deliver, events)
            self._delivered = seqs[-1]

    # -- resume -------------------------------------------------------------------------------

    def replay(self, from_sequence: int) -> list[Event]:
        """Stored events from `from_sequence` up to the last stored one (the bus keeps those
        up to its resume position); OutOfRange naming the oldest when the stream's limits
        dropped `from_sequence`."""
        if type(from_sequence) is not int or from_sequence < 1:
            raise InvalidArgument("from_sequence", f"must be an int >= 1, got {from_sequence!r}")
        out: list[Event] = self._call(self._replay(from_sequence), RETRY_FOR_S * 2 + 60)
        return out

    async def _replay(self, from_sequence: int) -> list[Event]:
        from nats.js import api

        # Retried like publishes: right after a node died the API answers nothing for a while.
        info = await self._retrying(
            lambda: self._js.stream_info(self.options.stream), "cannot read the stream's state"
        )
        first, last = info.state.first_seq, info.state.last_seq
        self._first_seq = first
        self._seen(last)
        oldest = first if info.state.messages else last + 1
        if from_sequence < oldest:
            raise _out_of_range(from_sequence, oldest)
        if from_sequence > last + 1:
            raise OutOfRange(
                "from_sequence",
                f"sequence {from_sequence} is beyond the next sequence {last + 1}; the "
                f"oldest available is {oldest}",
            )
        if from_sequence > last:
            return []
        sub = await self._retrying(
            lambda: self._js.pull_subscribe(
                f"{SUBJECT_PREFIX}.>",
                durable=None,
                stream=self.options.stream,
                config=api.ConsumerConfig(
                    deliver_policy=api.DeliverPolicy.BY_START_SEQUENCE,
                    opt_start_seq=from_sequence,
                    ack_policy=api.AckPolicy.NONE,
                    inactive_threshold=30.0,
                ),
            ),
            "cannot create a consumer to replay the stream",
        )
        out: list[Event] = []
        try:
            expected = from_sequence
            while expected <= last:
                msgs = await sub.fetch(min(1000, last - expected + 1), timeout=5)
                for msg in msgs:
                    seq = msg.metadata.sequence.stream
                    if seq != expected:
                        # The consumer starts (or goes on) later when limits dropped events
                        # meanwhile: never a silent gap.
                        raise _out_of_range(expected, seq)
                    out += events_from_bytes([msg.data], [seq])
                    expected += 1
                    if seq >= last:
                        break
        finally:
            await sub.unsubscribe()
        return out

    @property
    def next_sequence(self) -> int:
        return self._last_seq + 1

    @property
    def oldest_retained(self) -> int:
        """The stream's first sequence as last seen (refreshed by every replay)."""
        return self._first_seq

    # -- closing ------------------------------------------------------------------------------

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._call(self._shutdown(), 10)
        except Exception as exc:  # pragma: no cover - best effort at shutdown
            log.warning("closing the NATS connection: %r", exc)
        self._stop_loop()

    async def _shutdown(self) -> None:
        for task in self._tasks:
            task.cancel()
        nc = getattr(self, "_nc", None)
        if nc is not None and not nc.is_closed:
            await nc.close()
        me = asyncio.current_task()
        rest = [t for t in asyncio.all_tasks() if t is not me]
        for task in rest:
            task.cancel()
        await asyncio.gather(*rest, return_exceptions=True)
        while self._outbox is not None and not self._outbox.empty():
            _, ack = self._outbox.get_nowait()
            if not ack.done():
                ack.set_exception(FailedPrecondition("transport", "closed before storing"))

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        if self._thread.is_alive():  # pragma: no cover - a stuck callback; leave it be
            return
        # Finish what is left on the loop here (it is stopped), then close it: nothing of the
        # client is finalized later against a closed loop.
        loop = self._loop
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for task in pending:
            task.cancel()
        with contextlib.suppress(Exception):
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
        self._pool.shutdown(wait=False, cancel_futures=True)


class _Inbox:
    """Messages the stream consumer received, taken by the dispatcher all at once (fewer
    awaits per message than a queue). Full (INBOX_MAX): the consumer's callback waits, so
    nats-py stops reading and flow control holds the stream back."""

    def __init__(self) -> None:
        self._msgs: list[Any] = []
        self._ready = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()

    async def put(self, msg: Any) -> None:
        if len(self._msgs) >= INBOX_MAX:
            self._room.clear()
            await self._room.wait()
        self._msgs.append(msg)
        self._ready.set()

    async def take(self) -> list[Any]:
        await self._ready.wait()
        msgs = self._msgs
        self._msgs = []
        self._ready.clear()
        self._room.set()
        return msgs


def _stream_sequences(msgs: list[Any]) -> list[int]:
    """The stream sequences in JetStream messages' reply subjects (what `msg.metadata` parses
    with much more: a date, a dataclass per message)."""
    from nats.aio.msg import Msg

    v2 = Msg.Ack.StreamSeq
    out = []
    for msg in msgs:
        tokens = msg.reply.split(".")
        out.append(int(tokens[5] if len(tokens) == _V1_TOKENS else tokens[v2]))
    return out


def _out_of_range(asked: int, oldest: int) -> OutOfRange:
    return OutOfRange(
        "from_sequence",
        f"sequence {asked} is no longer retained; the oldest available is {oldest}",
    )


def _settle(ack: Ack, task: asyncio.Task[list[int]]) -> None:
    if ack.done():
        return
    if task.cancelled():
        ack.set_exception(FailedPrecondition("transport", "is closed"))
    elif task.exception() is not None:
        ack.set_exception(task.exception())
    else:
        ack.set_result(task.result())
