"""How every benchmark measures: candidates interleaved round by round, the median of rounds.

The machines are shared and noisy, so a subject and its baseline are never measured one after
the other: each round runs every candidate once, in turn, and a candidate's figure is the
median of its rounds (never the best round). Ratios are ratios of medians. A goal is met only
when it holds at the median.

Example:
    >>> import itertools
    >>> ticks = itertools.count()
    >>> got = interleave({"a": lambda: float(next(ticks)), "b": lambda: 1.0}, rounds=3, warmup=0)
    >>> got["a"].rounds, got["a"].median, got["b"].median
    ((0.0, 1.0, 2.0), 1.0, 1.0)
"""

from __future__ import annotations

import gc
import statistics
from collections.abc import Callable, Mapping
from dataclasses import dataclass

__all__ = ["Measured", "interleave", "verdict"]


@dataclass(frozen=True)
class Measured:
    """One candidate's figure per round (a time per operation, or a rate), in round order."""

    name: str
    rounds: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.rounds)

    def spread(self, fmt: str = "{:.2f}") -> str:
        """The rounds' range, e.g. "1.02-1.31", for printing next to the median."""
        return f"{fmt.format(min(self.rounds))}-{fmt.format(max(self.rounds))}"


def interleave(
    cases: Mapping[str, Callable[[], float]], rounds: int, *, warmup: int = 1, no_gc: bool = True
) -> dict[str, Measured]:
    """Run every case once per round, in turn, `rounds` times after `warmup` untimed rounds.

    Each case returns its own figure for the round (e.g. microseconds per call over a loop that
    gives every call a fresh input). The garbage collector is off while timing when `no_gc`.
    """
    for _ in range(warmup):
        for run in cases.values():
            run()
    figures: dict[str, list[float]] = {name: [] for name in cases}
    if no_gc:
        gc.collect()
        gc.disable()
    try:
        for _ in range(rounds):
            for name, run in cases.items():
                figures[name].append(run())
    finally:
        if no_gc:
            gc.enable()
    return {name: Measured(name, tuple(values)) for name, values in figures.items()}


def verdict(ok: bool) -> str:
    """How a goal is printed: met, or NOT met (at the median)."""
    return "met" if ok else "NOT met"
