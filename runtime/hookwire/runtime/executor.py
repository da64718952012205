"""The executor: runs a point's precomputed chain (docs/semantics.md section 3).

The per-hook step is `_run_chain`, the one chain loop: it reads the clock once per hook
boundary (n + 1 reads for n hooks: the end of one hook is the start of the next), asks each
hook's breaker for permission, calls the hook, classifies the outcome and records it in the
breaker (`_settle`), and applies the result. `execute` runs it directly; `aexecute` runs it
too, awaiting only the calls it stops at (an adapter's `acall`, a coroutine hook that
suspends) and resuming it after each; composites run it on a chain of one (`invoke`,
`ainvoke`). Policies are objects it calls (breakers, adapters, composites); the common case (a
plain Python hook returning None within its timeout) takes the shortest path, compiled for
synchronous chains (hookwire.runtime.fast_path) and handing over to `_run_chain` at the first
call that differs. Monitoring, event emission, tracing and metrics are observers told about
each finished execution (hookwire.runtime.observer), not branches of the loop.

Example:
    >>> from hookwire.runtime.clock import VirtualClock
    >>> from hookwire.runtime.context import HookContext
    >>> from hookwire.runtime.registry import Registry
    >>> from hookwire.runtime.results import Modified, Cancel
    >>> reg = Registry()
    >>> _ = reg.register(lambda ctx: Modified({"n": 1}), name="a", point="session_start")
    >>> _ = reg.register(lambda ctx: Cancel("no"), name="b", point="session_start")
    >>> ex = Executor(reg, clock=VirtualClock())
    >>> run = ex.execute("session_start", HookContext("session_start", {"n": 0}))
    >>> run.result, run.context.data, [t.outcome.value for t in run.trace]
    (Cancel(reason='no'), {'n': 1}, ['MODIFIED', 'CANCEL'])
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from types import CoroutineType
from typing import Any, NamedTuple

from hookwire.runtime.adapter import (
    HookFailed,
    HookTimedOut,
    InvalidResult,
    describe_exception,
    resume_coroutine,
    to_result,
)
from hookwire.runtime.breaker import BreakerState, BreakerStatus, CircuitBreaker
from hookwire.runtime.clock import Clock, SystemClock
from hookwire.runtime.context import HookContext
from hookwire.runtime.errors import AsyncHookNotAllowed, InvalidArgument
from hookwire.runtime.events import BreakerEvents, EventSink, HookEvents, JsonPayloads
from hookwire.runtime.fast_path import compile_fast_path
from hookwire.runtime.honoured import not_honoured
from hookwire.runtime.json_value import merge_patch
from hookwire.runtime.monitor import PerformanceMonitor
from hookwire.runtime.observer import (
    REFUSED,
    CallWrapper,
    ExecutionObserver,
    ExecutionRecords,
)
from hookwire.runtime.registry import ChainEntry, Registry
from hookwire.runtime.results import (
    CONTINUE,
    Cancel,
    HookResult,
    Modified,
    Outcome,
    ResultKind,
    Skipped,
)
from hookwire.runtime.trace import Execution, RawRecord
from hookwire.runtime.trace import make_execution as _execution

__all__ = ["Executor", "Invocation"]

_log = logging.getLogger("hookwire.runtime.executor")

_CLOSED = BreakerState.CLOSED
_O_CONTINUE = Outcome.CONTINUE
_O_SKIPPED = Outcome.SKIPPED
_O_ERROR = Outcome.ERROR
_O_TIMEOUT = Outcome.TIMEOUT
_K_CONTINUE = ResultKind.CONTINUE
_K_SKIPPED = ResultKind.SKIPPED
_K_MODIFIED = ResultKind.MODIFIED
CIRCUIT_OPEN = "circuit_open"
_REFUSED = REFUSED
INVALID_RESULT = "invalid_result"
TIMEOUT = "timeout"


class _Failure:
    """A failed call's outcome (ERROR / TIMEOUT) and reason, returned in place of a value."""

    __slots__ = ("outcome", "reason")

    def __init__(self, outcome: Outcome, reason: str) -> None:
        self.outcome = outcome
        self.reason = reason


_TIMED_OUT = _Failure(_O_TIMEOUT, TIMEOUT)
_INVALID = _Failure(_O_ERROR, INVALID_RESULT)


