"""The executor's side of one worker connection, whatever carries its bytes.

A worker serves hooks to an executor over one connection: a gRPC Connect stream (JS and Python
workers, `stream.StreamConnection`) or the stdin/stdout of a child process (the Lua worker,
`pipe.PipeConnection`). Both speak the same protocol, hookwire.v1 `WorkerMessage` from the
worker and `ExecutorMessage` to it (executor_service.proto), and this class is its executor
side:

- a call (`start_call`, which a transport sends) gets a fresh `call_id`, travels as a
  `HookCall` (the context, the timeout, with virtual time the executor's clock) and waits for
  the `HookCallResult` with the same id (`deliver`), in any order;
- a call abandoned by its caller (deadline, cancellation: `abandon`) is withdrawn when the
  transport never sent it, else the worker gets a `CancelCall`; its late answer is ignored;
- an answer becomes the hook's result or error (`outcome`): a result, the worker's error
  message (`invalid_result` flags a result the worker could not build; `hookwire.Timeout` is a
  hook its own budget stopped) and, with virtual time, the executor's `VirtualClock` advanced
  by the answer's `clock_advance`, so the executor measures the remote hook's duration exactly;
- a peer that goes away, or breaks the protocol, fails every call in flight at once
  (`close`, `fail`: `WorkerGone` naming the reason; the executor classifies them ERROR);
- the events a hook publishes arrive on the same connection, before the call's result
  (`publish_events` makes them runtime Events);
- the hooks a worker registers enter the executor's registry all or nothing, and leave it with
  the connection (`registration`, `unregister`, `hook_names`).

What differs per transport is only how messages leave (`send`; `_withdraw` for a call still
queued) and how a caller waits: `StreamConnection.call` awaits on the server's event loop
with one deadline timer for all calls; `PipeConnection` completes thread-safe futures from its
reader thread, so a caller may also block on one.

Example:
    >>> from hookwire.runtime.clock import SystemClock
    >>> from hookwire.v1 import executor_service_pb2 as es
    >>> class Recorder(WorkerConnection):
    ...     def send(self, message: es.ExecutorMessage) -> None:
    ...         self.sent.append(message)
    >>> conn = Recorder("c1", "w1", "lua", clock=SystemClock())
    >>> conn.sent = []
    >>> import concurrent.futures
    >>> from hookwire.runtime.context import HookContext
    >>> future = concurrent.futures.Future()
    >>> call_id, message = conn.start_call("audit", HookContext("session_start"), 10**8, future)
    >>> (call_id, message.call.hook_name, conn.in_flight)
    (1, 'audit', 1)
    >>> answer = es.HookCallResult(call_id=1, error=es.HookError(message="boom"))
    >>> conn.deliver(answer), conn.in_flight
    (True, 0)
    >>> conn.outcome("audit", future.result())
    Traceback (most recent call last):
    ...
    hookwire.runtime.adapter.HookFailed: boom
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import itertools
from collections.abc import Callable, Generator, Iterable, Iterator
from typing import Protocol

from hookwire.runtime.adapter import HookAdapter, HookFailed, HookTimedOut, InvalidResult
from hookwire.runtime.bus.event import Event
from hookwire.runtime.clock import Clock, VirtualClock
from hookwire.runtime.context import HookContext
from hookwire.runtime.errors import AlreadyExists, FailedPrecondition, HookwireError, NotFound
from hookwire.runtime.registry import HookSpec, Registry
from hookwire.runtime.results import HookResult
from hookwire.runtime.wire.context import fill_context
from hookwire.runtime.wire.event import event_from_proto
from hookwire.runtime.wire.registration import spec_from_proto
from hookwire.runtime.wire.results import result_from_proto
from hookwire.v1 import event_pb2
from hookwire.v1 import executor_service_pb2 as es

__all__ = [
    "TIMEOUT_ERROR_TYPE",
    "Waiter",
    "WorkerConnection",
    "WorkerGone",
    "publish_events",
]

_NS = 1_000_000_000
#: HookError.type of a hook its worker's own budget stopped (the Lua worker's instruction count).
TIMEOUT_ERROR_TYPE = "hookwire.Timeout"
_INVALID_STATE = (asyncio.InvalidStateError, concurrent.futures.InvalidStateError)
#: Hooks a registration handles between two yields (see `WorkerConnection.registration`).
REGISTER_SLICE = 256


class WorkerGone(HookFailed):
    """The worker serving a hook went away (or is waiting to restart) before it answered."""


class Waiter(Protocol):
    """Where a call's answer goes: an asyncio.Future (a caller on the event loop) or a
    concurrent.futures.Future (a caller that may block a thread)."""

    def done(self) -> bool: ...

    def set_result(self, result: es.HookCallResult, /) -> None: ...

    def set_exception(self, exception: BaseException, /) -> None: ...


class WorkerConnection:
    """The executor's side of one worker connection (see the module docstring); subclasses
    are the transports and define `send`."""

    def __init__(
        self,
        connection_id: str,
        worker_id: str,
        language: str,
        *,
        clock: Clock,
        virtual: bool = False,
        call_ids: Iterator[int] | None = None,
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
        #: Names of the hooks this connection registered (its host unregisters them at close).
        self.hook_names: set[str] = set()
        self._clock = clock
        self._pending: dict[int, Waiter] = {}
        # Call ids; a host that moves calls between connections (a restarted process) shares
        # one counter between them so that an id stays unique.
        self._ids = call_ids if call_ids is not None else itertools.count(1)
        self._closed_reason: str | None = None
        #: Why the connection was failed because of the worker: (gRPC code name, text).
        self.failure: tuple[str, str] | None = None
        #: Called with the reason when `fail()` closes the connection (the host unregisters the
        #: worker's hooks at once: the transport may not notice the end until later).
        self.on_failure: Callable[[str], None] | None = None

    # -- the transport -----------------------------------------------------------------------

    def send(self, message: es.ExecutorMessage) -> None:
        """Hand `message` to the transport (never blocks on the peer)."""
        raise NotImplementedError

    def _withdraw(self, call_id: int) -> bool:
        """Take back call `call_id` if the transport has not sent it yet (then the worker
        needs no CancelCall); False when it was sent."""
        return False

    def _closed(self) -> None:
        """The connection closed: the transport drops what it still holds for the worker."""

    # -- state -------------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._closed_reason is not None

    @property
    def closed_reason(self) -> str | None:
        """Why the connection closed, or None while it is open."""
        return self._closed_reason

    @property
    def in_flight(self) -> int:
        """Calls sent and not yet answered, abandoned or failed."""
        return len(self._pending)

    # -- calls -------------------------------------------------------------------------------

    def start_call(
        self, hook_name: str, ctx: HookContext, timeout_ns: int, waiter: Waiter
    ) -> tuple[int, es.ExecutorMessage]:
        """For a transport: give a call its id and its message and await its answer in
        `waiter` (the transport sends the message). Raises WorkerGone when the connection is
        closed."""
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
        self._pending[call_id] = waiter
        return call_id, message

    def deliver(self, result: es.HookCallResult) -> bool:
        """Complete the call `result.call_id`; False when no such call is in flight (late
        answer to an abandoned call, or a worker bug): the result is then ignored."""
        waiter = self._pending.pop(result.call_id, None)
        if waiter is None or waiter.done():
            return False
        try:
            waiter.set_result(result)
        except _INVALID_STATE:  # its caller gave up on it meanwhile (another thread)
            return False
        return True

    def take_results(self, message: es.WorkerMessage) -> bool:
        """Deliver the answers `message` carries (`result`, `result_batch`: each in order, as
        a lone result would be); False when it is another message, for the host to handle."""
        kind = message.WhichOneof("message")
        if kind == "result":
            self.deliver(message.result)
        elif kind == "result_batch":
            for result in message.result_batch.results:
                self.deliver(result)
        else:
            return False
        return True

    def abandon(self, call_id: int) -> bool:
        """The caller gave up on `call_id` (deadline, cancellation): withdraw the call, or
        tell the worker to stop it (CancelCall). False when it was no longer in flight."""
        if self._pending.pop(call_id, None) is None:
            return False
        if not self._withdraw(call_id):
            self.send(es.ExecutorMessage(cancel=es.CancelCall(call_id=call_id)))
        return True

    def close(self, reason: str) -> None:
        """Fail every call in flight with WorkerGone(reason). Idempotent."""
        if self._closed_reason is not None:
            return
        self._closed_reason = reason
        pending, self._pending = self._pending, {}
        self._closed()
        gone = WorkerGone(reason)
        for waiter in pending.values():
            if not waiter.done():
                with contextlib.suppress(*_INVALID_STATE):
                    waiter.set_exception(gone)

    def fail(self, code: str, reason: str) -> None:
        """Close the connection because of the worker (a stream ends with status `code`)."""
        if self._closed_reason is None:
            self.failure = (code, reason)
            self.close(reason)
            if self.on_failure is not None:
                self.on_failure(reason)

    # -- registration ------------------------------------------------------------------------

    def registration(
        self,
        registry: Registry | None,
        request: es.RegisterHooks,
        adapter_for: Callable[[HookSpec], HookAdapter],
        *,
        max_hooks: int | None = None,
        kept: Iterable[str] = (),
    ) -> Generator[None, None, tuple[es.RegisterHooksAck, list[HookSpec]]]:
        """Register the hooks of `request` in `registry` (each with `adapter_for(spec)`; with
        no registry, only read them), all or nothing: a request that fails leaves none of its
        hooks registered, and its ack names the first refusal (`hooks[i].name: ...`, with the
        error's code). Returns the ack and the request's specs.

        A generator: it yields between slices of `REGISTER_SLICE` hooks, so that a host on an
        event loop lets the loop run there (registration is linear in the hooks); a
        connection closed meanwhile fails the registration. Hooks named in `kept` are already
        registered (by an earlier run of the same worker process) and stay as they are. At
        most `max_hooks` hooks per connection (RESOURCE_EXHAUSTED).
        """
        ack = es.RegisterHooksAck(request_id=request.request_id)
        specs: list[HookSpec] = []
        done: list[str] = []
        try:
            hooks = request.hooks
            total = len(self.hook_names) + len(hooks)
            if max_hooks is not None and total > max_hooks:
                raise HookwireError(
                    "hooks",
                    f"this worker would have {total} hooks; at most {max_hooks} per "
                    "worker connection",
                    code="RESOURCE_EXHAUSTED",
                )
            seen: set[str] = set()
            for i, reg in enumerate(hooks):
                if i and i % REGISTER_SLICE == 0:
                    yield from self._between_slices()
                spec = spec_from_proto(reg, f"hooks[{i}]", default_language=self.language)
                if spec.name in seen:
                    raise AlreadyExists(
                        f"hooks[{i}].name", f"hook {spec.name!r} appears twice in this request"
                    )
                seen.add(spec.name)
                specs.append(spec)
            keep = set(kept)
            for i, spec in enumerate(specs):
                if i and i % REGISTER_SLICE == 0:
                    yield from self._between_slices()
                if registry is None or spec.name in keep:
                    continue
                try:
                    registry.register_spec(spec, adapter_for(spec))
                except HookwireError as exc:
                    raise type(exc)(f"hooks[{i}].{exc.field or 'name'}", exc.reason) from None
                done.append(spec.name)
                self.hook_names.add(spec.name)
        except HookwireError as exc:
            for name in done:
                assert registry is not None  # nothing is done without one
                with contextlib.suppress(NotFound):  # gone already if the worker left
                    registry.unregister(name)
                self.hook_names.discard(name)
            ack.error = str(exc)
            ack.code = exc.code
        return ack, specs

    def _between_slices(self) -> Generator[None, None, None]:
        yield
        if self._closed_reason is not None:
            raise FailedPrecondition("hooks", "the worker disconnected during registration")

    def unregister(self, registry: Registry, request: es.UnregisterHooks) -> es.RegisterHooksAck:
        """Remove hooks this connection registered (all named, or none: NotFound)."""
        ack = es.RegisterHooksAck(request_id=request.request_id)
        for i, name in enumerate(request.names):
            if name not in self.hook_names:
                err = NotFound(f"names[{i}]", f"this worker has no hook named {name!r}")
                ack.error, ack.code = str(err), err.code
                return ack
        for name in request.names:
            registry.unregister(name)
            self.hook_names.discard(name)
        return ack

    def unregister_all(self, registry: Registry) -> None:
        """Remove every hook this connection registered (the worker went away)."""
        for name in sorted(self.hook_names):
            with contextlib.suppress(NotFound):
                registry.unregister(name)
        self.hook_names.clear()

    # -- answers -----------------------------------------------------------------------------

    def outcome(self, hook_name: str, answer: es.HookCallResult) -> HookResult:
        """The hook's result from the worker's answer, or the error it stands for."""
        if self.virtual and answer.HasField("clock_advance"):
            advance = answer.clock_advance.seconds * _NS + answer.clock_advance.nanos
            if advance > 0:
                clock = self._clock
                assert isinstance(clock, VirtualClock)  # checked in __init__
                clock.advance(advance)
        kind = answer.WhichOneof("outcome")
        if kind == "error":
            err = answer.error
            if err.type == TIMEOUT_ERROR_TYPE:
                raise HookTimedOut("timeout")
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


def publish_events(pbs: Iterable[event_pb2.UniversalEvent], language: str) -> list[Event]:
    """The runtime Events of a worker's `publish` frame, stamped with the worker's language
    when the event names none. Raises the HookwireError of the first invalid event, its field
    prefixed with `publish.events[i]`."""
    events: list[Event] = []
    for i, pb in enumerate(pbs):
        try:
            event = event_from_proto(pb)
        except HookwireError as exc:
            where = f"publish.events[{i}]" + (f".{exc.field}" if exc.field else "")
            raise type(exc)(where, exc.reason) from None
        events.append(event if event.source_language else event.replace(source_language=language))
    return events
