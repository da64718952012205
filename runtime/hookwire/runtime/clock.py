"""The injectable clock every time-reading component takes (docs/semantics.md section 1).

Example:
    >>> clock = VirtualClock()
    >>> t0 = clock.monotonic_ns()
    >>> clock.advance_ms(60)
    >>> clock.monotonic_ns() - t0
    60000000
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol, runtime_checkable

from hookwire.runtime.errors import InvalidArgument

__all__ = ["Clock", "SystemClock", "VirtualClock"]

NS_PER_S = 1_000_000_000
NS_PER_MS = 1_000_000


@runtime_checkable
class Clock(Protocol):
    """Monotonic nanoseconds for durations, wall nanoseconds for timestamps, and sleeping."""

    def monotonic_ns(self) -> int:
        """Monotonic time in nanoseconds (only differences are meaningful)."""
        ...

    def time_ns(self) -> int:
        """Wall time in nanoseconds since the Unix epoch."""
        ...

    def sleep(self, seconds: float) -> None:
        """Block for `seconds` (a virtual clock advances instead)."""
        ...

    async def asleep(self, seconds: float) -> None:
        """Wait for `seconds` without blocking the event loop."""
        ...


def _check_seconds(seconds: float) -> None:
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or seconds < 0:
        raise InvalidArgument("seconds", f"must be a non-negative number, got {seconds!r}")


class SystemClock:
    """The real clock: `time.perf_counter_ns` for durations, `time.time_ns` for timestamps.

    Example:
        >>> SystemClock().monotonic_ns() > 0
        True
    """

    __slots__ = ("monotonic_ns",)

    def __init__(self) -> None:
        # Bound directly so the executor's hot path pays one C call per read.
        self.monotonic_ns = time.perf_counter_ns

    def time_ns(self) -> int:
        return time.time_ns()

    def sleep(self, seconds: float) -> None:
        _check_seconds(seconds)
        time.sleep(seconds)

    async def asleep(self, seconds: float) -> None:
        _check_seconds(seconds)
        await asyncio.sleep(seconds)

    def __repr__(self) -> str:
        return "SystemClock()"


class VirtualClock:
    """A clock that moves only when advanced; `sleep`/`asleep` advance it.

    Monotonic time starts at 0; wall time starts at `start_unix_ns` and moves with it.

    Example:
        >>> c = VirtualClock(start_unix_ns=0)
        >>> c.sleep(1.5)
        >>> (c.monotonic_ns(), c.time_ns())
        (1500000000, 1500000000)
    """

    __slots__ = ("_mono", "_start_unix_ns")

    def __init__(self, start_unix_ns: int = 1_700_000_000_000_000_000) -> None:
        if not isinstance(start_unix_ns, int) or isinstance(start_unix_ns, bool):
            raise InvalidArgument("start_unix_ns", f"must be an int, got {start_unix_ns!r}")
        self._start_unix_ns = start_unix_ns
        self._mono = 0

    def monotonic_ns(self) -> int:
        return self._mono

    def time_ns(self) -> int:
        return self._start_unix_ns + self._mono

    def advance(self, ns: int) -> None:
        """Move time forward by `ns` nanoseconds (never backwards)."""
        if not isinstance(ns, int) or isinstance(ns, bool) or ns < 0:
            raise InvalidArgument("ns", f"must be a non-negative int, got {ns!r}")
        self._mono += ns

    def advance_ms(self, ms: float) -> None:
        """Move time forward by `ms` milliseconds (rounded to the nearest nanosecond)."""
        if not isinstance(ms, (int, float)) or isinstance(ms, bool) or not ms >= 0:
            raise InvalidArgument("ms", f"must be a non-negative number, got {ms!r}")
        self._mono += round(ms * NS_PER_MS)

    def sleep(self, seconds: float) -> None:
        _check_seconds(seconds)
        self._mono += round(seconds * NS_PER_S)

    async def asleep(self, seconds: float) -> None:
        _check_seconds(seconds)
        self._mono += round(seconds * NS_PER_S)
        # Yield once so that sleeping behaves like a suspension point for other tasks.
        await asyncio.sleep(0)

    def __repr__(self) -> str:
        return f"VirtualClock(monotonic_ns={self._mono})"
