"""Retry built-in: backoff formulas, jitter with hand-computed values, the hook's decisions."""

from __future__ import annotations

import random

import pytest
from hookwire.runtime.builtins.retry import (
    Backoff,
    Jitter,
    RetryHook,
    RetryPolicy,
    backoff_delay_ns,
)
from hookwire.runtime.clock import VirtualClock
from hookwire.runtime.context import HookContext, Operation, OperationError
from hookwire.runtime.errors import InvalidArgument
from hookwire.runtime.results import Retry, Skipped

MS = 1_000_000


class FixedRandom(random.Random):
    """A Random whose random() returns the given values in turn (then repeats the last)."""

    def __init__(self, *values: float) -> None:
        super().__init__(0)
        self.values = list(values)

    def random(self) -> float:
        return self.values.pop(0) if len(self.values) > 1 else self.values[0]


def test_fixed_linear_exponential_and_cap() -> None:
    fixed = RetryPolicy(base_delay_ns=70 * MS, backoff=Backoff.FIXED)
    linear = RetryPolicy(base_delay_ns=50 * MS, backoff=Backoff.LINEAR)
    expo = RetryPolicy(base_delay_ns=100 * MS, max_delay_ns=500 * MS)
    expo3 = RetryPolicy(base_delay_ns=10 * MS, multiplier=3.0)
    assert [backoff_delay_ns(fixed, n) for n in (1, 2, 5)] == [70 * MS] * 3
    assert [backoff_delay_ns(linear, n) for n in (1, 2, 3)] == [50 * MS, 100 * MS, 150 * MS]
    assert [backoff_delay_ns(expo, n) for n in (1, 2, 3, 4)] == [
        100 * MS,
        200 * MS,
        400 * MS,
        500 * MS,
    ]
    assert [backoff_delay_ns(expo3, n) for n in (1, 2, 3)] == [10 * MS, 30 * MS, 90 * MS]
    # A huge retry number saturates at the cap instead of overflowing.
    assert backoff_delay_ns(expo, 100_000) == 500 * MS


def test_full_and_equal_jitter_with_fixed_draws() -> None:
    full = RetryHook(
        RetryPolicy(base_delay_ns=100 * MS, jitter=Jitter.FULL),
        VirtualClock(),
        rng=FixedRandom(0.25),
    )
    # retry 3: d = 400 ms; floor(400 ms * 0.25) = 100 ms
    assert full.delay_ns(3) == 100 * MS
    equal = RetryHook(
        RetryPolicy(base_delay_ns=100 * MS, jitter=Jitter.EQUAL),
        VirtualClock(),
        rng=FixedRandom(0.25),
    )
    # retry 3: d = 400 ms, h = 200 ms; 200 + floor(200 * 0.25) = 250 ms
    assert equal.delay_ns(3) == 250 * MS


def test_decorrelated_jitter_continues_from_previous_delay_and_caps() -> None:
    policy = RetryPolicy(base_delay_ns=100 * MS, max_delay_ns=1000 * MS, jitter=Jitter.DECORRELATED)
    hook = RetryHook(policy, VirtualClock(), rng=FixedRandom(0.5, 0.5, 0.9, 0.9))
    key = ("corr", "op")
    # prev = base = 100: 100 + (300 - 100) * 0.5 = 200
    assert hook.delay_ns(1, key) == 200 * MS
    # prev = 200: 100 + (600 - 100) * 0.5 = 350
    assert hook.delay_ns(2, key) == 350 * MS
    # prev = 350: 100 + (1050 - 100) * 0.9 = 955
    assert hook.delay_ns(3, key) == 955 * MS
    # prev = 955: 100 + (2865 - 100) * 0.9 = 2588.5 -> capped at 1000
    assert hook.delay_ns(4, key) == 1000 * MS
    # Retry 1 of a new sequence starts again from base.
    hook2 = RetryHook(policy, VirtualClock(), rng=FixedRandom(0.5))
    assert hook2.delay_ns(1, key) == 200 * MS


def test_seeded_full_jitter_is_reproducible() -> None:
    # random.Random(42).random() == 0.6394267984578837 (CPython's documented Mersenne Twister).
    policy = RetryPolicy(base_delay_ns=1_000 * MS, jitter=Jitter.FULL)
    a = RetryHook(policy, VirtualClock(), rng=random.Random(42))
    assert a.delay_ns(1) == 639_426_798
    b1 = RetryHook(policy, VirtualClock(), rng=random.Random(7))
    b2 = RetryHook(policy, VirtualClock(), rng=random.Random(7))
    assert [b1.delay_ns(n) for n in (1, 2, 3)] == [b2.delay_ns(n) for n in (1, 2, 3)]


def _error_ctx(code: str, attempt: str | None) -> HookContext:
    meta = {} if attempt is None else {"hookwire.attempt": attempt}
    op = Operation("search", "op-1", error=OperationError(code, "boom"))
    return HookContext("tool_error", {}, metadata=meta, correlation_id="c", operation=op)


def test_hook_returns_retry_until_attempts_are_used_up() -> None:
    policy = RetryPolicy(max_attempts=3, base_delay_ns=100 * MS)
    hook = RetryHook(policy, VirtualClock())
    assert hook(_error_ctx("timeout", "1")) == Retry(100 * MS, 3)
    assert hook(_error_ctx("timeout", "2")) == Retry(200 * MS, 3)
    assert hook(_error_ctx("timeout", "3")) == Skipped("attempt 3 of 3 failed: no retries left")
    # No attempt metadata = the first attempt failed.
    assert hook(_error_ctx("timeout", None)) == Retry(100 * MS, 3)


def test_hook_only_retries_listed_codes() -> None:
    hook = RetryHook(RetryPolicy(retryable_codes=frozenset({"timeout"})), VirtualClock())
    assert isinstance(hook(_error_ctx("timeout", "1")), Retry)
    assert hook(_error_ctx("not_found", "1")) == Skipped("error code 'not_found' is not retryable")
    assert hook(HookContext("tool_error")) == Skipped("no operation error in the context")


def test_bad_attempt_metadata_is_a_clear_error() -> None:
    hook = RetryHook(RetryPolicy(), VirtualClock())
    with pytest.raises(InvalidArgument, match=r"metadata\.hookwire\.attempt: must be an attempt"):
        hook(_error_ctx("x", "zero"))


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"max_attempts": 0}, "max_attempts"),
        ({"base_delay_ns": -1}, "base_delay_ns"),
        ({"base_delay_ns": 10, "max_delay_ns": 5}, "max_delay_ns"),
        ({"multiplier": 0.5}, "multiplier"),
        ({"multiplier": float("nan")}, "multiplier"),
        ({"backoff": "EXPONENTIAL_ISH"}, "backoff"),
        ({"jitter": "full"}, "jitter"),
        ({"retryable_codes": "timeout"}, "retryable_codes"),
    ],
)
def test_policy_validation_names_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        RetryPolicy(**kwargs)  # type: ignore[arg-type]
    assert info.value.field == field
