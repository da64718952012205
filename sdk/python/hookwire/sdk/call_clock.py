"""The clock a remote worker's hooks read: virtual per call when the executor runs on virtual
time, the system clock otherwise.

Under virtual time every HookCall carries the executor's virtual wall time; the worker runs the
hook with a fresh VirtualClock starting there (held in a context variable, so concurrent calls
never see each other's time) and reports how far the hook advanced it as `clock_advance`.
A hook "takes 60 ms" with `worker.clock.sleep(0.060)` or `worker.clock.advance_ms(60)`.

Example:
    >>> from hookwire.runtime.clock import VirtualClock
    >>> clock = CallClock()
    >>> with clock.using(VirtualClock(start_unix_ns=0)) as vc:
    ...     clock.advance_ms(60)
    ...     vc.monotonic_ns()
    60000000
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager

from hookwire.runtime.clock import SystemClock, VirtualClock
from hookwire.runtime.errors import FailedPrecondition

__all__ = ["CallClock"]

_CURRENT: contextvars.ContextVar[VirtualClock | None] = contextvars.ContextVar(
    "hookwire_call_clock", default=None
)


class CallClock:
    """A Clock (hookwire.runtime.clock.Clock) that follows the call being served."""

    def __init__(self) -> None:
        self._system = SystemClock()

    @contextmanager
    def using(self, clock: VirtualClock) -> Iterator[VirtualClock]:
        """Make `clock` the current call's clock inside the `with` block (this context only)."""
        token = _CURRENT.set(clock)
        try:
            yield clock
        finally:
            _CURRENT.reset(token)

    @property
    def virtual(self) -> VirtualClock | None:
        """The current call's virtual clock, or None on real time."""
        return _CURRENT.get()

    def monotonic_ns(self) -> int:
        vc = _CURRENT.get()
        return vc.monotonic_ns() if vc is not None else self._system.monotonic_ns()

    def time_ns(self) -> int:
        vc = _CURRENT.get()
        return vc.time_ns() if vc is not None else self._system.time_ns()

    def sleep(self, seconds: float) -> None:
        vc = _CURRENT.get()
        (vc or self._system).sleep(seconds)

    async def asleep(self, seconds: float) -> None:
        vc = _CURRENT.get()
        await (vc or self._system).asleep(seconds)

    def advance(self, ns: int) -> None:
        """Advance the current call's virtual clock (FailedPrecondition on real time)."""
        self._require().advance(ns)

    def advance_ms(self, ms: float) -> None:
        """Advance the current call's virtual clock by `ms` milliseconds."""
        self._require().advance_ms(ms)

    def _require(self) -> VirtualClock:
        vc = _CURRENT.get()
        if vc is None:
            raise FailedPrecondition(
                "clock", "advance() needs virtual time (Worker(virtual_clock=True), inside a call)"
            )
        return vc