@dataclass(frozen=True, slots=True)
class Invocation:
    """One hook call through steps 1-4 of docs/semantics.md section 3 (used by composites).

    `result` is the hook's valid result, None when it failed or was not called.
    """

    entry: ChainEntry
    outcome: Outcome
    reason: str
    result: HookResult | None
    duration_ns: int
    slow: bool
    breaker_state: BreakerState
    called: bool = True

    @property
    def failed(self) -> bool:
        return self.outcome is _O_ERROR or self.outcome is _O_TIMEOUT

    def failure_result(self) -> Cancel:
        """The CANCEL a FAIL_CLOSED hook's failure stops a chain with."""
        return Cancel(failure_reason(self.entry.name, self.outcome, self.reason))


def failure_reason(name: str, outcome: Outcome, reason: str) -> str:
    """`hook <name> failed: <error|timeout>` (docs/semantics.md section 3, FAIL_CLOSED)."""
    return f"hook {name} failed: {TIMEOUT if outcome is _O_TIMEOUT else reason}"


def _classify(value: Any, dur: int, e: ChainEntry) -> tuple[Outcome, str, HookResult | None]:
    """Outcome, reason and valid result (None: failed) of a finished call; a kind the point's
    callers do not honour is an ERROR (hookwire.runtime.honoured)."""
    if dur > e.timeout_ns:
        # Late: whatever it returned (or raised) is discarded.
        if inspect.iscoroutine(value):
            value.close()
        return _O_TIMEOUT, TIMEOUT, None
    if value is None:
        return _O_CONTINUE, "", CONTINUE
    if type(value) is _Failure:
        return value.outcome, value.reason, None
    try:
        result = to_result(value)  # the one reading of a returned value (adapters use it too)
    except InvalidResult:
        return _O_ERROR, INVALID_RESULT, None
    refused = not_honoured(result.kind, e.honours, e.point)
    if refused is not None:
        return _O_ERROR, refused, None
    return result.outcome, result.reason if type(result) is Skipped else "", result


def _settle(
    e: ChainEntry, br: CircuitBreaker, value: Any, dur: int, end: int
) -> tuple[tuple[Outcome, str, int, bool, BreakerState], HookResult | None]:
    """Steps 3-4 of a call (docs/semantics.md section 3): classify what it returned, record it in
    the hook's breaker, and give its raw trace record and valid result (None: it failed).

    Called by `_run_chain` (which inlines only the plain CONTINUE-in-time case: it records a
    success and nothing else).
    """
    slow = dur >= e.slow_ns
    outcome, reason, result = _classify(value, dur, e)
    br.record(result is None, slow, end)
    return (outcome, reason, dur, slow, br.state), result


def _adapter_failure(exc: Exception) -> _Failure:
    """What an adapter's exception means for the trace (docs/semantics.md section 3)."""
    if isinstance(exc, HookFailed):
        return _Failure(_O_ERROR, str(exc) or "HookFailed")
    if isinstance(exc, InvalidResult):
        return _INVALID
    if isinstance(exc, HookTimedOut):
        return _TIMED_OUT
    return _Failure(_O_ERROR, describe_exception(exc))


def _call_adapter(e: ChainEntry, ctx: HookContext) -> Any:
    """Call through the adapter; a failure comes back as a _Failure."""
    try:
        return e.adapter.call(ctx, e.timeout_ns)
    except AsyncHookNotAllowed:
        raise
    except Exception as exc:
        return _adapter_failure(exc)


async def _acall_adapter(e: ChainEntry, ctx: HookContext) -> Any:
    """Await the adapter's `acall`; a failure comes back as a _Failure."""
    try:
        return await e.adapter.acall(ctx, e.timeout_ns)
    except Exception as exc:
        return _adapter_failure(exc)


# One chain step as the loop unpacks it: entry, a callable taking the context (the hook's own
# function, or a partial calling through its adapter), breaker, the longest duration that is
# neither slow nor late, and how an asynchronous execution calls it (_SYNC, _CORO, _ADAPTER).
_Step = tuple[ChainEntry, Any, CircuitBreaker, int, int]
_SYNC = 0
_CORO = 1
_ADAPTER = 2


_NOT_CALLED: Any = object()
# One-step plans an executor keeps for `invoke` before it starts over.
_MAX_SINGLES = 4096


class _Await(NamedTuple):
    """Where `_run_chain` stopped, in an asynchronous execution, for a call to be awaited:
    step number `step` (its breaker already asked) started at `now`; `coro` is a coroutine hook that
    suspended, having yielded `yielded` (None: await the step's adapter); `raw`: the records so
    far."""

    step: int
    cur: HookContext
    modified: bool
    now: int
    coro: Any
    yielded: Any
    raw: list[RawRecord]


