"""Composite hooks: one hook whose body runs child hooks (docs/semantics.md section 6).

A Composite is a HookAdapter, registered like any hook (own name, priority, breaker). Each
child is a `(HookSpec, hook)` pair with its own timeout, failure policy and breaker; children
run in declared order (their priorities and points are not used inside a composite).

Example:
    >>> from hookwire.runtime.clock import VirtualClock
    >>> from hookwire.runtime.context import HookContext
    >>> from hookwire.runtime.executor import Executor
    >>> from hookwire.runtime.registry import Registry
    >>> from hookwire.runtime.results import Cancel, Modified
    >>> vote = Composite(
    ...     CompositeKind.VOTING,
    ...     [
    ...         child(lambda ctx: Cancel("spam"), name="a"),
    ...         child(lambda ctx: Cancel("abuse"), name="b"),
    ...         child(lambda ctx: None, name="c"),
    ...     ],
    ... )
    >>> reg = Registry()
    >>> _ = reg.register(vote, name="moderation", point="before_agent_execution")
    >>> ex = Executor(reg, clock=VirtualClock())
    >>> ex.execute("before_agent_execution", HookContext("before_agent_execution")).result
    Cancel(reason='spam')
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from enum import StrEnum
from fractions import Fraction
from functools import partial
from math import ceil
from typing import Any, TypeVar

from hookwire.runtime.adapter import HookTimedOut
from hookwire.runtime.breaker import BreakerConfig, BreakerListener, BreakerStatus, CircuitBreaker
from hookwire.runtime.clock import Clock, SystemClock
from hookwire.runtime.context import HookContext
from hookwire.runtime.errors import InvalidArgument
from hookwire.runtime.executor import Executor, Invocation
from hookwire.runtime.hook_call import HookCalls, calling, hook_call_running
from hookwire.runtime.json_value import copy_json, merge_patch, merge_patch_diff
from hookwire.runtime.registry import ChainEntry, FailurePolicy, HookSpec, Registry
from hookwire.runtime.results import (
    CONTINUE,
    PRECEDENCE,
    HookResult,
    Modified,
    ResultKind,
)

__all__ = ["Child", "Composite", "CompositeKind", "TieBreaker", "child"]

# The point children are chained under inside a composite (never seen outside it).
_INNER_POINT = "custom:hookwire.composite"
_RANK = {kind: i for i, kind in enumerate(PRECEDENCE)}
T = TypeVar("T")

Child = tuple[HookSpec, Any]


class CompositeKind(StrEnum):
    """How a composite combines its children."""

    SEQUENTIAL = "SEQUENTIAL"
    FIRST_MATCH = "FIRST_MATCH"
    PARALLEL = "PARALLEL"
    VOTING = "VOTING"


class TieBreaker(StrEnum):
    """How VOTING breaks a tie between kinds with equal votes."""

    FIRST_VOTE = "FIRST_VOTE"
    PREFER_CONTINUE = "PREFER_CONTINUE"
    PREFER_ACTION = "PREFER_ACTION"


def child(
    hook: Any,
    *,
    name: str,
    language: str = "python",
    timeout_ms: float = 100,
    failure_policy: FailurePolicy | str = FailurePolicy.FAIL_OPEN,
    breaker: BreakerConfig | None = None,
    enabled: bool = True,
    tags: Sequence[str] = (),
) -> Child:
    """A `(HookSpec, hook)` pair for a composite's child list."""
    spec = HookSpec(
        name=name,
        point=_INNER_POINT,
        language=language,
        timeout_ns=round(timeout_ms * 1_000_000),
        failure_policy=failure_policy,  # type: ignore[arg-type]
        breaker=breaker if breaker is not None else BreakerConfig(),
        enabled=enabled,
        tags=frozenset(tags),
    )
    return spec, hook


