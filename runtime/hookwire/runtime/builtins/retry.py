"""Retry with backoff: at an error point, return RETRY with the delay for attempt n.

Delay before retry n (n = 1 after the first failed attempt), with `base` and `cap` in ns:

- FIXED: `base`;  LINEAR: `base * n`;  EXPONENTIAL: `base * multiplier ** (n - 1)`;
  then capped at `cap`. Call the result `d`.
- Jitter, with `u = rng.random()` in [0, 1):
  NONE `d`; FULL `floor(d * u)`; EQUAL `h + floor((d - h) * u)` with `h = d // 2`;
  DECORRELATED `min(cap, base + floor((3 * prev - base) * u))`, where `prev` is the previous
  delay of the same operation (`base` before the first retry). DECORRELATED grows by itself and
  ignores the backoff strategy (AWS "decorrelated jitter").

The hook reads the attempt that just failed from `metadata["hookwire.attempt"]` (what `run()`
sets; configurable) and the error code from `context.operation.error.code`.

Example:
    >>> from hookwire.runtime.clock import VirtualClock
    >>> policy = RetryPolicy(max_attempts=4, base_delay_ns=100_000_000, backoff=Backoff.EXPONENTIAL)
    >>> hook = RetryHook(policy, VirtualClock())
    >>> [hook.delay_ns(n) for n in (1, 2, 3)]
    [100000000, 200000000, 400000000]
"""

from __future__ import annotations

import math
import random
from collections import OrderedDict
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from hookwire.runtime.builtins.field_path import MISSING, FieldPath
from hookwire.runtime.clock import Clock
from hookwire.runtime.context import HookContext
from hookwire.runtime.errors import InvalidArgument
from hookwire.runtime.limits import UINT32_MAX
from hookwire.runtime.results import HookResult, Retry, Skipped

__all__ = ["Backoff", "Jitter", "RetryHook", "RetryPolicy", "backoff_delay_ns"]

# Decorrelated jitter remembers the last delay per operation; bounded so it cannot grow forever.
_MAX_TRACKED = 10_000


class Backoff(StrEnum):
    """How the delay grows with the retry number."""

    FIXED = "FIXED"
    LINEAR = "LINEAR"
    EXPONENTIAL = "EXPONENTIAL"


class Jitter(StrEnum):
    """How randomness is mixed into the delay (see the module docstring for the formulas)."""

    NONE = "NONE"
    FULL = "FULL"
    EQUAL = "EQUAL"
    DECORRELATED = "DECORRELATED"