def _index(steps: tuple[_Step, ...], step: _Step) -> int:
    """Where `step` stands in `steps` (by identity: it is one of them)."""
    return next(i for i, s in enumerate(steps) if s is step)


def _run_chain(
    steps: tuple[_Step, ...],
    entries: tuple[ChainEntry, ...],
    start: int,
    cur: HookContext,
    raw: list[RawRecord],
    now: int,
    clock: Any,
    pending: Any = _NOT_CALLED,
    pending_end: int = 0,
    modified: bool = False,
    awaiting: bool = False,
    apply: bool = True,
) -> Any:
    """The per-hook step (docs/semantics.md section 3), for each step from `start`: ask the
    breaker, call, settle (`_settle`: classify and record) and apply the result, appending raw
    records. The one definition: `execute` (and the compiled fast path, which hands over here
    at the first call that is not a plain CONTINUE in time), `aexecute` and the composites'
    `invoke`/`ainvoke` all run it.

    `pending` / `pending_end`: step `start` was already called and returned `pending` at clock
    `pending_end` (by the fast path, or awaited after an `_Await`); it is settled and applied
    here. `modified`: an earlier step modified `cur`. `awaiting`: the execution is
    asynchronous, so a step that must be awaited (an adapter's `acall`, a coroutine hook that
    suspends) returns an `_Await` to resume from. `apply=False` (a composite's one-step chain):
    stop after the first settled call and return its valid result (None: failed) instead of
    applying it. Otherwise returns the Execution (`entries`: the chain's entries, for its trace).
    """
    append = raw.append
    closed = _CLOSED
    called = pending is not _NOT_CALLED  # step `start` was called already
    final: HookResult | None = None
    for step in steps[start:] if start else steps:
        e, call, br, limit, mode = step
        if called:
            value, end, called = pending, pending_end, False
        else:
            if br.state is not closed and not br.acquire(now):
                append((_O_SKIPPED, _REFUSED, 0, False, br.state))
                continue
            if mode and awaiting:
                if mode == _ADAPTER:
                    return _Await(_index(steps, step), cur, modified, now, None, None, raw)
                try:
                    value = call(cur)
                    if value.__class__ is CoroutineType:
                        # Run the first step inline; only a coroutine that suspends is awaited
                        # (and pays a timer).
                        coro = value
                        try:
                            value = coro.send(None)
                        except StopIteration as stop:
                            value = stop.value
                        else:
                            return _Await(_index(steps, step), cur, modified, now, coro, value, raw)
                except Exception as exc:
                    value = _Failure(_O_ERROR, describe_exception(exc))
            else:
                try:
                    value = call(cur)
                except AsyncHookNotAllowed:
                    raise
                except Exception as exc:
                    value = _Failure(_O_ERROR, describe_exception(exc))
            end = clock()
        dur = end - now
        now = end
        if (value is None or value is CONTINUE) and dur <= limit:
            # The common case: CONTINUE (None, or the CONTINUE adapters return), in time, not
            # slow (a quiet breaker needs no record).
            if not br.quiet:
                br.record_success(end)
            append(dur if br.state is closed else (_O_CONTINUE, "", dur, False, br.state))
            continue
        record, result = _settle(e, br, value, dur, end)
        append(record)
        if not apply:
            return result
        if result is None:
            if e.fail_closed:
                final = Cancel(failure_reason(e.name, record[0], record[1]))
                break
            continue
        kind = result.kind
        if kind is _K_MODIFIED:
            cur = cur.with_data(merge_patch(cur.data, result.data))  # type: ignore[union-attr]
            modified = True
        elif kind is not _K_CONTINUE and kind is not _K_SKIPPED:
            final = result
            break
    if final is None:
        final = Modified(cur.data) if modified else CONTINUE
    if not apply:
        return final
    return _execution(final, cur, raw, entries)


def _refuse_async(name: str, ctx: HookContext) -> None:
    raise AsyncHookNotAllowed(name)


def _invocation(e: ChainEntry, result: HookResult | None, record: RawRecord) -> Invocation:
    """The Invocation of a one-step chain from its raw record and settled result."""
    if isinstance(record, int):  # CONTINUE in time, breaker CLOSED
        return Invocation(e, _O_CONTINUE, "", CONTINUE, record, False, _CLOSED)
    outcome, reason, dur, slow, state = record
    if reason is _REFUSED:
        return Invocation(e, _O_SKIPPED, CIRCUIT_OPEN, None, 0, False, state, False)
    return Invocation(e, outcome, reason, result, dur, slow, state)


def _bad_context(ctx: Any) -> None:
    raise InvalidArgument("context", f"must be a HookContext, got {type(ctx).__name__}")


