"""The executor: runs a point's precomputed chain (SEMANTICS.md section 3).

The loop reads the clock once per hook boundary (n + 1 reads for n hooks: the end of one hook
is the start of the next), asks each hook's breaker for permission, calls the hook, classifies
the outcome, records it in the breaker, and applies the result. Policies are objects it calls
(breakers, adapters, composites); the common case (a plain Python hook returning None within
its timeout) takes the shortest path.

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
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from types import CoroutineType
from typing import Any

from hookwire.runtime.adapter import (
    HookFailed,
    HookTimedOut,
    InvalidResult,
    describe_exception,
    resume_coroutine,
)
from hookwire.runtime.breaker import BreakerState, BreakerStatus, CircuitBreaker
from hookwire.runtime.clock import Clock, SystemClock
from hookwire.runtime.context import HookContext
from hookwire.runtime.errors import AsyncHookNotAllowed, InvalidArgument
from hookwire.runtime.events import HOOK_EXECUTED, BreakerEvents, EventSink
from hookwire.runtime.honoured import not_honoured
from hookwire.runtime.json_value import merge_patch
from hookwire.runtime.monitor import PerformanceMonitor
from hookwire.runtime.registry import ChainEntry, Registry
from hookwire.runtime.results import (
    CONTINUE,
    RESULT_TYPES,
    Cancel,
    HookResult,
    Modified,
    Outcome,
    ResultKind,
    Skipped,
    validate_result,
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
# The reason object of breaker refusals in raw records: built at run time so that it is not
# the interned literal, and `is` tells a refusal from a hook that returned that reason.
_REFUSED = "".join(("circuit", "_open"))
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
    """One hook call through steps 1-4 of SEMANTICS.md section 3 (used by composites).

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
    """`hook <name> failed: <error|timeout>` (SEMANTICS.md section 3, FAIL_CLOSED)."""
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
    t = type(value)
    if t is _Failure:
        return value.outcome, value.reason, None
    if t in RESULT_TYPES:
        try:
            result = validate_result(value)
        except InvalidArgument:
            return _O_ERROR, INVALID_RESULT, None
        refused = not_honoured(result.kind, e.honours, e.point)
        if refused is not None:
            return _O_ERROR, refused, None
        return result.outcome, value.reason if t is Skipped else "", result
    if inspect.iscoroutine(value):
        value.close()
    return _O_ERROR, INVALID_RESULT, None


def _call_adapter(e: ChainEntry, ctx: HookContext) -> Any:
    """Call through the adapter; a failure comes back as a _Failure."""
    try:
        return e.adapter.call(ctx, e.timeout_ns)
    except AsyncHookNotAllowed:
        raise
    except HookFailed as exc:
        return _Failure(_O_ERROR, str(exc) or "HookFailed")
    except InvalidResult:
        return _INVALID
    except HookTimedOut:
        return _TIMED_OUT
    except Exception as exc:
        return _Failure(_O_ERROR, describe_exception(exc))


async def _acall_adapter(e: ChainEntry, ctx: HookContext) -> Any:
    try:
        return await e.adapter.acall(ctx, e.timeout_ns)
    except HookFailed as exc:
        return _Failure(_O_ERROR, str(exc) or "HookFailed")
    except InvalidResult:
        return _INVALID
    except HookTimedOut:
        return _TIMED_OUT
    except Exception as exc:
        return _Failure(_O_ERROR, describe_exception(exc))


# One chain step as the loop unpacks it: entry, a callable taking the context (the hook's own
# function, or a partial calling through its adapter), breaker, the longest duration that is
# neither slow nor late, and how the async loop calls it (_SYNC, _CORO, _ADAPTER).
_Step = tuple[ChainEntry, Any, CircuitBreaker, int, int]
_SYNC = 0
_CORO = 1
_ADAPTER = 2


_NOT_CALLED: Any = object()


