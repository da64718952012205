"""The hook registry: names, points, priorities, flags, lazy hooks, and precomputed chains.

Order at a point is ascending priority, then registration order (docs/semantics.md section 2). The
chain of a point is computed once and reused until the registry changes (`version`).

Example:
    >>> reg = Registry()
    >>> spec = reg.register(lambda ctx: None, name="audit", point="before_tool_execution")
    >>> @reg.hook("before_tool_execution", priority=Priority.HIGH)
    ... def check(ctx):
    ...     return None
    >>> [e.name for e in reg.chain("before_tool_execution")]
    ['check', 'audit']
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import Any, NamedTuple, TypeVar

from hookwire.runtime.adapter import (
    HookAdapter,
    HookFailed,
    PythonAsyncAdapter,
    PythonSyncAdapter,
    adapt,
)
from hookwire.runtime.breaker import (
    QUALIFIER,
    BreakerConfig,
    BreakerHolder,
    BreakerListener,
    CircuitBreaker,
)
from hookwire.runtime.clock import Clock, SystemClock
from hookwire.runtime.context import HookContext
from hookwire.runtime.errors import (
    AlreadyExists,
    AsyncHookNotAllowed,
    InvalidArgument,
    NotFound,
)
from hookwire.runtime.honoured import ALL_KINDS, honoured_results
from hookwire.runtime.language import check_language
from hookwire.runtime.limits import INT32_MAX, INT32_MIN, check_duration_ns, check_name
from hookwire.runtime.points import CUSTOM_PREFIX, parse_point
from hookwire.runtime.results import HookResult

__all__ = [
    "ChainEntry",
    "FailurePolicy",
    "HookSpec",
    "LazyAdapter",
    "Priority",
    "Registry",
]

_MS = 1_000_000
DEFAULT_TIMEOUT_NS = 100 * _MS

F = TypeVar("F", bound=Callable[..., Any])


class Priority(IntEnum):
    """Named priority levels; lower runs first."""

    HIGHEST = INT32_MIN
    HIGH = -100
    NORMAL = 0
    LOW = 100
    LOWEST = INT32_MAX


class FailurePolicy(StrEnum):
    """What a failed hook (ERROR or TIMEOUT) does to the chain."""

    FAIL_OPEN = "FAIL_OPEN"
    FAIL_CLOSED = "FAIL_CLOSED"


def _check_priority(priority: Any) -> int:
    if not isinstance(priority, int) or isinstance(priority, bool):
        raise InvalidArgument("priority", f"must be an int, got {type(priority).__name__}")
    if not INT32_MIN <= priority <= INT32_MAX:
        raise InvalidArgument("priority", f"must fit in int32 [-2^31, 2^31-1], got {priority}")
    return int(priority)


@dataclass(frozen=True, slots=True)
class HookSpec:
    """Everything that places a hook in a chain (its hookwire.v1.HookRegistration form:
    hookwire.runtime.wire.registration).

    Example:
        >>> HookSpec("h", "session_start", priority=2**31)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        hookwire.runtime.errors.InvalidArgument: priority: must fit in int32 ...
    """

    name: str
    point: str
    priority: int = 0
    language: str = "python"
    timeout_ns: int = DEFAULT_TIMEOUT_NS
    failure_policy: FailurePolicy = FailurePolicy.FAIL_OPEN
    breaker: BreakerConfig = field(default_factory=BreakerConfig)
    enabled: bool = True
    tags: frozenset[str] = frozenset()
    feature: str | None = None
    #: For a custom point: the result kinds its callers honour (None: every kind). Built-in
    #: points have a fixed table (hookwire.runtime.honoured); giving exactly it is accepted.
    honours: frozenset[str] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise InvalidArgument("name", f"must be a non-empty string, got {self.name!r}")
        check_name(self.name, "name")
        parse_point(self.point)
        _check_priority(self.priority)
        check_language(self.language, allow_empty=False)
        t = self.timeout_ns
        if not isinstance(t, int) or isinstance(t, bool) or t <= 0:
            raise InvalidArgument("timeout", f"must be a positive duration, got {t!r} ns")
        check_duration_ns(t, "timeout")
        try:
            object.__setattr__(self, "failure_policy", FailurePolicy(self.failure_policy))
        except ValueError:
            raise InvalidArgument(
                "failure_policy",
                f"must be FAIL_OPEN or FAIL_CLOSED, got {self.failure_policy!r}",
            ) from None
        if not isinstance(self.breaker, BreakerConfig):
            raise InvalidArgument("breaker", f"must be a BreakerConfig, got {self.breaker!r}")
        if not isinstance(self.enabled, bool):
            raise InvalidArgument("enabled", f"must be a bool, got {self.enabled!r}")
        tags = self.tags
        if isinstance(tags, str) or not all(isinstance(t, str) and t for t in tags):
            raise InvalidArgument("tags", f"must be non-empty strings, got {tags!r}")
        for tag in tags:
            check_name(tag, "tags")
        object.__setattr__(self, "tags", frozenset(tags))
        if self.feature is not None and (not isinstance(self.feature, str) or not self.feature):
            raise InvalidArgument(
                "feature", f"must be a non-empty string or None, got {self.feature!r}"
            )
        if self.feature is not None:
            check_name(self.feature, "feature")
        if self.honours is not None:
            object.__setattr__(self, "honours", _declared_honours(self.point, self.honours))

    @property
    def honoured(self) -> frozenset[str]:
        """The result kinds the callers of this hook's point honour."""
        return honoured_results(self.point, self.honours)


