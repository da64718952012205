"""Rate limit: per-key token buckets on the virtual clock, CANCEL and RETRY answers."""

from __future__ import annotations

import pytest
from hookwire.runtime.builtins.rate_limit import MISSING_KEY, RateLimitAction, RateLimitHook
from hookwire.runtime.clock import VirtualClock
from hookwire.runtime.context import HookContext
from hookwire.runtime.errors import InvalidArgument
from hookwire.runtime.results import Cancel, Retry


def _ctx(user: object = None) -> HookContext:
    data = {} if user is None else {"params": {"user_id": user}}
    return HookContext("before_tool_execution", data, correlation_id="c")


def test_cancel_when_a_keys_bucket_is_empty_and_keys_are_independent() -> None:
    clock = VirtualClock()
    hook = RateLimitHook(clock, rate=2, burst=2, key_path="data.params.user_id")
    assert hook(_ctx("ann")) is None
    assert hook(_ctx("ann")) is None
    assert hook(_ctx("ann")) == Cancel(
        "rate limit exceeded for data.params.user_id='ann' (2/s, burst 2)"
    )
    assert hook(_ctx("bob")) is None  # another key, another bucket
    clock.advance_ms(500)  # 2/s: one token back after 500 ms
    assert hook(_ctx("ann")) is None
    assert isinstance(hook(_ctx("ann")), Cancel)


def test_retry_carries_the_wait_until_the_next_token() -> None:
    clock = VirtualClock()
    hook = RateLimitHook(
        clock,
        rate=4,
        burst=1,
        key_path="data.params.user_id",
        action=RateLimitAction.RETRY,
        max_attempts=5,
    )
    assert hook(_ctx("ann")) is None
    clock.advance_ms(100)
    # 4/s = one token per 250 ms; 100 ms have passed, 150 ms remain.
    assert hook(_ctx("ann")) == Retry(150_000_000, 5)
    clock.advance_ms(150)
    assert hook(_ctx("ann")) is None


def test_missing_key_shares_one_bucket_and_non_string_keys_work() -> None:
    hook = RateLimitHook(VirtualClock(), rate=1, burst=1, key_path="data.params.user_id")
    assert hook.key(_ctx()) == MISSING_KEY
    assert hook(_ctx()) is None
    assert isinstance(hook(_ctx()), Cancel)
    assert hook.key(_ctx(7)) == "7"
    assert hook.available("7") == 1.0


def test_least_recently_used_bucket_is_dropped_beyond_max_keys() -> None:
    hook = RateLimitHook(
        VirtualClock(), rate=1, burst=1, key_path="data.params.user_id", max_keys=2
    )
    hook(_ctx("a"))
    hook(_ctx("b"))
    hook(_ctx("c"))  # drops a's bucket
    assert hook(_ctx("a")) is None  # a starts again with a full bucket
    assert isinstance(hook(_ctx("c")), Cancel)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"rate": 0, "burst": 1}, "rate"),
        ({"rate": 1, "burst": 0}, "burst"),
        ({"rate": 1, "burst": 1, "key_path": "user"}, "key_path"),
        ({"rate": 1, "burst": 1, "action": "RETRY"}, "action"),
        ({"rate": 1, "burst": 1, "max_attempts": 0}, "max_attempts"),
    ],
)
def test_config_errors_name_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        RateLimitHook(VirtualClock(), **kwargs)  # type: ignore[arg-type]
    assert info.value.field == field
