"""Overflow strategies of a subscription queue (docs/semantics.md section 8).

Example:
    >>> s = Sample(rate=0.5)
    >>> [seq for seq in range(1, 7) if s.admits(seq)]
    [2, 4, 6]
    >>> s.threshold(10)
    8
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Final

from hookwire.runtime.errors import InvalidArgument

__all__ = [
    "DEFAULT_CAPACITY",
    "Backpressure",
    "DropNewest",
    "DropOldest",
    "OverflowStrategy",
    "Sample",
    "check_capacity",
]

DEFAULT_CAPACITY: Final = 1024
NS_PER_S: Final = 1_000_000_000


def _exact(value: float) -> Fraction:
    # The decimal text of the number, not its binary expansion: rate 0.29 means 29/100 in every
    # language, so floor(seq * rate) agrees across Python, Lua and JS (docs/events.md).
    return Fraction(repr(float(value)))


def check_capacity(capacity: object, field: str = "capacity") -> int:
    """Return `capacity` if it is an int > 0, else raise InvalidArgument naming `field`."""
    if type(capacity) is not int or capacity <= 0:
        raise InvalidArgument(field, f"must be an int > 0, got {capacity!r}")
    return capacity


@dataclass(frozen=True, slots=True)
class DropOldest:
    """When full, drop the oldest queued event (counted dropped_oldest) to make room."""


@dataclass(frozen=True, slots=True)
class DropNewest:
    """When full, drop the incoming event (counted dropped_newest)."""


@dataclass(frozen=True, slots=True)
class Backpressure:
    """When full, the publisher waits for room; after `timeout_ns` (None = forever) this
    subscriber alone drops the event (counted timed_out).

    Example:
        >>> try:
        ...     Backpressure(timeout_ns=-1)
        ... except InvalidArgument as e:
        ...     print(e.field)
        timeout_ns
    """

    timeout_ns: int | None = None

    def __post_init__(self) -> None:
        t = self.timeout_ns
        if t is not None and (type(t) is not int or t < 0):
            raise InvalidArgument("timeout_ns", f"must be a non-negative int or None, got {t!r}")


@dataclass(frozen=True, slots=True)
class Sample:
    """Below the high-water mark every event is queued; at or above it, an event with sequence
    `seq` is queued only if floor(seq*rate) > floor((seq-1)*rate); when full it is dropped.

    `rate` is in (0, 1]; `high_water_mark` is a fraction of capacity in [0, 1] (default 0.8).
    Both are taken as the exact value of their shortest decimal text (0.1 is 1/10).

    Example:
        >>> Sample(rate=0)
        Traceback (most recent call last):
        ...
        hookwire.runtime.errors.InvalidArgument: rate: must be a number in (0, 1], got 0
    """

    rate: float
    high_water_mark: float = 0.8
    _p: int = field(init=False, repr=False, compare=False)
    _q: int = field(init=False, repr=False, compare=False)
    _hwm: Fraction = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        rate, hwm = self.rate, self.high_water_mark
        if (
            not isinstance(rate, (int, float))
            or isinstance(rate, bool)
            or not math.isfinite(rate)
            or not 0 < rate <= 1
        ):
            raise InvalidArgument("rate", f"must be a number in (0, 1], got {rate!r}")
        if (
            not isinstance(hwm, (int, float))
            or isinstance(hwm, bool)
            or not math.isfinite(hwm)
            or not 0 <= hwm <= 1
        ):
            raise InvalidArgument("high_water_mark", f"must be a number in [0, 1], got {hwm!r}")
        exact = _exact(rate)
        object.__setattr__(self, "_p", exact.numerator)
        object.__setattr__(self, "_q", exact.denominator)
        object.__setattr__(self, "_hwm", _exact(hwm))

    def admits(self, sequence: int) -> bool:
        """The deterministic sampler: floor(seq*rate) > floor((seq-1)*rate), in exact arithmetic."""
        p, q = self._p, self._q
        return (sequence * p) // q > ((sequence - 1) * p) // q

    def threshold(self, capacity: int) -> int:
        """Queue length at which sampling starts: ceil(high_water_mark * capacity), exactly."""
        return math.ceil(self._hwm * capacity)


OverflowStrategy = DropOldest | DropNewest | Backpressure | Sample