def _run_sync(
    steps: tuple[_Step, ...],
    start: int,
    ctx: HookContext,
    raw: list[RawRecord],
    now: int,
    clock: Any,
    pending: Any = _NOT_CALLED,
    pending_end: int = 0,
) -> tuple[HookResult, HookContext]:
    """The synchronous chain loop from step `start` (section 3), appending raw records.

    `pending` / `pending_end`: step `start` was already called (by the compiled fast path)
    and returned `pending` at clock `pending_end`; it is classified, recorded and applied here.
    Returns the final result and the final context.
    """
    append = raw.append
    closed = _CLOSED
    cur = ctx
    modified = False
    final: HookResult | None = None
    for i in range(start, len(steps)):
        e, call, br, limit, _mode = steps[i]
        if pending is not _NOT_CALLED:
            value, end, pending = pending, pending_end, _NOT_CALLED
        else:
            if br.state is not closed and not br.acquire(now):
                append((_O_SKIPPED, _REFUSED, 0, False, br.state))
                continue
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
        slow = dur >= e.slow_ns
        outcome, reason, result = _classify(value, dur, e)
        if result is None:
            br.record(True, slow, end)
            append((outcome, reason, dur, slow, br.state))
            if e.fail_closed:
                final = Cancel(failure_reason(e.name, outcome, reason))
                break
            continue
        br.record(False, slow, end)
        append((outcome, reason, dur, slow, br.state))
        kind = result.kind
        if kind is _K_MODIFIED:
            cur = cur.with_data(merge_patch(cur.data, result.data))  # type: ignore[union-attr]
            modified = True
        elif kind is not _K_CONTINUE and kind is not _K_SKIPPED:
            final = result
            break
    if final is None:
        final = Modified(cur.data) if modified else CONTINUE
    return final, cur


def _bad_context(ctx: Any) -> None:
    raise InvalidArgument("context", f"must be a HookContext, got {type(ctx).__name__}")


# Longest chain compiled into straight-line code (longer chains use the loop only).
_MAX_COMPILED_STEPS = 64


def _compile_fast_path(
    steps: tuple[_Step, ...], entries: tuple[ChainEntry, ...], clock: Any
) -> Callable[[HookContext], Execution] | None:
    """Straight-line code for a synchronous chain's common case: every hook permitted by a
    CLOSED breaker returns None within its timeout and is not slow. The first step that
    differs hands over to `_run_sync` (which finishes that step and the rest), so the
    semantics are the loop's; only the loop's own overhead is saved.

    Per hook it costs the call, one clock read and a few local operations: durations stay in
    locals (`d0`, `d1`, ...) and become the raw trace in one list display at the end, and a
    good call to a `quiet` breaker (CLOSED, window full of good calls) is not recorded at all,
    because recording it would change nothing (see CircuitBreaker).
    """
    if not steps or len(steps) > _MAX_COMPILED_STEPS or any(s[4] != _SYNC for s in steps):
        return None
    env: dict[str, Any] = {
        "clock": clock,
        "closed": _CLOSED,
        "CONTINUE": CONTINUE,
        "O_CONTINUE": _O_CONTINUE,
        "O_ERROR": _O_ERROR,
        "Failure": _Failure,
        "describe": describe_exception,
        "AsyncHookNotAllowed": AsyncHookNotAllowed,
        "new": object.__new__,
        "Execution": Execution,
        "entries": entries,
        "NOT_CALLED": _NOT_CALLED,
    }

    def bail(
        ctx: HookContext, raw: list[RawRecord], i: int, now: int, value: Any, end: int
    ) -> Execution:
        final, cur = _run_sync(steps, i, ctx, raw, now, clock, value, end)
        return _execution(final, cur, raw, entries)

    env["bail"] = bail
    env["HookContext"] = HookContext
    env["bad_context"] = _bad_context
    lines = [
        "def fast(ctx):",
        "    if type(ctx) is not HookContext:",
        "        bad_context(ctx)",
        "    now = clock()",
    ]
    for i, (_e, call, br, limit, _mode) in enumerate(steps):
        env[f"f{i}"] = call
        env[f"b{i}"] = br
        done = "[" + ", ".join(f"d{j}" for j in range(i)) + "]"
        lines += [
            f"    if not b{i}.quiet and b{i}.state is not closed:",
            f"        return bail(ctx, {done}, {i}, now, NOT_CALLED, 0)",
            "    try:",
            f"        v = f{i}(ctx)",
            "    except AsyncHookNotAllowed:",
            "        raise",
            "    except Exception as exc:",
            "        v = Failure(O_ERROR, describe(exc))",
            "    end = clock()",
            f"    d{i} = end - now",
            f"    if (v is not None and v is not CONTINUE) or d{i} > {limit}:",
            f"        return bail(ctx, {done}, {i}, now, v, end)",
            f"    if not b{i}.quiet:",
            f"        b{i}.record_success(end)",
            f"        if b{i}.state is not closed:",
            f"            d{i} = (O_CONTINUE, '', d{i}, False, b{i}.state)",
            "    now = end",
        ]
    # make_execution inlined: one call less per execution.
    lines += [
        "    ex = new(Execution)",
        "    ex.result = CONTINUE",
        "    ex.context = ctx",
        "    ex._trace = None",
        "    ex._raw = [" + ", ".join(f"d{j}" for j in range(len(steps))) + "]",
        "    ex._entries = entries",
        "    return ex",
    ]
    # Everything the body reads becomes a default argument: local reads are the cheapest.
    names = [n for n in env if n.isidentifier()]
    lines[0] = "def fast(ctx, " + ", ".join(f"{n}={n}" for n in names) + "):"
    code = compile("\n".join(lines), f"<hookwire chain of {len(steps)} hooks>", "exec")
    exec(code, env)
    fast: Callable[[HookContext], Execution] = env["fast"]
    return fast