def _compile_fast_path(
    steps: tuple[_Step, ...],
    entries: tuple[ChainEntry, ...],
    clock: Any,
    records: ExecutionRecords | None = None,
    stale: tuple[Any, int, Callable[[HookContext], Execution]] | None = None,
    begin: tuple[str, Callable[[str, HookContext], Any], Callable[..., Execution]] | None = None,
) -> Callable[[HookContext], Execution] | None:
    """The compiled fast path of a synchronous chain (hookwire.runtime.fast_path), handing
    any call that is not a plain CONTINUE in time to `_run_chain` from that step on.

    With `records`, every execution appends its record (as `Executor._finished` does), timed
    from the chain's first clock reading to its last (the loop's end, when it bailed)."""
    if any(s[4] != _SYNC for s in steps):
        return None

    def bail(
        ctx: HookContext,
        raw: list[RawRecord],
        i: int,
        now: int,
        value: Any,
        end: int,
        started: int = 0,
    ) -> Execution:
        ex: Execution = _run_chain(steps, entries, i, ctx, raw, now, clock, value, end)
        if records is not None:
            items = records.items
            items.append((*ex.raw_records(), started, clock()))
            if len(items) >= records.limit:
                records.drain()
        return ex

    return compile_fast_path(
        [(call, br, limit) for _e, call, br, limit, _mode in steps],
        entries,
        clock,
        bail=bail,
        records=records,
        stale=stale,
        begin=begin,
        **_CHAIN_PARTS,
    )


# What every compiled chain shares with the loop: how it refuses a context that is not a
# HookContext, wraps a hook's exception, and marks a step not called yet.
_CHAIN_PARTS: dict[str, Any] = {
    "bad_context": _bad_context,
    "failure": _Failure,
    "not_called": _NOT_CALLED,
}


class _GuardedSink:
    """The executor's view of the user's EventSink: an exception from `emit` is counted,
    logged once (the first time) and dropped, so a broken sink never breaks hook execution."""

    __slots__ = ("_batch", "errors", "sink")

    def __init__(self, sink: EventSink) -> None:
        self.sink = sink
        self.errors = 0
        # Looked up once: whether the sink takes an execution's events in one call.
        self._batch = getattr(sink, "emit_batch", None)

    def emit_batch(self, type: str, payloads: list[dict[str, Any]] | JsonPayloads) -> None:
        """An execution's events in one call when the sink takes them so (`emit_batch`)."""
        if self._batch is None:
            for payload in payloads:
                self.emit(type, payload)
            return
        try:
            self._batch(type, payloads)
        except Exception:
            self._dropped(type)

    def emit(self, type: str, payload: dict[str, Any]) -> None:
        try:
            self.sink.emit(type, payload)
        except Exception:
            self._dropped(type)

    def _dropped(self, type: str) -> None:
        self.errors += 1
        if self.errors == 1:
            _log.exception(
                "event sink %r failed to emit %s; the event is dropped (further failures "
                "are only counted in Executor.sink_errors)",
                self.sink,
                type,
            )


def mode_of(e: ChainEntry) -> int:
    """How the async loop calls an adapter hook: awaited (_ADAPTER) or directly (_SYNC)."""
    return _ADAPTER if e.is_async or e.lazy else _SYNC


class _Fanout:
    """Breaker transitions told to several listeners (the event sink, metrics observers)."""

    __slots__ = ("listeners",)

    def __init__(self, listeners: list[Any]) -> None:
        self.listeners = listeners

    def breaker_transition(self, *args: Any) -> None:
        for listener in self.listeners:
            listener.breaker_transition(*args)


