"""A token bucket (rate tokens per second, at most `burst` stored) read from a clock.

Arithmetic is exact integers: the rate is taken as the exact value of its decimal text and
token levels are kept in units of 1/(denominator * 1e9) token, so refills under a virtual clock
never drift (10/s for 100 ms is exactly one token).

Example:
    >>> from hookwire.runtime.clock import VirtualClock
    >>> clock = VirtualClock()
    >>> bucket = TokenBucket(rate=10, burst=2, clock=clock)
    >>> bucket.try_acquire(), bucket.try_acquire(), bucket.try_acquire()
    (True, True, False)
    >>> clock.advance_ms(100)
    >>> bucket.try_acquire()
    True
"""

from __future__ import annotations

import math
import threading
from fractions import Fraction

from hookwire.runtime.clock import Clock
from hookwire.runtime.errors import InvalidArgument

__all__ = ["TokenBucket"]

NS_PER_S = 1_000_000_000


class TokenBucket:
    """Starts full; `try_acquire(n)` takes n tokens or none. Thread-safe."""

    __slots__ = (
        "_burst_units",
        "_clock",
        "_last_ns",
        "_level",
        "_lock",
        "_p",
        "_unit",
        "burst",
        "rate",
    )

    def __init__(self, rate: float, burst: int, clock: Clock) -> None:
        if (
            not isinstance(rate, (int, float))
            or isinstance(rate, bool)
            or not math.isfinite(rate)
            or rate <= 0
        ):
            raise InvalidArgument("rate", f"must be a finite number > 0, got {rate!r}")
        if type(burst) is not int or burst < 1:
            raise InvalidArgument("burst", f"must be an int >= 1, got {burst!r}")
        exact = Fraction(repr(float(rate))) if isinstance(rate, float) else Fraction(rate)
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._p = exact.numerator
        # One token = q * 1e9 units; elapsed_ns * p units accrue per refill.
        self._unit = exact.denominator * NS_PER_S
        self._burst_units = burst * self._unit
        self._level = self._burst_units
        self._last_ns = clock.monotonic_ns()
        self._lock = threading.Lock()

    def _refill(self) -> None:
        now = self._clock.monotonic_ns()
        elapsed = now - self._last_ns
        if elapsed > 0:
            self._level = min(self._burst_units, self._level + elapsed * self._p)
            self._last_ns = now

    def try_acquire(self, n: int = 1) -> bool:
        """Take `n` tokens if that many are available (then True), else take none (False)."""
        if type(n) is not int or n < 1:
            raise InvalidArgument("n", f"must be an int >= 1, got {n!r}")
        with self._lock:
            self._refill()
            need = n * self._unit
            if self._level >= need:
                self._level -= need
                return True
            return False

    def available(self) -> float:
        """Tokens available now (fractional)."""
        with self._lock:
            self._refill()
            return self._level / self._unit

    def wait_ns(self, n: int = 1) -> int:
        """Nanoseconds until `n` tokens are available (0 if now; -1 if n > burst: never)."""
        if n > self.burst:
            return -1
        with self._lock:
            self._refill()
            missing = n * self._unit - self._level
            if missing <= 0:
                return 0
            return -(-missing // self._p)