def _kinds(kinds: Iterable[Any]) -> frozenset[str]:
    if isinstance(kinds, str):
        raise InvalidArgument("honours", f"must be a collection of kinds, got {kinds!r}")
    return frozenset(str(k) for k in kinds)


def _declared_honours(point: str, declared: frozenset[str]) -> frozenset[str] | None:
    """A registration's `honours`: checked kinds for a custom point (every kind: None, as
    undeclared); for a built-in point only its own table is accepted (and dropped: the table
    applies anyway)."""
    if not point.startswith(CUSTOM_PREFIX):
        table = honoured_results(point)
        if honoured_results("custom:x", declared) != table:
            raise InvalidArgument(
                "honours",
                f"is fixed for the built-in point {point!r}: {sorted(table)} "
                "(declare it for custom points)",
            )
        return None
    kinds = honoured_results(point, declared)
    return None if kinds == ALL_KINDS else kinds  # every kind: the same as undeclared


class LazyAdapter:
    """Builds the real hook on first use by calling a zero-argument factory once.

    A factory that raises leaves the hook unbuilt: that call is an ERROR and the next call
    tries again. Once built, the registry swaps the real adapter into the chain.
    """

    __slots__ = ("_on_resolve", "factory", "language", "name", "resolved")
    is_async = False

    def __init__(
        self,
        name: str,
        factory: Callable[[], Any],
        language: str,
        on_resolve: Callable[[LazyAdapter, HookAdapter], None] | None = None,
    ) -> None:
        if not callable(factory):
            raise InvalidArgument("hook", f"lazy factory must be callable, got {factory!r}")
        self.name = name
        self.factory = factory
        self.language = language
        self.resolved: HookAdapter | None = None
        self._on_resolve = on_resolve

    def resolve(self) -> HookAdapter:
        """Call the factory (once) and return the adapter it built."""
        if self.resolved is None:
            try:
                built = self.factory()
                adapter = adapt(built)
            except Exception as exc:
                raise HookFailed(f"lazy factory of hook {self.name!r} failed: {exc}") from exc
            self.resolved = adapter
            if self._on_resolve is not None:
                self._on_resolve(self, adapter)
        return self.resolved

    def call(self, ctx: HookContext, timeout_ns: int) -> HookResult:
        adapter = self.resolve()
        if adapter.is_async:
            raise AsyncHookNotAllowed(self.name)
        return adapter.call(ctx, timeout_ns)

    async def acall(self, ctx: HookContext, timeout_ns: int) -> HookResult:
        adapter = self.resolve()
        if adapter.is_async:
            return await adapter.acall(ctx, timeout_ns)
        return adapter.call(ctx, timeout_ns)