class _Plan:
    """A chain as the executor runs it, plus the names of its coroutine hooks. With call
    wrappers, `bare` is the same chain without them (what an execution no wrapper acts
    around runs); otherwise it is the plan itself."""

    __slots__ = ("acalls", "async_names", "bare", "entries", "fast", "steps")

    def __init__(
        self,
        entries: tuple[ChainEntry, ...],
        clock: Any,
        wrappers: tuple[CallWrapper, ...] = (),
        *,
        compile: bool = True,
        sync: bool = False,
    ) -> None:
        """`sync`: a plan only run synchronously (a composite child's `invoke`), where a
        coroutine hook is refused when called (AsyncHookNotAllowed), after its breaker's
        permission, instead of being rejected with the chain before anything runs."""
        self.entries = entries
        self.async_names = tuple(e.name for e in entries if e.is_async)
        # How aexecute calls the hooks it awaits through their adapter (by name).
        self.acalls: dict[str, Callable[[HookContext], Any]] = {}
        steps = []
        call: Callable[[HookContext], Any]
        for e in entries:
            if e.fn is not None and e.is_async and sync:
                call, mode = partial(_refuse_async, e.name), _SYNC
            elif e.fn is not None:
                call, mode = e.fn, _CORO if e.is_async else _SYNC
            else:
                call = partial(_call_adapter, e)
                mode = mode_of(e)
                if mode == _ADAPTER:
                    acall: Callable[[HookContext], Any] = partial(_acall_adapter, e)
                    for w in wrappers:
                        acall = w.wrap(e, acall)
                    self.acalls[e.name] = acall
            for w in wrappers:
                call = w.wrap(e, call)
            steps.append((e, call, e.breaker, min(e.slow_ns - 1, e.timeout_ns), mode))
        self.steps: tuple[_Step, ...] = tuple(steps)
        self.fast = _compile_fast_path(self.steps, entries, clock) if compile else None
        self.bare: _Plan = _Plan(entries, clock, compile=compile, sync=sync) if wrappers else self