class Composite:
    """A hook made of child hooks, combined by `kind`.

    - SEQUENTIAL: the children run as a chain (section 3); the composite returns the
      chain's final result (a MODIFIED carries the patch from the input data to the
      chain's final data, so deletions made inside reach the outer chain).
    - FIRST_MATCH: the first child result that is neither CONTINUE nor SKIPPED (a failed
      FAIL_CLOSED child's CANCEL counts); none: CONTINUE.
    - PARALLEL: every child gets its own copy of the input context; under `aexecute` they
      run concurrently (asyncio.gather), under `execute` one after the other. Combined by
      PRECEDENCE, earliest child first among equal kinds, MODIFIED patches in declared order.
    - VOTING: see docs/semantics.md section 6; `threshold` in (0, 1], `tie_breaker`.

    Children's breakers belong to the composite (`breaker(name)`, `breaker_states()`);
    their transitions go to the executor's event sink like any other breaker's.
    """

    language = "python"

    def __init__(
        self,
        kind: CompositeKind | str,
        children: Sequence[Child],
        *,
        threshold: float = 0.5,
        tie_breaker: TieBreaker | str = TieBreaker.FIRST_VOTE,
        clock: Clock | None = None,
    ) -> None:
        try:
            self.kind = CompositeKind(kind)
        except ValueError:
            raise InvalidArgument(
                "kind", f"must be one of {[k.value for k in CompositeKind]}, got {kind!r}"
            ) from None
        try:
            self.tie_breaker = TieBreaker(tie_breaker)
        except ValueError:
            raise InvalidArgument(
                "tie_breaker",
                f"must be one of {[t.value for t in TieBreaker]}, got {tie_breaker!r}",
            ) from None
        if (
            not isinstance(threshold, (int, float))
            or isinstance(threshold, bool)
            or not 0 < threshold <= 1
        ):
            raise InvalidArgument("threshold", f"must be a number in (0, 1], got {threshold!r}")
        self.threshold = threshold
        # ceil(threshold * n) on the threshold as written (0.7 * 10 is 7, not 7.000000000000001).
        self._threshold_exact = Fraction(repr(float(threshold)))
        if isinstance(children, (str, bytes)) or not children:
            raise InvalidArgument("children", "must be a non-empty sequence of (HookSpec, hook)")
        self._registry = Registry(clock=clock)
        for i, item in enumerate(children):
            if not isinstance(item, tuple) or len(item) != 2 or not isinstance(item[0], HookSpec):
                raise InvalidArgument(f"children[{i}]", "must be a (HookSpec, hook) pair")
            spec, hook = item
            if spec.feature is not None:
                raise InvalidArgument(
                    f"children[{i}].feature", "feature flags are not supported on children"
                )
            # Declared order: same point, same priority, registration order.
            inner = replace(spec, point=_INNER_POINT, priority=0)
            self._registry.register_spec(inner, hook)
        self.is_async = any(self._registry.entry(s.name).is_async for s in self._registry.hooks())
        self._executor: Executor | None = None
        # The children's executor inside a hook call (made when first needed): see _chain_ex.
        self._calls_executor: Executor | None = None
        if clock is not None:
            self._executor = Executor(self._registry, clock=clock)

    # -- binding ---------------------------------------------------------------------------------

    def attach(self, clock: Clock, listener: BreakerListener | None = None) -> None:
        """Use the outer executor's clock and breaker listener (called by Executor)."""
        if self._executor is None:
            self._registry.bind(clock, listener)
            self._executor = Executor(self._registry, clock=clock)
        else:
            self._registry.bind(clock, listener)

    def _ex(self) -> Executor:
        if self._executor is None:
            self.attach(SystemClock())
        assert self._executor is not None
        return self._executor

    def _chain_ex(self, traced: bool) -> Executor:
        """The executor of a SEQUENTIAL chain. Inside a hook call (an outer executor with
        HookCalls) each child is a hook call of its own, so the events it publishes name it
        (its own name, as its breaker transitions do), the same whether it runs here or in a
        worker; elsewhere the children cost what they cost without it."""
        ex = self._ex()
        if not traced:
            return ex
        if self._calls_executor is None:
            self._calls_executor = Executor(self._registry, clock=ex.clock, observers=[HookCalls()])
        return self._calls_executor

    def breaker(self, name: str) -> CircuitBreaker:
        """A child's breaker (`"inner/leaf"` for a nested composite's child); NotFound if
        there is no such child."""
        return self._registry.breaker(name)

    def breakers(self) -> dict[str, CircuitBreaker]:
        """Every child's breaker by name (nested children qualified), in declared order."""
        return self._registry.breakers()

    def breaker_states(self) -> dict[str, BreakerStatus]:
        """Every child's breaker status."""
        return {n: b.status() for n, b in self._registry.breakers().items()}

    @property
    def children(self) -> list[HookSpec]:
        """The children's specs, in declared order."""
        return self._registry.hooks()

    # -- calling ---------------------------------------------------------------------------------

    def call(self, ctx: HookContext, timeout_ns: int) -> HookResult:
        traced = hook_call_running()
        if self.kind is CompositeKind.SEQUENTIAL:
            run = self._chain_ex(traced).execute(_INNER_POINT, ctx)
            return self._sequential_result(ctx, run.result, run.context)
        calls = self._child_calls(ctx, self._ex().invoke, traced)
        if self.kind is CompositeKind.FIRST_MATCH:
            for inv in calls:
                found = _match(inv)
                if found is not None:
                    return found
            return CONTINUE
        return self._combine(ctx, list(calls))

    async def acall(self, ctx: HookContext, timeout_ns: int) -> HookResult:
        try:
            async with asyncio.timeout(timeout_ns / 1e9):
                return await self._acall(ctx)
        except TimeoutError:
            raise HookTimedOut("timeout") from None

    async def _acall(self, ctx: HookContext) -> HookResult:
        traced = hook_call_running()
        if self.kind is CompositeKind.SEQUENTIAL:
            run = await self._chain_ex(traced).aexecute(_INNER_POINT, ctx)
            return self._sequential_result(ctx, run.result, run.context)
        calls = self._child_calls(ctx, self._ex().ainvoke, traced)
        if self.kind is CompositeKind.FIRST_MATCH:
            for inv in calls:
                found = _match(await inv)
                if found is not None:
                    return found
            return CONTINUE
        return self._combine(ctx, list(await asyncio.gather(*calls)))

    def _child_calls(
        self, ctx: HookContext, invoke: Callable[[ChainEntry, HookContext], T], traced: bool
    ) -> Iterator[T]:
        """`invoke(child, ctx)` for each child in turn, lazily (FIRST_MATCH stops at a match):
        inside a hook call each is the child's own hook call; outside FIRST_MATCH each child
        gets its own copy of the data."""
        copy = self.kind is not CompositeKind.FIRST_MATCH
        for e in self._registry.chain(_INNER_POINT):
            c = ctx.with_data(copy_json(ctx.data)) if copy else ctx
            yield calling(e.name, c, partial(invoke, e)) if traced else invoke(e, c)

    # -- combining -------------------------------------------------------------------------------

    @staticmethod
    def _sequential_result(ctx: HookContext, result: HookResult, final: HookContext) -> HookResult:
        if isinstance(result, Modified):
            return Modified(merge_patch_diff(ctx.data, final.data))
        return result

    def _combine(self, ctx: HookContext, invs: list[Invocation]) -> HookResult:
        if self.kind is CompositeKind.PARALLEL:
            return _parallel(ctx, invs)
        return self._vote(ctx, invs)

    def _vote(self, ctx: HookContext, invs: list[Invocation]) -> HookResult:
        votes: dict[ResultKind, list[HookResult]] = {}
        for inv in invs:
            r = inv.result
            if r is None or r.kind is ResultKind.SKIPPED:
                continue  # failed, refused by its breaker, or declined: no vote
            votes.setdefault(r.kind, []).append(r)
        need = ceil(self._threshold_exact * len(invs))
        qualified = {k: v for k, v in votes.items() if len(v) >= need}
        if not qualified:
            return CONTINUE
        most = max(len(v) for v in qualified.values())
        tied = [k for k, v in qualified.items() if len(v) == most]  # in first-vote order
        if len(tied) == 1:
            winner = tied[0]
        elif self.tie_breaker is TieBreaker.PREFER_ACTION:
            winner = min(tied, key=_RANK.__getitem__)
        elif self.tie_breaker is TieBreaker.PREFER_CONTINUE and ResultKind.CONTINUE in tied:
            winner = ResultKind.CONTINUE
        else:
            winner = tied[0]
        results = qualified[winner]
        if winner is ResultKind.MODIFIED:
            return _merged(ctx, results)
        return results[0]


