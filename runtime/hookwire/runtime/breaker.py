"""Per-hook circuit breaker (docs/semantics.md section 5).

A count-based sliding window kept as a ring buffer with running counts; OPEN -> HALF_OPEN is
decided lazily when a call asks for permission; failed or slow probes re-open the breaker with
an exponentially growing open duration, capped.

Example:
    >>> from hookwire.runtime.clock import VirtualClock
    >>> clock = VirtualClock()
    >>> b = CircuitBreaker("h", BreakerConfig(minimum_calls=2, window_size=4), clock)
    >>> for _ in range(2):
    ...     assert b.acquire()
    ...     b.record(failed=True, slow=False)
    >>> b.state, b.acquire()
    (<BreakerState.OPEN: 'OPEN'>, False)
    >>> clock.advance(15_000_000_000)
    >>> b.acquire(), b.state
    (True, <BreakerState.HALF_OPEN: 'HALF_OPEN'>)
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, runtime_checkable

from hookwire.runtime.clock import Clock, SystemClock
from hookwire.runtime.errors import InvalidArgument
from hookwire.runtime.limits import UINT32_MAX

__all__ = [
    "QUALIFIER",
    "BreakerConfig",
    "BreakerHolder",
    "BreakerListener",
    "BreakerState",
    "BreakerStatus",
    "CircuitBreaker",
]

_log = logging.getLogger("hookwire.runtime.breaker")
_MS = 1_000_000
_S = 1_000_000_000


#: Separates a composite's name from its child's in a qualified breaker name: "guard/flaky" is
#: the breaker of child `flaky` of composite `guard` (as deep as composites nest).
QUALIFIER = "/"


@runtime_checkable
class BreakerHolder(Protocol):
    """A hook that owns further breakers (a composite: its children's), found by name."""

    def breaker(self, name: str) -> CircuitBreaker:
        """The breaker called `name` (qualified below this hook); NotFound if none."""
        ...

    def breakers(self) -> dict[str, CircuitBreaker]:
        """Every breaker below this hook by (qualified) name."""
        ...


class BreakerState(StrEnum):
    """State of a circuit breaker."""

    CLOSED = "CLOSED"
    OPEN = "OPEN"
    HALF_OPEN = "HALF_OPEN"


# docs/semantics.md D5.6's table, a row per named preset in BreakerConfig's field order: window,
# min calls, failure rate, slow call, slow rate, open, multiplier, max open, probes.
_PRESETS: dict[str, tuple[int, int, float, int, float, int, float, int, int]] = {
    "production": (100, 20, 0.5, 80 * _MS, 0.8, 30 * _S, 2.0, 600 * _S, 3),
    "conservative": (20, 3, 0.25, 25 * _MS, 0.3, 60 * _S, 2.0, 900 * _S, 5),
}


@dataclass(frozen=True, slots=True)
class BreakerConfig:
    """Breaker settings; the defaults are docs/semantics.md section 5's. Durations in nanoseconds.

    Example:
        >>> BreakerConfig().open_duration_ns
        15000000000
        >>> BreakerConfig(window_size=0)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        hookwire.runtime.errors.InvalidArgument: breaker.window_size: must be an int in ...
    """

    window_size: int = 10
    minimum_calls: int = 5
    failure_rate_threshold: float = 0.5
    slow_call_duration_ns: int = 50 * _MS
    slow_call_rate_threshold: float = 0.5
    open_duration_ns: int = 15 * _S
    backoff_multiplier: float = 2.0
    max_open_duration_ns: int = 300 * _S
    half_open_probes: int = 2

    def __post_init__(self) -> None:
        def count(name: str) -> int:
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= UINT32_MAX:
                raise InvalidArgument(
                    f"breaker.{name}", f"must be an int in [1, 2^32-1], got {v!r}"
                )
            return v

        def rate(name: str) -> None:
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not 0 < v <= 1:
                raise InvalidArgument(f"breaker.{name}", f"must be a number in (0, 1], got {v!r}")

        def duration(name: str) -> int:
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                raise InvalidArgument(
                    f"breaker.{name}", f"must be a non-negative int (ns), got {v!r}"
                )
            return v

        window = count("window_size")
        if count("minimum_calls") > window:
            raise InvalidArgument(
                "breaker.minimum_calls",
                f"must not exceed window_size ({window}), got {self.minimum_calls} "
                "(the breaker could never open)",
            )
        rate("failure_rate_threshold")
        rate("slow_call_rate_threshold")
        duration("slow_call_duration_ns")
        if duration("open_duration_ns") == 0:
            raise InvalidArgument("breaker.open_duration_ns", "must be > 0")
        m = self.backoff_multiplier
        if not isinstance(m, (int, float)) or isinstance(m, bool) or not 1.0 <= m <= 1e6:
            raise InvalidArgument(
                "breaker.backoff_multiplier", f"must be a number in [1, 1e6], got {m!r}"
            )
        if duration("max_open_duration_ns") < self.open_duration_ns:
            raise InvalidArgument(
                "breaker.max_open_duration_ns",
                f"must be >= open_duration_ns ({self.open_duration_ns}), "
                f"got {self.max_open_duration_ns}",
            )
        count("half_open_probes")

    @classmethod
    def default(cls) -> BreakerConfig:
        """docs/semantics.md section 5 defaults."""
        return cls()

    @classmethod
    def production(cls) -> BreakerConfig:
        """For busy services: judged on more calls so one bad burst does not trip it, slow
        means 80 ms (near the default 100 ms timeout), 3 good probes to close."""
        return cls(*_PRESETS["production"])

    @classmethod
    def conservative(cls) -> BreakerConfig:
        """Protect the caller first: trips early on few calls and low rates, stays open
        longer, and needs 5 good probes to close."""
        return cls(*_PRESETS["conservative"])


class BreakerListener(Protocol):
    """Told about every breaker transition (the event bus adapter implements it)."""

    def breaker_transition(
        self,
        hook_name: str,
        old: BreakerState,
        new: BreakerState,
        failure_rate: float,
        slow_rate: float,
        open_duration_ns: int,
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class BreakerStatus:
    """A breaker's readable state."""

    state: BreakerState
    window_calls: int
    window_failures: int
    window_slow: int
    current_open_duration_ns: int
    probes_in_flight: int
    good_probes: int

    @property
    def failure_rate(self) -> float:
        return self.window_failures / self.window_calls if self.window_calls else 0.0

    @property
    def slow_rate(self) -> float:
        return self.window_slow / self.window_calls if self.window_calls else 0.0


_CLOSED = BreakerState.CLOSED
_OPEN = BreakerState.OPEN
_HALF_OPEN = BreakerState.HALF_OPEN


# Window slots: a good call stores its end time (any int); bad calls store one of these.
_MARK_F = "F"  # failed
_MARK_S = "S"  # slow
_MARK_FS = "FS"  # failed and slow


class CircuitBreaker:
    """One hook's breaker. `acquire()` before a call; `record()` after a permitted call.

    The count window is a ring (`deque(maxlen=window_size)`) of the last calls: a good call
    stores any int, a failed / slow call a marker; the counts are taken (in C) when the
    window is judged, which happens after every bad call and when the window first reaches
    `minimum_calls` (a good call cannot raise either rate, so it is not judged afterwards).

    `quiet` is True while the breaker is CLOSED and its full window holds only good calls:
    recording one more good call then changes nothing at all (the window stays full of good
    calls and the state stays CLOSED), so a caller that sees `quiet` after a good call may
    skip `record_success` entirely; that is how the executor's compiled fast path records a
    good call for free. `record_success` is itself the ring's C `append` while quiet.

    `state` and `quiet` are plain attributes (read them, do not assign them) so the executor
    can test them without a call. `now_ns` arguments let a caller that has just read the
    clock pass that reading instead of making the breaker read it again. Exceptions raised by
    the transition listener are caught, counted in `listener_errors` and logged once per
    breaker: a broken listener never breaks the hook call that caused the transition.
    """

    __slots__ = (
        "_good_probes",
        "_judged",
        "_open_duration_ns",
        "_opened_at_ns",
        "_probes_in_flight",
        "_ring",
        "_streak",
        "clock",
        "config",
        "listener",
        "listener_errors",
        "name",
        "quiet",
        "record_success",
        "state",
    )

    record_success: Callable[[int], None]

    def __init__(
        self,
        name: str,
        config: BreakerConfig | None = None,
        clock: Clock | None = None,
        listener: BreakerListener | None = None,
    ) -> None:
        self.name = name
        self.config = config if config is not None else BreakerConfig()
        if not isinstance(self.config, BreakerConfig):
            raise InvalidArgument("breaker", f"must be a BreakerConfig, got {config!r}")
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.listener = listener
        self.state = _CLOSED
        self._ring: deque[object] = deque(maxlen=self.config.window_size)
        self._opened_at_ns = 0
        self._open_duration_ns = self.config.open_duration_ns
        self._probes_in_flight = 0
        self._good_probes = 0
        # Good calls recorded since the last bad one (or the last clear), and whether the
        # window was judged on reaching minimum_calls since the last clear.
        self._streak = 0
        self._judged = False
        self.quiet = False
        self.listener_errors = 0
        self.record_success = self._record_success

    # -- decisions ----------------------------------------------------------------------------

    def acquire(self, now_ns: int | None = None) -> bool:
        """Permission for one call. OPEN turns HALF_OPEN here once the open duration is over."""
        state = self.state
        if state is _CLOSED:
            return True
        if state is _OPEN:
            now = self.clock.monotonic_ns() if now_ns is None else now_ns
            if now - self._opened_at_ns < self._open_duration_ns:
                return False
            self._probes_in_flight = 1
            self._good_probes = 0
            self._transition(_HALF_OPEN)
            return True
        if self._probes_in_flight < self.config.half_open_probes:
            self._probes_in_flight += 1
            return True
        return False

    def record(self, failed: bool, slow: bool, now_ns: int | None = None) -> None:
        """Record a permitted call's outcome (failed = ERROR or TIMEOUT; slow = long call)."""
        if not failed and not slow:
            if not self.quiet:  # quiet: a good call changes nothing
                self._record_success(0 if now_ns is None else now_ns)
            return
        state = self.state
        if state is _CLOSED:
            self._ring.append(_MARK_FS if failed and slow else _MARK_F if failed else _MARK_S)
            self._streak = 0
            if self.quiet:
                self.quiet = False
                self.record_success = self._record_success
            self._judge(now_ns)
        elif state is _HALF_OPEN:
            if self._probes_in_flight > 0:
                self._probes_in_flight -= 1
            cfg = self.config
            self._open_duration_ns = min(
                int(self._open_duration_ns * cfg.backoff_multiplier), cfg.max_open_duration_ns
            )
            self._open(now_ns)
        # OPEN: the call was permitted before another call opened the breaker; not counted.

    def _record_success(self, now_ns: int) -> None:
        """`record(False, False, now_ns)` while not quiet (`now_ns` 0 = read the clock if
        needed)."""
        state = self.state
        if state is _CLOSED:
            ring = self._ring
            ring.append(now_ns)
            streak = self._streak = self._streak + 1
            if self._judged and streak < ring.maxlen:  # type: ignore[operator]
                return  # the common case after a bad call: nothing to decide yet
            if not self._judged and len(ring) >= self.config.minimum_calls:
                self._judged = True
                self._judge(now_ns or None)
            if streak >= self.config.window_size and self.state is _CLOSED:
                # The window is full of good calls: from now on a good call changes nothing.
                self.quiet = True
                self.record_success = ring.append
        elif state is _HALF_OPEN:
            if self._probes_in_flight > 0:
                self._probes_in_flight -= 1
            self._good_probes += 1
            if self._good_probes >= self.config.half_open_probes:
                self._clear()
                self._transition(_CLOSED)

    def _window(self) -> tuple[int, int, int]:
        """(calls, failures, slow calls) among the last window_size calls."""
        ring = self._ring
        both = ring.count(_MARK_FS)
        return len(ring), ring.count(_MARK_F) + both, ring.count(_MARK_S) + both

    def _judge(self, now_ns: int | None) -> None:
        cfg = self.config
        count, failures, slow = self._window()
        if count < cfg.minimum_calls:
            return
        if (
            failures / count >= cfg.failure_rate_threshold
            or slow / count >= cfg.slow_call_rate_threshold
        ):
            self._open(now_ns)

    def _open(self, now_ns: int | None) -> None:
        self._opened_at_ns = self.clock.monotonic_ns() if now_ns is None else now_ns
        self._probes_in_flight = 0
        self._good_probes = 0
        self.quiet = False
        self.record_success = self._record_success
        self._transition(_OPEN)

    def _clear(self) -> None:
        self._ring.clear()
        self._probes_in_flight = self._good_probes = 0
        self._open_duration_ns = self.config.open_duration_ns
        self._streak = 0
        self._judged = False
        self.quiet = False
        self.record_success = self._record_success

    def _transition(self, new: BreakerState) -> None:
        old = self.state
        self.state = new
        listener = self.listener
        if listener is not None and old is not new:
            count, failures, slow = self._window()
            try:
                listener.breaker_transition(
                    self.name,
                    old,
                    new,
                    failures / count if count else 0.0,
                    slow / count if count else 0.0,
                    self._open_duration_ns,
                )
            except Exception:
                # The transition has happened; a broken listener must not fail the call.
                self.listener_errors += 1
                if self.listener_errors == 1:
                    _log.exception(
                        "breaker listener failed on %s -> %s of hook %r (counted in "
                        "listener_errors; logged once per breaker)",
                        old.value,
                        new.value,
                        self.name,
                    )

    # -- reading and resetting -----------------------------------------------------------------

    def status(self) -> BreakerStatus:
        """State, window counts, the open duration in force, probes."""
        count, failures, slow = self._window()
        return BreakerStatus(
            self.state,
            count,
            failures,
            slow,
            self._open_duration_ns,
            self._probes_in_flight,
            self._good_probes,
        )

    def reset(self) -> None:
        """Back to CLOSED with an empty window and the base open duration (a transition is
        reported if the breaker was not CLOSED)."""
        self._clear()
        self._transition(_CLOSED)

    def __repr__(self) -> str:
        return f"CircuitBreaker({self.name!r}, state={self.state.value})"