def _check_int(value: Any, name: str, minimum: int, maximum: int | None = None) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidArgument(name, f"must be an int, got {type(value).__name__}")
    if value < minimum or (maximum is not None and value > maximum):
        bound = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
        raise InvalidArgument(name, f"must be {bound}, got {value}")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Configuration of the retry hook; durations in nanoseconds.

    `max_attempts` counts attempts in all (the first included). `retryable_codes` None = every
    error code is retried; otherwise only the listed `operation.error.code` values.

    Example:
        >>> RetryPolicy(max_attempts=0)
        Traceback (most recent call last):
        ...
        hookwire.runtime.errors.InvalidArgument: max_attempts: must be in [1, 4294967295], got 0
    """

    max_attempts: int = 3
    base_delay_ns: int = 100_000_000
    max_delay_ns: int = 30_000_000_000
    backoff: Backoff = Backoff.EXPONENTIAL
    multiplier: float = 2.0
    jitter: Jitter = Jitter.NONE
    retryable_codes: frozenset[str] | None = field(default=None)

    def __post_init__(self) -> None:
        _check_int(self.max_attempts, "max_attempts", 1, UINT32_MAX)
        _check_int(self.base_delay_ns, "base_delay_ns", 0)
        _check_int(self.max_delay_ns, "max_delay_ns", 0)
        if self.max_delay_ns < self.base_delay_ns:
            raise InvalidArgument(
                "max_delay_ns",
                f"must be >= base_delay_ns ({self.base_delay_ns}), got {self.max_delay_ns}",
            )
        if not isinstance(self.backoff, Backoff):
            raise InvalidArgument("backoff", f"must be a Backoff, got {self.backoff!r}")
        if not isinstance(self.jitter, Jitter):
            raise InvalidArgument("jitter", f"must be a Jitter, got {self.jitter!r}")
        m = self.multiplier
        if isinstance(m, bool) or not isinstance(m, (int, float)) or not math.isfinite(m) or m < 1:
            raise InvalidArgument("multiplier", f"must be a finite number >= 1, got {m!r}")
        codes = self.retryable_codes
        if codes is not None:
            if isinstance(codes, str) or not all(isinstance(c, str) for c in codes):
                raise InvalidArgument(
                    "retryable_codes", f"must be a set of strings or None, got {codes!r}"
                )
            object.__setattr__(self, "retryable_codes", frozenset(codes))


def backoff_delay_ns(policy: RetryPolicy, retry: int) -> int:
    """The delay before retry `retry` (1-based) without jitter, capped at max_delay_ns.

    Example:
        >>> p = RetryPolicy(base_delay_ns=50, max_delay_ns=120, backoff=Backoff.LINEAR)
        >>> [backoff_delay_ns(p, n) for n in (1, 2, 3)]
        [50, 100, 120]
    """
    _check_int(retry, "retry", 1)
    base, cap = policy.base_delay_ns, policy.max_delay_ns
    if policy.backoff is Backoff.FIXED:
        raw = base
    elif policy.backoff is Backoff.LINEAR:
        raw = base * retry
    else:
        m = float(policy.multiplier)
        if base == 0 or m == 1.0:
            return min(base, cap)
        # Compare logarithms first: multiplier ** (retry - 1) may not fit in a float.
        if (retry - 1) * math.log(m) >= math.log(cap / base):
            return cap
        raw = int(base * m ** (retry - 1))
    return min(raw, cap)


class RetryHook:
    """An error-point hook returning RETRY{delay for attempt n, max_attempts} while attempts last.

    Declines (SKIPPED, with the reason) when the context has no operation error, the code is not
    retryable, or no attempt is left. Register it like any hook:
    `registry.register(RetryHook(policy, clock), name="retry", point="tool_error")`.
    Pass `rng=random.Random(seed)` for reproducible jitter.

    Example:
        >>> from hookwire.runtime.clock import VirtualClock
        >>> from hookwire.runtime.context import HookContext, Operation, OperationError
        >>> hook = RetryHook(RetryPolicy(max_attempts=2, base_delay_ns=10), VirtualClock())
        >>> op = Operation("search", "op1", error=OperationError("timeout", "slow"))
        >>> hook(HookContext("tool_error", operation=op, metadata={"hookwire.attempt": "1"}))
        Retry(delay_ns=10, max_attempts=2)
        >>> hook(HookContext("tool_error", operation=op, metadata={"hookwire.attempt": "2"}))
        Skipped(reason='attempt 2 of 2 failed: no retries left')
    """

    __slots__ = ("_attempt_path", "_clock", "_previous", "_rng", "policy")

    def __init__(
        self,
        policy: RetryPolicy,
        clock: Clock,
        *,
        rng: random.Random | None = None,
        attempt_path: str = "metadata.hookwire.attempt",
    ) -> None:
        if not isinstance(policy, RetryPolicy):
            raise InvalidArgument("policy", f"must be a RetryPolicy, got {type(policy).__name__}")
        self.policy = policy
        # The clock is not needed for the delay itself (run() sleeps on its own clock); kept so
        # every built-in has the same constructor shape.
        self._clock = clock
        self._rng = rng if rng is not None else random.Random()
        self._attempt_path = FieldPath(attempt_path, "attempt_path")
        self._previous: OrderedDict[tuple[str, str], int] = OrderedDict()

    def delay_ns(self, retry: int, key: tuple[str, str] = ("", "")) -> int:
        """The delay before retry `retry` (1-based) with jitter; `key` names the operation whose
        previous delay DECORRELATED jitter continues from."""
        p = self.policy
        jitter = p.jitter
        if jitter is Jitter.DECORRELATED:
            prev = p.base_delay_ns if retry == 1 else self._previous.get(key, p.base_delay_ns)
            upper = 3 * prev
            d = min(
                p.max_delay_ns,
                p.base_delay_ns + math.floor((upper - p.base_delay_ns) * self._rng.random()),
            )
            self._previous[key] = d
            self._previous.move_to_end(key)
            while len(self._previous) > _MAX_TRACKED:
                self._previous.popitem(last=False)
            return d
        d = backoff_delay_ns(p, retry)
        if jitter is Jitter.NONE:
            return d
        u = self._rng.random()
        if jitter is Jitter.FULL:
            return math.floor(d * u)
        half = d // 2
        return half + math.floor((d - half) * u)

    def __call__(self, ctx: HookContext) -> HookResult:
        op = ctx.operation
        if op is None or op.error is None:
            return Skipped("no operation error in the context")
        codes = self.policy.retryable_codes
        if codes is not None and op.error.code not in codes:
            return Skipped(f"error code {op.error.code!r} is not retryable")
        raw = self._attempt_path.get(ctx)
        attempt = 1 if raw is MISSING else _parse_attempt(raw, self._attempt_path.text)
        key = (ctx.correlation_id, op.id)
        if attempt >= self.policy.max_attempts:
            self._previous.pop(key, None)
            return Skipped(
                f"attempt {attempt} of {self.policy.max_attempts} failed: no retries left"
            )
        return Retry(self.delay_ns(attempt, key), self.policy.max_attempts)

    def __repr__(self) -> str:
        return f"RetryHook({self.policy!r})"


def _parse_attempt(raw: Any, path: str) -> int:
    if isinstance(raw, str) and raw.isdigit():
        raw = int(raw)
    if not isinstance(raw, int) or isinstance(raw, bool) or raw < 1:
        raise InvalidArgument(path, f"must be an attempt number >= 1, got {raw!r}")
    return raw