def _match(inv: Invocation) -> HookResult | None:
    """A FIRST_MATCH candidate: the child's result unless CONTINUE / SKIPPED / failed-open."""
    if inv.failed:
        return inv.failure_result() if inv.entry.fail_closed else None
    r = inv.result
    if r is None or r.kind is ResultKind.CONTINUE or r.kind is ResultKind.SKIPPED:
        return None
    return r


def _merged(ctx: HookContext, results: list[HookResult]) -> Modified:
    data = ctx.data
    for r in results:
        data = merge_patch(data, r.data)  # type: ignore[union-attr]
    return Modified(merge_patch_diff(ctx.data, data))


def _parallel(ctx: HookContext, invs: list[Invocation]) -> HookResult:
    best: ResultKind | None = None
    chosen: list[HookResult] = []
    for inv in invs:
        if inv.failed:
            if not inv.entry.fail_closed:
                r: HookResult = CONTINUE
            else:
                r = inv.failure_result()
        elif inv.result is None or inv.result.kind is ResultKind.SKIPPED:
            continue
        else:
            r = inv.result
        k = r.kind
        if best is None or _RANK[k] < _RANK[best]:
            best = k
            chosen = [r]
        elif k is best:
            chosen.append(r)
    if best is None:
        return CONTINUE
    if best is ResultKind.MODIFIED:
        return _merged(ctx, chosen)
    return chosen[0]
