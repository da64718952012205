"""`run()`: one operation wrapped with its before, after and error points (docs/semantics.md §7).

What hooks see. Each point gets a fresh context (correlation id, component, metadata, language,
parent and distributed context copied from the optional `context` template) with
`operation = Operation(type=<operation name>, id=<run id>, parameters, result, error)`,
`metadata["hookwire.attempt"] = "<n>"` (1-based) and `data`:

- before: `{"params": {...}}`
- after: `{"params": {...}, "output": <output>}`
- error: `{"params": {...}, "error": {"code": ..., "message": ...}}`; the code is the
  exception's `code` attribute when it is a string (HookwireError), else its class name.

What each final result does:

| result | before point | after point | error point |
|---|---|---|---|
| CONTINUE, SKIPPED | run the operation | return the output | re-raise the error |
| MODIFIED | params := data.params | output := data.output | re-raise |
| CANCEL | raise OperationCancelled | raise OperationCancelled | raise OperationCancelled |
| REPLACE | return value, do not run | output := value | return value (a fallback) |
| REDIRECT | run `target` instead | output := target's output | run `target` instead |
| RETRY | wait, next attempt | wait, next attempt | wait, next attempt |
| CACHE | fresh hit: return it; miss: run, store output | store output | re-raise |
| FORK | run the forks beside the operation | run the forks | re-raise |

Each point's honoured kinds (hookwire.runtime.honoured) decide what reaches this table: the
built-in `after_*` points do not honour REDIRECT and the `*_error` points do not honour
MODIFIED, CACHE or FORK, so a hook returning one of those there is ERROR
`result_not_honoured` (its failure policy applies) and the rows above apply to custom points
declared to honour them.

- OperationCancelled (code CANCELLED) carries the hook's reason as `.reason` and the point as
  `.field`.
- RETRY: an attempt is one pass through the points; at most `max_attempts` attempts in all
  (counted over the whole run). The delay is slept on the clock. When a RETRY arrives with no
  attempt left: at the error point the operation's error is re-raised; at the before or after
  point OperationCancelled is raised saying so.
- REDIRECT: the target is looked up in the OperationRegistry (NotFound naming it) and gets the
  current params. Its errors go through the error point too; an error point redirecting to an
  operation already tried in this attempt re-raises instead (no loops). A REDIRECT at the
  after point runs the target once, without points; its error propagates.
- CACHE: served from the runner's CacheStore (`cache=`); a CACHE result with no store is a
  FailedPrecondition. A hit at the before point skips the operation and the after point; the
  stored value is the final output (after the after point).
- REPLACE at the before or error point, and cache hits, skip the after point: it observes
  outputs the operation (or a redirect target) actually produced.
- FORK: the listed registered operations run beside the main one with their own parameters,
  without hook points: concurrently with `arun` (asyncio.gather), in listed order after the
  main operation with `run`. A fork's failure is reported in its ForkOutcome, never raised.
  Unknown fork operations raise NotFound before anything runs.
- Params must be a JSON object and outputs JSON values (InvalidArgument otherwise); an
  operation may be a plain function or (with `arun`) an `async def`.

Example:
    >>> from hookwire.runtime.clock import VirtualClock
    >>> from hookwire.runtime.executor import Executor
    >>> from hookwire.runtime.registry import Registry
    >>> from hookwire.runtime.results import Modified
    >>> reg = Registry()
    >>> _ = reg.register(lambda ctx: Modified({"params": {"n": 2}}), name="double",
    ...                  point="before_tool_execution")
    >>> ex = Executor(reg, clock=VirtualClock())
    >>> run(ex, "square", {"n": 1}, lambda p: p["n"] ** 2).output
    4
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import itertools
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Generator, Iterator
from dataclasses import dataclass, field
from typing import Any, ParamSpec, Protocol, TypeVar, cast

from hookwire.runtime.builtins.caching import CacheStore
from hookwire.runtime.clock import Clock, SystemClock
from hookwire.runtime.context import HookContext, Operation, OperationError
from hookwire.runtime.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    OperationCancelled,
)
from hookwire.runtime.json_value import validate_json
from hookwire.runtime.points import parse_point
from hookwire.runtime.results import (
    Cache,
    Cancel,
    Fork,
    HookResult,
    Redirect,
    Replace,
    Retry,
)
from hookwire.runtime.trace import Execution

__all__ = [
    "ATTEMPT_METADATA_KEY",
    "ExecutorLike",
    "ForkOutcome",
    "OperationFn",
    "OperationRegistry",
    "RunPoints",
    "RunResult",
    "Runner",
    "arun",
    "run",
]

ATTEMPT_METADATA_KEY = "hookwire.attempt"

OperationFn = Callable[[dict[str, Any]], Any]
F = TypeVar("F", bound=OperationFn)
P = ParamSpec("P")
R = TypeVar("R")


def _async_twin(
    sync: Callable[P, R],
) -> Callable[[Callable[..., Coroutine[Any, Any, R]]], Callable[P, Coroutine[Any, Any, R]]]:
    """Give the decorated `async def` the parameters of `sync`, by construction: type checkers
    see `sync`'s parameter list, and so do help() and inspect.signature (through
    `__wrapped__`). The twin keeps its own name, docstring and body, which forwards the
    parameters it does not use itself (`**options`)."""

    def decorate(
        twin: Callable[..., Coroutine[Any, Any, R]],
    ) -> Callable[P, Coroutine[Any, Any, R]]:
        return functools.update_wrapper(twin, sync, assigned=(), updated=())

    return decorate


class ExecutorLike(Protocol):
    """What run() needs: the Executor, or anything wrapping it (e.g. replay.Recorder)."""

    def execute(self, point: str, ctx: HookContext) -> Execution: ...

    async def aexecute(self, point: str, ctx: HookContext) -> Execution: ...


@dataclass(frozen=True, slots=True)
class RunPoints:
    """The three points wrapping an operation.

    Example:
        >>> RunPoints.agent().error
        'agent_error'
    """

    before: str
    after: str
    error: str

    def __post_init__(self) -> None:
        for name in ("before", "after", "error"):
            parse_point(getattr(self, name), f"points.{name}")

    @classmethod
    def tool(cls) -> RunPoints:
        """before_tool_execution / after_tool_execution / tool_error (the default)."""
        return cls("before_tool_execution", "after_tool_execution", "tool_error")

    @classmethod
    def agent(cls) -> RunPoints:
        """before_agent_execution / after_agent_execution / agent_error."""
        return cls("before_agent_execution", "after_agent_execution", "agent_error")

    @classmethod
    def workflow_stage(cls) -> RunPoints:
        """before_workflow_stage / after_workflow_stage / workflow_error."""
        return cls("before_workflow_stage", "after_workflow_stage", "workflow_error")


class OperationRegistry:
    """Named operations, the targets of REDIRECT and FORK.

    Example:
        >>> ops = OperationRegistry()
        >>> @ops.operation("echo")
        ... def echo(params):
        ...     return params
        >>> ops.get("echo")({"a": 1})
        {'a': 1}
        >>> ops.get("nope", "redirect.target")
        Traceback (most recent call last):
        ...
        hookwire.runtime.errors.NotFound: redirect.target: no operation registered under 'nope'
    """

    __slots__ = ("_ops",)

    def __init__(self) -> None:
        self._ops: dict[str, OperationFn] = {}

    def register(self, name: str, fn: OperationFn) -> None:
        """Register `fn` (taking the params dict) under `name`."""
        if not isinstance(name, str) or not name:
            raise InvalidArgument("name", f"must be a non-empty string, got {name!r}")
        if not callable(fn):
            raise InvalidArgument("fn", f"must be callable, got {type(fn).__name__}")
        if name in self._ops:
            raise AlreadyExists("name", f"an operation is already registered under {name!r}")
        self._ops[name] = fn

    def operation(self, name: str) -> Callable[[F], F]:
        """Decorator form of `register`."""

        def decorate(fn: F) -> F:
            self.register(name, fn)
            return fn

        return decorate

    def unregister(self, name: str) -> None:
        """Remove `name` (NotFound if absent)."""
        if self._ops.pop(name, None) is None:
            raise NotFound("name", f"no operation registered under {name!r}")

    def get(self, name: str, field: str = "operation") -> OperationFn:
        """The operation registered under `name`; NotFound names it and `field`."""
        fn = self._ops.get(name)
        if fn is None:
            raise NotFound(field, f"no operation registered under {name!r}")
        return fn

    def __contains__(self, name: object) -> bool:
        return name in self._ops

    def __iter__(self) -> Iterator[str]:
        return iter(self._ops)

    def __len__(self) -> int:
        return len(self._ops)


@dataclass(frozen=True, slots=True)
class ForkOutcome:
    """What one forked operation produced: its output, or the exception it raised."""

    operation: str
    parameters: dict[str, Any]
    output: Any = None
    error: Exception | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(slots=True)
class RunResult:
    """The outcome of `run()`.

    `source` is "operation" (an operation ran; `operation` names it, the redirect target after
    a REDIRECT), "replace" (a REPLACE result supplied the output) or "cache" (a fresh CACHE
    hit). `executions` are the point executions in order; `forks` the FORK outcomes.
    """

    output: Any
    source: str
    operation: str
    attempts: int
    executions: list[Execution] = field(default_factory=list)
    forks: tuple[ForkOutcome, ...] = ()


# ---------------------------------------------------------------------------------------------
# Effects: the run logic is written once, as a generator yielding these, and driven either
# synchronously (run) or on the event loop (arun), so the two cannot drift apart.


@dataclass(slots=True)
class _Execute:
    point: str
    ctx: HookContext


@dataclass(slots=True)
class _Invoke:
    """Run `main` (if any) and `forks`; the driver answers with (ok, value, fork outcomes)."""

    main: tuple[str, OperationFn] | None
    params: dict[str, Any]
    forks: tuple[tuple[str, OperationFn, dict[str, Any]], ...]


@dataclass(slots=True)
class _Sleep:
    ns: int


_Effect = _Execute | _Invoke | _Sleep
_Machine = Generator[_Effect, Any, RunResult]
# What a driver reads: the machine's effects, then its RunResult (see _ending_with_result).
_Effects = Generator[_Effect | RunResult, Any, None]


def _ending_with_result(machine: _Machine) -> _Effects:
    """`machine`'s effects, then the RunResult it returns, as its last item: a driver's loop
    is then just "perform the effect, send the answer" until the item is a RunResult."""
    yield (yield from machine)


def _error_code(exc: Exception) -> str:
    code = getattr(exc, "code", None)
    return code if isinstance(code, str) and code else type(exc).__name__


class Runner:
    """Runs operations through an executor's before/after/error points (see module docstring).

    Holds what outlives one call: the executor, the operation registry, the CACHE store, the
    clock and the default points.
    """

    __slots__ = ("cache", "clock", "executor", "operations", "points")

    def __init__(
        self,
        executor: ExecutorLike,
        *,
        operations: OperationRegistry | None = None,
        cache: CacheStore | None = None,
        clock: Clock | None = None,
        points: RunPoints | None = None,
    ) -> None:
        self.executor = executor
        self.operations = operations if operations is not None else OperationRegistry()
        self.cache = cache
        if clock is None:
            found = getattr(executor, "clock", None)
            # A duck-typed check: isinstance() against the runtime-checkable Protocol costs
            # ~10 us, half of run()'s overhead when a Runner is built per call.
            clock = cast(Clock, found) if hasattr(found, "monotonic_ns") else SystemClock()
        self.clock: Clock = clock
        self.points = points if points is not None else RunPoints.tool()

    # -- public API ------------------------------------------------------------------------------

    def run(
        self,
        operation: str,
        params: dict[str, Any],
        call: OperationFn | None = None,
        *,
        context: HookContext | None = None,
        points: RunPoints | None = None,
    ) -> RunResult:
        """Run synchronously (forks in order after the main operation). `call` None = the
        operation registered under `operation`."""
        effects = self._effects(operation, params, call, sync=True, context=context, points=points)
        effect = next(effects)
        while not isinstance(effect, RunResult):
            effect = effects.send(self._perform(effect))
        return effect

    @_async_twin(run)
    async def arun(
        self,
        operation: str,
        params: dict[str, Any],
        call: OperationFn | None = None,
        **options: Any,
    ) -> RunResult:
        """Run on the event loop: async and sync hooks and operations; forks run concurrently
        with the main operation (asyncio.gather)."""
        effects = self._effects(operation, params, call, sync=False, **options)
        effect = next(effects)
        while not isinstance(effect, RunResult):
            effect = effects.send(await self._aperform(effect))
        return effect

    # -- drivers ---------------------------------------------------------------------------------

    def _effects(
        self,
        operation: str,
        params: dict[str, Any],
        call: OperationFn | None,
        *,
        sync: bool,
        context: HookContext | None = None,
        points: RunPoints | None = None,
    ) -> _Effects:
        fn = self._resolve(operation, call)
        if sync and inspect.iscoroutinefunction(fn):
            raise InvalidArgument("call", f"{operation!r} is an async function; use arun()")
        return _ending_with_result(
            self._machine(operation, params, fn, context, points or self.points)
        )

    def _perform(self, effect: _Effect) -> Any:
        """The answer to an effect, synchronously."""
        if isinstance(effect, _Execute):
            return self.executor.execute(effect.point, effect.ctx)
        if isinstance(effect, _Sleep):
            self.clock.sleep(effect.ns / 1e9)
            return None
        return self._invoke_sync(effect)

    async def _aperform(self, effect: _Effect) -> Any:
        """The answer to an effect, on the event loop."""
        if isinstance(effect, _Execute):
            return await self.executor.aexecute(effect.point, effect.ctx)
        if isinstance(effect, _Sleep):
            await self.clock.asleep(effect.ns / 1e9)
            return None
        return await self._invoke_async(effect)

    def _resolve(self, operation: str, call: OperationFn | None) -> OperationFn:
        if not isinstance(operation, str) or not operation:
            raise InvalidArgument("operation", f"must be a non-empty string, got {operation!r}")
        if call is None:
            return self.operations.get(operation, "operation")
        if not callable(call):
            raise InvalidArgument("call", f"must be callable, got {type(call).__name__}")
        return call

    @staticmethod
    def _call_sync(name: str, fn: OperationFn, params: dict[str, Any]) -> tuple[bool, Any]:
        try:
            value = fn(params)
        except Exception as exc:
            return False, exc
        if inspect.isawaitable(value):
            if inspect.iscoroutine(value):
                value.close()
            raise InvalidArgument("operation", f"{name!r} returned an awaitable; use arun()")
        return True, value

    def _invoke_sync(self, effect: _Invoke) -> tuple[bool, Any, tuple[ForkOutcome, ...]]:
        ok, value = True, None
        if effect.main is not None:
            ok, value = self._call_sync(effect.main[0], effect.main[1], effect.params)
        outs = []
        for name, fn, fparams in effect.forks:
            fok, fvalue = self._call_sync(name, fn, fparams)
            outs.append(_fork_outcome(name, fparams, fok, fvalue))
        return ok, value, tuple(outs)

    @staticmethod
    async def _call_async(fn: OperationFn, params: dict[str, Any]) -> tuple[bool, Any]:
        try:
            value = fn(params)
            if inspect.isawaitable(value):
                value = await value
        except Exception as exc:
            return False, exc
        return True, value

    async def _invoke_async(self, effect: _Invoke) -> tuple[bool, Any, tuple[ForkOutcome, ...]]:
        calls: list[Awaitable[tuple[bool, Any]]] = []
        if effect.main is not None:
            calls.append(self._call_async(effect.main[1], effect.params))
        calls.extend(self._call_async(fn, p) for _, fn, p in effect.forks)
        done = await asyncio.gather(*calls)
        ok, value = done[0] if effect.main is not None else (True, None)
        fork_done = done[1:] if effect.main is not None else done
        outs = tuple(
            _fork_outcome(name, fparams, fok, fvalue)
            for (name, _, fparams), (fok, fvalue) in zip(effect.forks, fork_done, strict=True)
        )
        return ok, value, outs

    # -- the logic, once -------------------------------------------------------------------------

    def _context(
        self,
        template: HookContext | None,
        point: str,
        data: dict[str, Any],
        attempt: int,
        op: Operation,
        correlation_id: str,
    ) -> HookContext:
        metadata = dict(template.metadata) if template is not None else {}
        metadata[ATTEMPT_METADATA_KEY] = str(attempt)
        return HookContext(
            point,
            data,
            metadata,
            template.component if template is not None else None,
            (template.language if template is not None else "") or "python",
            correlation_id,
            self.clock.time_ns(),
            op,
            template.parent if template is not None else None,
            template.distributed if template is not None else None,
        )

    def _forks(self, fork: Fork) -> tuple[tuple[str, OperationFn, dict[str, Any]], ...]:
        return tuple(
            (
                op.operation,
                self.operations.get(op.operation, f"fork.operations[{i}].operation"),
                dict(op.parameters),
            )
            for i, op in enumerate(fork.operations)
        )

    def _need_cache(self, point: str) -> CacheStore:
        if self.cache is None:
            raise FailedPrecondition(
                "cache", f"a hook at {point} returned CACHE but this run has no cache store"
            )
        return self.cache

    def _machine(
        self,
        operation: str,
        params: dict[str, Any],
        fn: OperationFn,
        template: HookContext | None,
        points: RunPoints,
    ) -> _Machine:
        if not isinstance(params, dict):
            raise InvalidArgument("params", f"must be a JSON object, got {type(params).__name__}")
        validate_json(params, "params")
        params = dict(params)
        correlation_id = (template.correlation_id if template is not None else "") or (_new_id())
        op_id = (
            template.operation.id
            if template is not None and template.operation is not None and template.operation.id
            else _new_id()
        )
        executions: list[Execution] = []
        forks: list[ForkOutcome] = []
        attempt = 0

        def ctx(point: str, data: dict[str, Any], op: Operation) -> HookContext:
            return self._context(template, point, data, attempt, op, correlation_id)

        def done(output: Any, source: str, name: str) -> RunResult:
            return RunResult(output, source, name, attempt, executions, tuple(forks))

        while True:
            attempt += 1
            # ---- before
            before: Execution = yield _Execute(
                points.before,
                ctx(points.before, {"params": params}, Operation(operation, op_id, params)),
            )
            executions.append(before)
            params = _params_of(before, params, points.before)
            r = before.result
            target, target_fn = operation, fn
            fork_calls: tuple[tuple[str, OperationFn, dict[str, Any]], ...] = ()
            store: tuple[str, int] | None = None
            _cancel_if_stopped(r, attempt, points.before)
            if isinstance(r, Replace):
                return done(r.value, "replace", operation)
            if isinstance(r, Redirect):
                target = r.target
                target_fn = self.operations.get(r.target, "redirect.target")
            elif isinstance(r, Retry):
                yield _Sleep(r.delay_ns)
                continue
            elif isinstance(r, Cache):
                hit, value = self._need_cache(points.before).get(r.key)
                if hit:
                    return done(value, "cache", operation)
                store = (r.key, r.ttl_ns)
            elif isinstance(r, Fork):
                fork_calls = self._forks(r)

            # ---- the operation, its error point, and any redirect from there
            tried = {target}
            retry_delay: int | None = None
            while True:
                ok, value, fork_outs = yield _Invoke((target, target_fn), params, fork_calls)
                forks.extend(fork_outs)
                fork_calls = ()
                if ok:
                    output = value
                    validate_json(output, f"output of operation {target!r}")
                    break
                exc: Exception = value
                err = OperationError(_error_code(exc), str(exc))
                errored: Execution = yield _Execute(
                    points.error,
                    ctx(
                        points.error,
                        {"params": params, "error": {"code": err.code, "message": err.message}},
                        Operation(target, op_id, params, None, err),
                    ),
                )
                executions.append(errored)
                er = errored.result
                if isinstance(er, Retry) and attempt < er.max_attempts:
                    retry_delay = er.delay_ns
                    break
                if isinstance(er, Replace):
                    return done(er.value, "replace", target)
                if isinstance(er, Cancel):
                    raise OperationCancelled(er.reason, field=points.error) from exc
                if isinstance(er, Redirect) and er.target not in tried:
                    target = er.target
                    target_fn = self.operations.get(er.target, "redirect.target")
                    tried.add(target)
                    continue
                raise exc
            if retry_delay is not None:
                yield _Sleep(retry_delay)
                continue

            # ---- after
            after: Execution = yield _Execute(
                points.after,
                ctx(
                    points.after,
                    {"params": params, "output": output},
                    Operation(target, op_id, params, output),
                ),
            )
            executions.append(after)
            output = after.context.data.get("output")
            a = after.result
            _cancel_if_stopped(a, attempt, points.after)
            if isinstance(a, Replace):
                output = a.value
            elif isinstance(a, Retry):
                yield _Sleep(a.delay_ns)
                continue
            elif isinstance(a, Redirect):
                redirect_fn = self.operations.get(a.target, "redirect.target")
                ok, value, _ = yield _Invoke((a.target, redirect_fn), params, ())
                if not ok:
                    raise value
                output = value
                validate_json(output, f"output of operation {a.target!r}")
                target = a.target
            elif isinstance(a, Fork):
                _, _, fork_outs = yield _Invoke(None, params, self._forks(a))
                forks.extend(fork_outs)
            elif isinstance(a, Cache):
                store = (a.key, a.ttl_ns)
                self._need_cache(points.after)
            if store is not None:
                self._need_cache(points.after).put(store[0], output, store[1])
            return done(output, "operation", target)


# Ids: a random per-process prefix and a counter (unique, and ~20x cheaper than uuid4 per run).
_ID_PREFIX = uuid.uuid4().hex[:12]
_ID_COUNTER = itertools.count(1)


def _new_id() -> str:
    return f"{_ID_PREFIX}-{next(_ID_COUNTER)}"


def _params_of(ex: Execution, params: dict[str, Any], point: str) -> dict[str, Any]:
    data = ex.context.data
    if "params" not in data:
        return {}
    new = data["params"]
    if not isinstance(new, dict):
        raise InvalidArgument(
            f"{point}.data.params", f"a hook made the params a {type(new).__name__}, not an object"
        )
    return new


def _cancel_if_stopped(r: HookResult, attempt: int, point: str) -> None:
    """At a before or after point, a CANCEL and a RETRY with no attempt left both end the run
    with OperationCancelled naming the point."""
    if isinstance(r, Cancel):
        raise OperationCancelled(r.reason, field=point)
    if isinstance(r, Retry) and attempt >= r.max_attempts:
        raise OperationCancelled(
            f"still asked to retry after {attempt} attempt(s) (max_attempts {r.max_attempts})",
            field=point,
        )


def _fork_outcome(name: str, params: dict[str, Any], ok: bool, value: Any) -> ForkOutcome:
    if ok:
        return ForkOutcome(name, params, value)
    return ForkOutcome(name, params, None, value)


def run(
    executor: ExecutorLike,
    operation: str,
    params: dict[str, Any],
    call: OperationFn | None = None,
    *,
    points: RunPoints | None = None,
    operations: OperationRegistry | None = None,
    cache: CacheStore | None = None,
    clock: Clock | None = None,
    context: HookContext | None = None,
) -> RunResult:
    """Run one operation through `points` synchronously; see the module docstring.

    For repeated runs sharing an OperationRegistry and a CacheStore, build a `Runner` once.
    """
    runner = Runner(executor, operations=operations, cache=cache, clock=clock, points=points)
    return runner.run(operation, params, call, context=context)


@_async_twin(run)
async def arun(
    executor: ExecutorLike,
    operation: str,
    params: dict[str, Any],
    call: OperationFn | None = None,
    *,
    context: HookContext | None = None,
    **settings: Any,
) -> RunResult:
    """Async `run`: hooks via `executor.aexecute`, async operations awaited, forks gathered."""
    return await Runner(executor, **settings).arun(operation, params, call, context=context)