class _GuardedSink:
    """The executor's view of the user's EventSink: an exception from `emit` is counted,
    logged once (the first time) and dropped, so a broken sink never breaks hook execution."""

    __slots__ = ("errors", "sink")

    def __init__(self, sink: EventSink) -> None:
        self.sink = sink
        self.errors = 0

    def emit(self, type: str, payload: dict[str, Any]) -> None:
        try:
            self.sink.emit(type, payload)
        except Exception:
            self.errors += 1
            if self.errors == 1:
                _log.exception(
                    "event sink %r failed to emit %s; the event is dropped (further failures "
                    "are only counted in Executor.sink_errors)",
                    self.sink,
                    type,
                )


class _Plan:
    """A chain as the executor runs it, plus the names of its coroutine hooks."""

    __slots__ = ("async_names", "entries", "fast", "steps")

    def __init__(self, entries: tuple[ChainEntry, ...], clock: Any) -> None:
        self.entries = entries
        self.async_names = tuple(e.name for e in entries if e.is_async)
        steps = []
        for e in entries:
            if e.fn is not None:
                call, mode = e.fn, _CORO if e.is_async else _SYNC
            else:
                call = partial(_call_adapter, e)
                mode = _ADAPTER if e.is_async or e.lazy else _SYNC
            steps.append((e, call, e.breaker, min(e.slow_ns - 1, e.timeout_ns), mode))
        self.steps: tuple[_Step, ...] = tuple(steps)
        self.fast = _compile_fast_path(self.steps, entries, clock)


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
        self._reporting = monitor is not None or events is not None
        registry.bind(clock, BreakerEvents(self._sink) if self._sink is not None else None)
        self._now = clock.monotonic_ns
        self._real_time = isinstance(clock, SystemClock)
        self._plans = registry.plans
        # Compiled fast paths by point, shared by the registry's executors that do not report
        # (cleared with the plans on every registry change); a reporting executor keeps an
        # empty dict of its own.
        self._fast_paths: dict[str, Callable[[HookContext], Execution]] = (
            registry.fast_paths if not self._reporting else {}
        )

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
        return self._sink.errors if self._sink is not None else 0

    # -- chains ----------------------------------------------------------------------------------

    def _plan(self, point: str) -> _Plan:
        reg = self.registry
        entries = reg.chain(point)
        for e in entries:
            attach = getattr(e.adapter, "attach", None)
            if attach is not None:
                attach(self.clock, reg._listener)
        plan = self._plans[point] = _Plan(entries, self._now)
        return plan

    def _checked(self, point: str, ctx: HookContext, sync: bool) -> _Plan:
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
        if plan is None or plan.async_names or type(ctx) is not HookContext:
            plan = self._checked(point, ctx, sync=True)
        reporting = self._reporting
        if not reporting and plan.fast is not None:
            self._fast_paths[point] = plan.fast
            return plan.fast(ctx)
        clock = self._now
        entered = clock() if reporting else 0
        raw: list[RawRecord] = []
        final, cur = _run_sync(plan.steps, 0, ctx, raw, clock(), clock)
        if reporting:
            self._report(point, raw, plan.entries, entered)
        return _execution(final, cur, raw, plan.entries)

    def _report(
        self, point: str, raw: list[RawRecord], entries: tuple[ChainEntry, ...], entered: int
    ) -> None:
        monitor = self.monitor
        events = self._sink
        record = monitor.record if monitor is not None else None
        total = 0
        for e, r in zip(entries, raw, strict=False):
            if type(r) is int:
                outcome, reason, dur, slow = _O_CONTINUE, "", r, False
            else:
                outcome, reason, dur, slow, _state = r  # type: ignore[misc]
            total += dur
            if record is not None:
                refused = reason is _REFUSED
                record(e.name, outcome, dur, slow, not refused)
            if events is not None:
                events.emit(
                    HOOK_EXECUTED,
                    {"point": point, "hook": e.name, "outcome": outcome.value, "duration_ns": dur},
                )
        if monitor is not None:
            monitor.record_execution(max(0, self._now() - entered - total))

    # -- asynchronous ----------------------------------------------------------------------------

    async def aexecute(self, point: str, ctx: HookContext) -> Execution:
        """Like `execute`, and runs coroutine hooks too, cancelling them at their deadline.

        A coroutine hook that finishes without suspending costs no timer.
        """
        plan = self._plans.get(point)
        if plan is None or type(ctx) is not HookContext:
            plan = self._checked(point, ctx, sync=False)
        clock = self._now
        reporting = self._reporting
        entered = clock() if reporting else 0
        closed = _CLOSED
        raw: list[RawRecord] = []
        append = raw.append
        cur = ctx
        modified = False
        final: HookResult | None = None
        now = clock()
        for e, call, br, limit, mode in plan.steps:
            if br.state is not closed and not br.acquire(now):
                append((_O_SKIPPED, _REFUSED, 0, False, br.state))
                continue
            try:
                if mode == _ADAPTER:
                    value = await _acall_adapter(e, cur)
                else:
                    value = call(cur)
                    if mode and type(value) is CoroutineType:
                        # Run the first step inline; only a coroutine that suspends pays a timer.
                        coro = value
                        try:
                            value = coro.send(None)
                        except StopIteration as stop:
                            value = stop.value
                        else:
                            value = await self._finish(coro, value, e.timeout_ns, now)
            except Exception as exc:
                value = _Failure(_O_ERROR, describe_exception(exc))
            end = clock()
            dur = end - now
            now = end
            if (value is None or value is CONTINUE) and dur <= limit:
                if not br.quiet:
                    br.record_success(end)
                append(dur if br.state is closed else (_O_CONTINUE, "", dur, False, br.state))
                continue
            slow = dur >= e.slow_ns
            outcome, reason, result = _classify(value, dur, e)
            if result is None:
                br.record(True, slow, end)
                append((outcome, reason, dur, slow, br.state))
                if e.fail_closed:
                    final = Cancel(failure_reason(e.name, outcome, reason))
                    break
                continue
            br.record(False, slow, end)
            append((outcome, reason, dur, slow, br.state))
            kind = result.kind
            if kind is _K_MODIFIED:
                cur = cur.with_data(merge_patch(cur.data, result.data))  # type: ignore[union-attr]
                modified = True
            elif kind is not _K_CONTINUE and kind is not _K_SKIPPED:
                final = result
                break
        if final is None:
            final = Modified(cur.data) if modified else CONTINUE
        if reporting:
            self._report(point, raw, plan.entries, entered)
        return _execution(final, cur, raw, plan.entries)

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

    async def _acall_direct(self, fn: Any, ctx: HookContext, timeout_ns: int, started: int) -> Any:
        try:
            value = fn(ctx)
            if type(value) is CoroutineType:
                coro = value
                try:
                    value = coro.send(None)
                except StopIteration as stop:
                    return stop.value
                return await self._finish(coro, value, timeout_ns, started)
            return value
        except Exception as exc:
            return _Failure(_O_ERROR, describe_exception(exc))

    # -- one hook (composites) -------------------------------------------------------------------

    def invoke(self, e: ChainEntry, ctx: HookContext) -> Invocation:
        """Steps 1-4 of section 3 for one hook, synchronously (no trace, no report)."""
        br = e.breaker
        start = self._now()
        if br.state is not _CLOSED and not br.acquire(start):
            return Invocation(e, _O_SKIPPED, CIRCUIT_OPEN, None, 0, False, br.state, False)
        if e.is_async:
            raise AsyncHookNotAllowed(e.name)
        if e.fn is not None:
            try:
                value = e.fn(ctx)
            except Exception as exc:
                value = _Failure(_O_ERROR, describe_exception(exc))
        else:
            value = _call_adapter(e, ctx)
        return self._settle(e, value, start)

    async def ainvoke(self, e: ChainEntry, ctx: HookContext) -> Invocation:
        """Steps 1-4 of section 3 for one hook, on the event loop."""
        br = e.breaker
        start = self._now()
        if br.state is not _CLOSED and not br.acquire(start):
            return Invocation(e, _O_SKIPPED, CIRCUIT_OPEN, None, 0, False, br.state, False)
        if e.fn is None:
            value = await _acall_adapter(e, ctx) if e.is_async or e.lazy else _call_adapter(e, ctx)
        elif e.is_async:
            value = await self._acall_direct(e.fn, ctx, e.timeout_ns, start)
        else:
            try:
                value = e.fn(ctx)
            except Exception as exc:
                value = _Failure(_O_ERROR, describe_exception(exc))
        return self._settle(e, value, start)

    def _settle(self, e: ChainEntry, value: Any, start: int) -> Invocation:
        end = self._now()
        dur = end - start
        slow = dur >= e.slow_ns
        outcome, reason, result = _classify(value, dur, e)
        e.breaker.record(result is None, slow, end)
        return Invocation(e, outcome, reason, result, dur, slow, e.breaker.state)

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