class ChainEntry:
    """One hook as the executor sees it: spec, adapter, breaker and precomputed fields.

    `fn` is the plain function of a PythonSyncAdapter / PythonAsyncAdapter, which the
    executor calls directly (no adapter frame); None for any other adapter.
    """

    __slots__ = (
        "adapter",
        "breaker",
        "fail_closed",
        "fn",
        "honours",
        "is_async",
        "language",
        "lazy",
        "name",
        "point",
        "slow_ns",
        "spec",
        "timeout_ns",
    )

    def __init__(self, spec: HookSpec, adapter: HookAdapter, breaker: CircuitBreaker) -> None:
        self.spec = spec
        self.breaker = breaker
        self.name = spec.name
        self.language = spec.language
        self.timeout_ns = spec.timeout_ns
        self.point = spec.point
        self.honours = spec.honoured  # result kinds the point's callers act on
        self.slow_ns = spec.breaker.slow_call_duration_ns
        self.fail_closed = spec.failure_policy is FailurePolicy.FAIL_CLOSED
        self.set_adapter(adapter)

    def set_adapter(self, adapter: HookAdapter) -> None:
        self.adapter = adapter
        self.lazy = isinstance(adapter, LazyAdapter)
        self.is_async = bool(adapter.is_async)
        t = type(adapter)
        self.fn = adapter.fn if t is PythonSyncAdapter or t is PythonAsyncAdapter else None  # type: ignore[attr-defined]

    def __repr__(self) -> str:
        return f"ChainEntry({self.name!r}, priority={self.spec.priority})"


class _Registered(NamedTuple):
    """A registered hook and its registration order (ties between equal priorities)."""

    entry: ChainEntry
    seq: int


