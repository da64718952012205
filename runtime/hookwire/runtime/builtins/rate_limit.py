"""Rate limit: one token bucket per key taken from a context field; CANCEL or RETRY when empty.

Each distinct value at `key_path` (e.g. `data.params.user_id`, `correlation_id`) gets its own
`TokenBucket(rate, burst)` on the clock (the event bus's bucket: exact integer refills). A call
that finds a token continues (CONTINUE). An empty bucket gives, by `action`:

- `RateLimitAction.CANCEL`: `CANCEL{reason}` naming the key and the limit;
- `RateLimitAction.RETRY`: `RETRY{delay = time until the next token, max_attempts}`, which
  `run()` turns into a wait on the clock and another attempt.

Contexts without the key field share one bucket (key `<missing>`), so leaving the field out does
not escape the limit. At most `max_keys` buckets are kept; the least recently used is dropped
beyond that (its key starts again with a full bucket).

Example:
    >>> from hookwire.runtime.clock import VirtualClock
    >>> clock = VirtualClock()
    >>> limit = RateLimitHook(clock, rate=1, burst=1, key_path="data.user",
    ...                       action=RateLimitAction.RETRY, max_attempts=3)
    >>> ctx = HookContext("before_tool_execution", {"user": "ann"})
    >>> limit(ctx) is None
    True
    >>> limit(ctx)
    Retry(delay_ns=1000000000, max_attempts=3)
    >>> clock.advance_ms(1000)
    >>> limit(ctx) is None
    True
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import KW_ONLY, dataclass, field
from enum import StrEnum
from typing import Any

from hookwire.runtime.builtins.field_path import MISSING, FieldPath
from hookwire.runtime.bus.token_bucket import TokenBucket
from hookwire.runtime.clock import Clock
from hookwire.runtime.context import HookContext
from hookwire.runtime.errors import InvalidArgument
from hookwire.runtime.results import Cancel, HookResult, Retry

__all__ = ["MISSING_KEY", "RateLimitAction", "RateLimitHook"]

MISSING_KEY = "<missing>"


class RateLimitAction(StrEnum):
    """What an empty bucket returns."""

    CANCEL = "CANCEL"
    RETRY = "RETRY"


@dataclass(slots=True, eq=False)
class RateLimitHook:
    """A before-point hook limiting calls per key to `rate` per second with bursts of `burst`."""

    clock: Clock
    _: KW_ONLY
    rate: float
    burst: int
    key_path: str = "correlation_id"
    action: RateLimitAction = RateLimitAction.CANCEL
    max_attempts: int = 3
    max_keys: int = 10_000
    _path: FieldPath = field(init=False, repr=False)
    _buckets: OrderedDict[str, TokenBucket] = field(
        init=False, repr=False, default_factory=OrderedDict
    )
    _lock: threading.Lock = field(init=False, repr=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        # Validates rate and burst with the bucket's own messages before any key is seen.
        TokenBucket(self.rate, self.burst, self.clock)
        if not isinstance(self.action, RateLimitAction):
            raise InvalidArgument("action", f"must be a RateLimitAction, got {self.action!r}")
        for name in ("max_attempts", "max_keys"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise InvalidArgument(name, f"must be an int >= 1, got {v!r}")
        self._path = FieldPath(self.key_path, "key_path")

    def key(self, ctx: HookContext) -> str:
        """The bucket key of a context: the field's string value, JSON text for other values."""
        value: Any = self._path.get(ctx)
        if value is MISSING:
            return MISSING_KEY
        if isinstance(value, str):
            return value
        return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)

    def _bucket(self, key: str) -> TokenBucket:
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = TokenBucket(self.rate, self.burst, self.clock)
                self._buckets[key] = bucket
                if len(self._buckets) > self.max_keys:
                    self._buckets.popitem(last=False)
            else:
                self._buckets.move_to_end(key)
            return bucket

    def available(self, key: str) -> float:
        """Tokens left for `key` now (a key not seen yet has a full bucket)."""
        bucket = self._buckets.get(key)
        return float(self.burst) if bucket is None else bucket.available()

    def __call__(self, ctx: HookContext) -> HookResult | None:
        key = self.key(ctx)
        bucket = self._bucket(key)
        if bucket.try_acquire():
            return None
        if self.action is RateLimitAction.RETRY:
            return Retry(bucket.wait_ns(), self.max_attempts)
        return Cancel(
            f"rate limit exceeded for {self._path.text}={key!r} ({self.rate}/s, burst {self.burst})"
        )