class Executor:
    """Executes points over a registry's chains, with breakers, timeouts and a trace.

    `execute()` runs synchronous hooks and rejects a chain holding a coroutine hook with
    AsyncHookNotAllowed (naming it) before calling anything; `aexecute()` runs both kinds.
    """

    def __init__(
        self,
        registry: Registry,
        *,
        clock: Clock | None = None,
        monitor: PerformanceMonitor | None = None,
        events: EventSink | None = None,
        observers: Sequence[ExecutionObserver | CallWrapper] = (),
    ) -> None:
        if not isinstance(registry, Registry):
            raise InvalidArgument("registry", f"must be a Registry, got {type(registry).__name__}")
        self.registry = registry
        if clock is None:
            clock = registry.clock if registry.clock is not None else SystemClock()
        self.clock: Clock = clock
        self.monitor = monitor
        self.events = events
        self._sink = _GuardedSink(events) if events is not None else None
        for o in observers:
            if not isinstance(o, ExecutionObserver | CallWrapper):
                raise InvalidArgument(
                    "observers",
                    f"{o!r} has neither executed() (an ExecutionObserver) nor begin(), wrap(), "
                    "end() and abort() (a CallWrapper)",
                )
        watching = [o for o in observers if getattr(o, "active", True)]
        # Wrappers act around each execution (protocol v2: hookwire.runtime.observer); plain
        # observers are told each finished execution.
        self._wrappers: tuple[CallWrapper, ...] = tuple(
            o for o in watching if isinstance(o, CallWrapper)
        )
        plain = [o for o in watching if not isinstance(o, CallWrapper)]
        # Observers that consume records in bulk (`add_source(records)`, as the monitor does)
        # are not told each execution.
        bulk: list[Any] = [o for o in (monitor, *plain) if hasattr(o, "add_source")]
        self._executed = tuple(o.executed for o in plain if not hasattr(o, "add_source"))
        # The monitor, bulk observers and the event sink consume this executor's records in
        # bulk: one record per execution, appended inline (ExecutionRecords); the sink may let
        # them be handed over later (an EventBus: `add_deferred_source`), any other sink gets
        # each execution right after it.
        records: ExecutionRecords | None = None
        if bulk or self._sink is not None:
            records = ExecutionRecords()
            for consumer in bulk:
                consumer.add_source(records)
            if self._sink is not None:
                records.add_consumer(HookEvents(self._sink, clock).take)
                offer = getattr(events, "add_deferred_source", None)
                if offer is not None:
                    offer(records)
                else:
                    records.set_deferral(False)
        self._records = records
        self._observers: tuple[Any, ...] = tuple(
            o for o in (monitor, events) if o is not None
        ) + tuple(watching)
        listeners: list[Any] = [BreakerEvents(self._sink)] if self._sink is not None else []
        listeners.extend(o for o in watching if hasattr(o, "breaker_transition"))
        # Who hears breaker transitions: this executor's, also handed to composites (attach).
        self._listener: Any = (
            None if not listeners else listeners[0] if len(listeners) == 1 else _Fanout(listeners)
        )
        registry.bind(clock, self._listener)
        self._now = clock.monotonic_ns
        self._real_time = isinstance(clock, SystemClock)
        # Plans and compiled fast paths by point. An executor without call wrappers shares the
        # registry's (cleared in place on every registry change); one with wrappers builds its
        # own, dropped when the registry's version moves on.
        self._own_plans = bool(self._wrappers)
        self._plans_version = registry.version
        self._plans: dict[str, _Plan] = {} if self._own_plans else registry.plans
        # Only an executor without observers uses the compiled path straight from `execute`.
        self._fast_paths: dict[str, Callable[[HookContext], Execution]] = (
            registry.fast_paths if not self._observers else {}
        )
        # One-step plans of composite children (`invoke`), by (id(entry), sync).
        self._singles: dict[tuple[int, bool], tuple[ChainEntry, _Plan]] = {}

    @property
    def sink_errors(self) -> int:
        """How many times the event sink's `emit` raised (each event dropped, logged once).

        Example:
            >>> class Broken:
            ...     def emit(self, type, payload): raise RuntimeError("sink down")
            >>> from hookwire.runtime.context import HookContext
            >>> reg = Registry()
            >>> _ = reg.register(lambda ctx: None, name="a", point="session_start")
            >>> ex = Executor(reg, events=Broken())
            >>> ex.execute("session_start", HookContext("session_start")).result
            Continue()
            >>> ex.sink_errors
            1
        """
        if self._records is not None:
            self._records.drain()  # deferred events are emitted (or fail) first
        return self._sink.errors if self._sink is not None else 0

    # -- chains ----------------------------------------------------------------------------------

    def _plan(self, point: str) -> _Plan:
        reg = self.registry
        entries = reg.chain(point)
        for e in entries:
            attach = getattr(e.adapter, "attach", None)
            if attach is not None:
                attach(self.clock, self._listener)
        plan = self._plans[point] = _Plan(entries, self._now, self._wrappers)
        return plan

    def _checked(self, point: str, ctx: HookContext, sync: bool) -> _Plan:
        if self._own_plans and self._plans_version != self.registry.version:
            self._plans.clear()
            self._plans_version = self.registry.version
        plan = self._plans.get(point)
        if plan is None:
            plan = self._plan(point)
        if type(ctx) is not HookContext:
            raise InvalidArgument("context", f"must be a HookContext, got {type(ctx).__name__}")
        if sync and plan.async_names:
            raise AsyncHookNotAllowed(plan.async_names[0])
        return plan

    # -- synchronous -----------------------------------------------------------------------------

    def execute(self, point: str, ctx: HookContext) -> Execution:
        """Run the hooks of `point` in order on `ctx` (which is not mutated).

        Raises InvalidArgument for an unknown point or a non-HookContext, and
        AsyncHookNotAllowed if the chain holds a coroutine hook.
        """
        fast = self._fast_paths.get(point)
        if fast is not None:
            return fast(ctx)
        plan = self._plans.get(point)
        if plan is None or plan.async_names or type(ctx) is not HookContext or self._own_plans:
            plan = self._checked(point, ctx, sync=True)
        if not self._observers:
            if plan.fast is not None:
                self._fast_paths[point] = plan.fast
                return plan.fast(ctx)
            return self._run(plan, ctx)
        if plan.fast is not None:
            observed = self._fast_paths[point] = self._observed(point, plan)
            return observed(ctx)
        started = self._now()
        tokens = self._open(point, ctx)
        try:
            ex = self._run(plan if tokens is not None else plan.bare, ctx)
        except BaseException as exc:
            self._abort(tokens, exc)
            raise
        self._finished(point, ex, started, self._now(), tokens, self._records)
        return ex

    def _observed(self, point: str, plan: _Plan) -> Callable[[HookContext], Execution]:
        """`execute` of `point` for an executor with observers while `plan` is its plan of
        `point` for the registry's version (afterwards it hands over to `execute`, which makes
        the next one): what `_open`, `_run` and `_finished` do, on compiled chains.

        The records for the monitor and the event sink are appended by the compiled chain
        itself, timed by its own clock readings; so an executor with neither call wrappers
        nor plain observers runs the compiled chain and nothing else. One call wrapper (a
        tracer) is asked by the compiled chain without wrappers, which hands over to `acted`
        (the wrapped chain, then `end`) when it acts; several are asked in turn (`_open`).
        Plain observers need the executor's clock readings around the chain, and then the
        record uses them too.
        """
        registry = self.registry
        version = registry.version
        paths = self._fast_paths
        tell = self._executed
        # Who appends the record: the compiled chain, unless plain observers are told.
        inline = self._records if not tell else None

        def restart(ctx: HookContext) -> Execution:
            paths.pop(point, None)
            return self.execute(point, ctx)

        now = self._now
        stale = (registry, version, restart)
        if not self._wrappers and not tell and inline is not None:
            compiled = _compile_fast_path(plan.steps, plan.entries, now, inline, stale)
            assert compiled is not None
            return compiled
        # Without inline records, the plan's own compiled chains are these already.
        fast = (
            plan.fast
            if inline is None
            else _compile_fast_path(plan.steps, plan.entries, now, inline)
        )
        assert fast is not None
        if len(self._wrappers) == 1 and not tell:
            # The one wrapper (a tracer) asks in the compiled chain; it runs the chain without
            # wrappers unless the wrapper acts, then `acted` runs the wrapped one.
            wrapper = self._wrappers[0]
            w_end, w_abort = wrapper.end, wrapper.abort

            def acted(ctx: HookContext, token: Any) -> Execution:
                started = now()
                try:
                    ex = fast(ctx)
                except BaseException as exc:
                    w_abort(token, exc)
                    raise
                w_end(token, point, ex, started, now())
                return ex

            entries = plan.entries
            begin = (point, wrapper.begin, acted)
            compiled = _compile_fast_path(plan.bare.steps, entries, now, inline, stale, begin)
            assert compiled is not None
            return compiled
        bare = (
            plan.bare.fast
            if inline is None
            else _compile_fast_path(plan.bare.steps, plan.entries, now, inline)
        )
        assert bare is not None
        # Plain observers are told the executor's clock readings around the chain (and the
        # record then uses them too); without them, only a wrapper that acts needs them.
        outer = self._records if tell else None
        timed = bool(tell)

        def observed(ctx: HookContext) -> Execution:
            if registry.version != version:
                return restart(ctx)
            if type(ctx) is not HookContext:
                self._checked(point, ctx, sync=True)  # raises, naming the problem
            started = now() if timed else 0
            tokens = self._open(point, ctx)
            if tokens is None:
                ex = bare(ctx)
                if not timed:
                    return ex
            else:
                if not timed:
                    started = now()
                try:
                    ex = fast(ctx)
                except BaseException as exc:
                    self._abort(tokens, exc)
                    raise
            self._finished(point, ex, started, now(), tokens, outer)
            return ex

        return observed

    def _run(self, plan: _Plan, ctx: HookContext) -> Execution:
        return self._start(plan, ctx, [], True, False)  # type: ignore[no-any-return]

    def _open(self, point: str, ctx: HookContext) -> list[Any] | None:
        """An observed execution starts: every wrapper's `begin`; their tokens, or None when
        no wrapper acts around it (hookwire.runtime.observer.CallWrapper)."""
        wrappers = self._wrappers
        if not wrappers:
            return None
        tokens: list[Any] = []
        try:
            for w in wrappers:
                tokens.append(w.begin(point, ctx))
        except BaseException as exc:
            self._abort(tokens, exc)
            raise
        return None if tokens.count(None) == len(tokens) else tokens

    def _abort(self, tokens: list[Any] | None, exc: BaseException) -> None:
        """The execution raised: `abort` of the wrappers that returned a token, innermost
        first."""
        if tokens is None:
            return
        for w, token in reversed(list(zip(self._wrappers, tokens, strict=False))):
            if token is not None:
                w.abort(token, exc)

    def _close(
        self, tokens: list[Any], point: str, ex: Execution, started: int, ended: int
    ) -> None:
        for w, token in reversed(list(zip(self._wrappers, tokens, strict=True))):
            if token is not None:
                w.end(token, point, ex, started, ended)

    def _finished(
        self,
        point: str,
        ex: Execution,
        started: int,
        ended: int,
        tokens: list[Any] | None,
        records: ExecutionRecords | None,
    ) -> None:
        """An observed execution finished: its record (unless the compiled chain appended it:
        `records` None), the plain observers, the wrappers' `end`."""
        if records is not None:
            items = records.items
            items.append((*ex.raw_records(), started, ended))
            if len(items) >= records.limit:
                records.drain()
        for executed in self._executed:
            executed(point, ex, started, ended)
        if tokens is not None:
            self._close(tokens, point, ex, started, ended)

    # -- asynchronous ----------------------------------------------------------------------------

    async def aexecute(self, point: str, ctx: HookContext) -> Execution:
        """Like `execute`, and runs coroutine hooks too, cancelling them at their deadline.

        A coroutine hook that finishes without suspending costs no timer.
        """
        plan = self._plans.get(point)
        if plan is None or type(ctx) is not HookContext or self._own_plans:
            plan = self._checked(point, ctx, sync=False)
        if not self._observers:
            ex = self._start(plan, ctx, [])
            return ex if ex.__class__ is not _Await else await self._arest(plan, ex)
        started = self._now()
        tokens = self._open(point, ctx)
        try:
            ex = await self._arun(plan if tokens is not None else plan.bare, ctx)
        except BaseException as exc:
            self._abort(tokens, exc)
            raise
        self._finished(point, ex, started, self._now(), tokens, self._records)
        return ex

    async def _arun(self, plan: _Plan, ctx: HookContext) -> Execution:
        ex = self._start(plan, ctx, [])
        return ex if ex.__class__ is not _Await else await self._arest(plan, ex)

    def _start(
        self,
        plan: _Plan,
        ctx: HookContext,
        raw: list[RawRecord],
        apply: bool = True,
        awaiting: bool = True,
    ) -> Any:
        """`_run_chain` over `plan` from its first step; asynchronous (`awaiting`), it runs up
        to the first call that must be awaited and returns its `_Await` (finish it with
        `_arest`), so a chain that never suspends costs no coroutine of its own."""
        clock = self._now
        return _run_chain(
            plan.steps, plan.entries, 0, ctx, raw, clock(), clock, awaiting=awaiting, apply=apply
        )

    async def _arest(self, plan: _Plan, at: _Await) -> Execution:
        out: Any = at
        while out.__class__ is _Await:
            out = await self._resume(plan, out)
        return out  # type: ignore[no-any-return]

    async def _resume(self, plan: _Plan, at: _Await, apply: bool = True) -> Any:
        """Await the call `_run_chain` stopped at, then run the chain on from that step."""
        e = plan.steps[at.step][0]
        try:
            if at.coro is None:
                value = await plan.acalls[e.name](at.cur)
            else:
                value = await self._finish(at.coro, at.yielded, e.timeout_ns, at.now)
        except Exception as exc:
            value = _Failure(_O_ERROR, describe_exception(exc))
        clock = self._now
        step, cur, modified, now, _coro, _yielded, raw = at
        steps, entries, end = plan.steps, plan.entries, clock()
        return _run_chain(
            steps, entries, step, cur, raw, now, clock, value, end, modified, True, apply
        )

    async def _finish(self, coro: Any, yielded: Any, timeout_ns: int, started: int) -> Any:
        """Finish a coroutine hook that suspended, cancelling it at its deadline.

        The deadline runs on the event loop's (real) clock. With the system clock it is what
        is left of the timeout after the first step; with any other clock (a virtual one,
        whose time moves only when advanced) it is the whole timeout from the suspension, and
        the executor's clock alone decides TIMEOUT (duration > timeout).
        """
        left_ns = timeout_ns - (self._now() - started) if self._real_time else timeout_ns
        try:
            return await resume_coroutine(coro, yielded, left_ns / 1e9)
        except HookTimedOut:
            return _TIMED_OUT

    # -- one hook (composites) -------------------------------------------------------------------

    def invoke(self, e: ChainEntry, ctx: HookContext) -> Invocation:
        """Steps 1-4 of section 3 for one hook, synchronously (no trace, no report): the chain
        step (`_run_chain`) on a chain of one, stopping before the result is applied."""
        raw: list[RawRecord] = []
        result = self._start(self._single(e, sync=True), ctx, raw, False, False)
        return _invocation(e, result, raw[0])

    async def ainvoke(self, e: ChainEntry, ctx: HookContext) -> Invocation:
        """Steps 1-4 of section 3 for one hook, on the event loop."""
        plan = self._single(e, sync=False)
        raw: list[RawRecord] = []
        result = self._start(plan, ctx, raw, False)
        while result.__class__ is _Await:
            result = await self._resume(plan, result, False)
        return _invocation(e, result, raw[0])

    def _single(self, e: ChainEntry, sync: bool) -> _Plan:
        """The one-step plan of a composite's child (kept while the entry object lives)."""
        key = (id(e), sync)
        kept = self._singles.get(key)
        if kept is not None and kept[0] is e:
            return kept[1]
        if len(self._singles) >= _MAX_SINGLES:
            self._singles.clear()
        plan = _Plan((e,), self._now, compile=False, sync=sync)
        self._singles[key] = (e, plan)
        return plan

    # -- breakers --------------------------------------------------------------------------------

    def breaker(self, name: str) -> CircuitBreaker:
        """The breaker of a registered hook; NotFound if unknown."""
        return self.registry.breaker(name)

    def reset_breaker(self, name: str) -> None:
        """Reset one hook's breaker to CLOSED with an empty window."""
        self.registry.breaker(name).reset()

    def breaker_states(self) -> dict[str, BreakerStatus]:
        """Every hook's breaker status by hook name."""
        return {name: b.status() for name, b in self.registry.breakers().items()}