class Registry:
    """Hooks by name, and the precomputed chain of every point.

    Feature flags are off until `set_feature(name, True)` (or listed in `features`): a hook
    with `feature="beta"` runs only while "beta" is on.
    """

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        listener: BreakerListener | None = None,
        features: Iterable[str] = (),
    ) -> None:
        self._clock: Clock | None = clock
        self._listener = listener
        self._hooks: dict[str, _Registered] = {}
        self._features: set[str] = set()
        self._chains: dict[str, tuple[ChainEntry, ...]] = {}
        # Execution plans executors derive from the chains; cleared (in place) on every change.
        self.plans: dict[str, Any] = {}
        self.fast_paths: dict[str, Any] = {}
        self._seq = itertools.count()
        self.version = 0
        for f in features:
            self.set_feature(f, True)

    # -- clock and listener (bound by the executor) ----------------------------------------------

    @property
    def clock(self) -> Clock | None:
        """The clock breakers read (None until set or bound by an Executor)."""
        return self._clock

    def bind(self, clock: Clock, listener: BreakerListener | None) -> None:
        """Give every breaker this clock and transition listener (called by Executor).

        A registry serves one clock: binding a different clock than the one already set
        raises InvalidArgument.
        """
        if self._clock is not None and self._clock is not clock:
            raise InvalidArgument(
                "clock", "this registry's breakers already use another clock; share one clock"
            )
        self._clock = clock
        if listener is not None:
            self._listener = listener
        for reg in self._hooks.values():
            reg.entry.breaker.clock = clock
            reg.entry.breaker.listener = self._listener

    # -- registration --------------------------------------------------------------------------

    def register(
        self,
        hook: Any,
        *,
        name: str,
        point: str,
        priority: int = 0,
        language: str | None = None,
        timeout_ms: float | None = None,
        timeout_ns: int | None = None,
        failure_policy: FailurePolicy | str = FailurePolicy.FAIL_OPEN,
        breaker: BreakerConfig | None = None,
        tags: Iterable[str] = (),
        feature: str | None = None,
        enabled: bool = True,
        lazy: bool = False,
        honours: Iterable[str] | None = None,
    ) -> HookSpec:
        """Register a hook: a Python callable, an `async def`, a HookAdapter, or (lazy=True)
        a zero-argument factory returning one of those, called on first use.

        Raises AlreadyExists for a taken name, InvalidArgument for a bad point, priority,
        timeout, policy, breaker, tag or feature. `honours`: for a custom point, the result
        kinds its callers honour (see hookwire.runtime.honoured; None: every kind).
        """
        if timeout_ns is None:
            if timeout_ms is None:
                timeout_ns = DEFAULT_TIMEOUT_NS
            else:
                if (
                    not isinstance(timeout_ms, (int, float))
                    or isinstance(timeout_ms, bool)
                    or not math.isfinite(timeout_ms)
                    or timeout_ms <= 0
                ):
                    raise InvalidArgument(
                        "timeout_ms", f"must be a positive number, got {timeout_ms!r}"
                    )
                timeout_ns = round(timeout_ms * _MS)
        elif timeout_ms is not None:
            raise InvalidArgument("timeout_ms", "give timeout_ms or timeout_ns, not both")
        if isinstance(tags, str):
            raise InvalidArgument(
                "tags", f"must be an iterable of strings, got the string {tags!r}"
            )
        if lazy:
            adapter: HookAdapter | None = None
        else:
            adapter = adapt(hook)
        if language is None:
            language = adapter.language if adapter is not None else "python"
        spec = HookSpec(
            name=name,
            point=point,
            priority=priority,
            language=language,
            timeout_ns=timeout_ns,
            failure_policy=failure_policy,  # type: ignore[arg-type]
            breaker=breaker if breaker is not None else BreakerConfig(),
            enabled=enabled,
            tags=frozenset(tags),
            feature=feature,
            honours=None if honours is None else _kinds(honours),
        )
        if lazy:
            adapter = LazyAdapter(name, hook, spec.language, self._lazy_resolved)
        assert adapter is not None
        return self._add(spec, adapter)

    def register_spec(self, spec: HookSpec, hook: Any, *, lazy: bool = False) -> HookSpec:
        """Register a hook under a ready HookSpec."""
        if not isinstance(spec, HookSpec):
            raise InvalidArgument("spec", f"must be a HookSpec, got {type(spec).__name__}")
        adapter: HookAdapter = (
            LazyAdapter(spec.name, hook, spec.language, self._lazy_resolved)
            if lazy
            else adapt(hook)
        )
        return self._add(spec, adapter)

    def hook(
        self,
        point: str,
        *,
        name: str | None = None,
        priority: int = 0,
        **options: Any,
    ) -> Callable[[F], F]:
        """Decorator form of `register`; the name defaults to the function's `__name__`.

        Example:
            >>> reg = Registry()
            >>> @reg.hook("session_start", priority=10, tags=("audit",))
            ... def greet(ctx):
            ...     return None
            >>> reg.get("greet").priority
            10
        """

        def decorate(fn: F) -> F:
            self.register(
                fn,
                name=name if name is not None else fn.__name__,
                point=point,
                priority=priority,
                **options,
            )
            return fn

        return decorate

    def _add(self, spec: HookSpec, adapter: HookAdapter) -> HookSpec:
        if spec.name in self._hooks:
            raise AlreadyExists("name", f"a hook named {spec.name!r} is already registered")
        clock = self._clock if self._clock is not None else SystemClock()
        breaker = CircuitBreaker(spec.name, spec.breaker, clock, self._listener)
        self._hooks[spec.name] = _Registered(ChainEntry(spec, adapter, breaker), next(self._seq))
        self._changed()
        return spec

    def _lazy_resolved(self, lazy: LazyAdapter, adapter: HookAdapter) -> None:
        reg = self._hooks.get(lazy.name)
        if reg is not None and reg.entry.adapter is lazy:
            reg.entry.set_adapter(adapter)
            self._changed()

    def unregister(self, name: str) -> HookSpec:
        """Remove a hook (and its breaker); NotFound if unknown."""
        reg = self._require(name)
        del self._hooks[name]
        self._changed()
        return reg.entry.spec

    def enable(self, name: str) -> None:
        """Let a disabled hook run again (its place in the order is kept)."""
        self._set_enabled(name, True)

    def disable(self, name: str) -> None:
        """Stop calling a hook; it leaves no trace entry while disabled."""
        self._set_enabled(name, False)

    def _set_enabled(self, name: str, enabled: bool) -> None:
        reg = self._require(name)
        if reg.entry.spec.enabled is not enabled:
            spec = reg.entry.spec
            new = HookSpec(
                spec.name,
                spec.point,
                spec.priority,
                spec.language,
                spec.timeout_ns,
                spec.failure_policy,
                spec.breaker,
                enabled,
                spec.tags,
                spec.feature,
            )
            reg.entry.spec = new
            self._changed()

    def set_feature(self, feature: str, enabled: bool) -> None:
        """Turn a feature flag on or off (flags are off until turned on)."""
        if not isinstance(feature, str) or not feature:
            raise InvalidArgument("feature", f"must be a non-empty string, got {feature!r}")
        check_name(feature, "feature")
        if not isinstance(enabled, bool):
            raise InvalidArgument("enabled", f"must be a bool, got {enabled!r}")
        was = feature in self._features
        if enabled:
            self._features.add(feature)
        else:
            self._features.discard(feature)
        if was is not enabled:
            self._changed()

    def feature_enabled(self, feature: str) -> bool:
        """Whether a feature flag is on."""
        return feature in self._features

    def _changed(self) -> None:
        self.version += 1
        self._chains.clear()
        self.plans.clear()
        self.fast_paths.clear()

    def _require(self, name: str) -> _Registered:
        reg = self._hooks.get(name)
        if reg is None:
            raise NotFound("name", f"no hook named {name!r} is registered")
        return reg

    # -- reading -------------------------------------------------------------------------------

    def chain(self, point: str) -> tuple[ChainEntry, ...]:
        """The enabled hooks of a point, in call order (computed once per registry version)."""
        chain = self._chains.get(point)
        if chain is None:
            parse_point(point)
            feats = self._features
            regs = sorted(
                (
                    r
                    for r in self._hooks.values()
                    if r.entry.spec.point == point
                    and r.entry.spec.enabled
                    and (r.entry.spec.feature is None or r.entry.spec.feature in feats)
                ),
                key=lambda r: (r.entry.spec.priority, r.seq),
            )
            chain = tuple(r.entry for r in regs)
            self._chains[point] = chain
        return chain

    def get(self, name: str) -> HookSpec:
        """The spec of a registered hook; NotFound if unknown."""
        return self._require(name).entry.spec

    def entry(self, name: str) -> ChainEntry:
        """The chain entry (spec, adapter, breaker) of a registered hook; NotFound if unknown."""
        return self._require(name).entry

    def breaker(self, name: str) -> CircuitBreaker:
        """The breaker of a registered hook, or of a composite's child by qualified name
        (`"guard/flaky"`: child `flaky` of composite `guard`; as deep as composites nest). A
        hook registered under the whole name wins. NotFound if there is no such breaker.

        Example:
            >>> from hookwire.runtime.composite import Composite
            >>> r = Registry()
            >>> child = HookSpec("flaky", "before_tool_execution")
            >>> _ = r.register(Composite("SEQUENTIAL", [(child, lambda ctx: None)]),
            ...                name="guard", point="before_tool_execution")
            >>> r.breaker("guard/flaky").state
            <BreakerState.CLOSED: 'CLOSED'>
        """
        reg = self._hooks.get(name)
        if reg is not None:
            return reg.entry.breaker
        head, sep, rest = name.partition(QUALIFIER) if isinstance(name, str) else ("", "", "")
        outer = self._hooks.get(head) if sep else None
        if outer is not None and isinstance(outer.entry.adapter, BreakerHolder):
            try:
                return outer.entry.adapter.breaker(rest)
            except NotFound:
                pass
        raise NotFound("name", f"no hook named {name!r} is registered")

    def breakers(self) -> dict[str, CircuitBreaker]:
        """Every breaker by name, in registration order: each hook's, and right after a
        composite's, its children's under qualified names (`"guard/flaky"`)."""
        out: dict[str, CircuitBreaker] = {}
        for name, reg in self._hooks.items():
            out[name] = reg.entry.breaker
            adapter = reg.entry.adapter
            if isinstance(adapter, BreakerHolder):
                for child, b in adapter.breakers().items():
                    out.setdefault(f"{name}{QUALIFIER}{child}", b)
        return out

    def __contains__(self, name: object) -> bool:
        return name in self._hooks

    def __len__(self) -> int:
        return len(self._hooks)

    def hooks(
        self,
        point: str | None = None,
        language: str | None = None,
        tag: str | None = None,
        priority_range: tuple[int, int] | None = None,
    ) -> list[HookSpec]:
        """Registered hooks (enabled or not) matching every given filter, in call order.

        `priority_range` is inclusive: `(lo, hi)` keeps lo <= priority <= hi.
        """
        if point is not None:
            parse_point(point)
        if language is not None:
            check_language(language, allow_empty=False)
        if priority_range is not None:
            if (
                not isinstance(priority_range, tuple)
                or len(priority_range) != 2
                or priority_range[0] > priority_range[1]
            ):
                raise InvalidArgument(
                    "priority_range",
                    f"must be a (low, high) tuple with low <= high, got {priority_range!r}",
                )
            lo, hi = (_check_priority(p) for p in priority_range)
        regs = sorted(self._hooks.values(), key=lambda r: (r.entry.spec.priority, r.seq))
        out = []
        for r in regs:
            s = r.entry.spec
            if point is not None and s.point != point:
                continue
            if language is not None and s.language != language:
                continue
            if tag is not None and tag not in s.tags:
                continue
            if priority_range is not None and not lo <= s.priority <= hi:
                continue
            out.append(s)
        return out
