"""Counters of a subscription and of a bus; `received = delivered + dropped + queued` always.

Example:
    >>> s = SubscriptionStats(received=5, delivered=2, queued=1, dropped_oldest=2)
    >>> s.dropped, s.balanced
    (2, True)
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["BusStats", "SubscriptionStats"]


@dataclass(frozen=True, slots=True)
class SubscriptionStats:
    """A snapshot of one subscription's counters (taken under the bus lock, so consistent).

    `callback_errors` counts callbacks that raised; those events still count as delivered.
    """

    received: int = 0
    delivered: int = 0
    queued: int = 0
    dropped_oldest: int = 0
    dropped_newest: int = 0
    sampled_out: int = 0
    timed_out: int = 0
    expired: int = 0
    callback_errors: int = 0

    @property
    def dropped(self) -> int:
        """Every drop, whatever the cause."""
        return (
            self.dropped_oldest
            + self.dropped_newest
            + self.sampled_out
            + self.timed_out
            + self.expired
        )

    @property
    def balanced(self) -> bool:
        """Whether received = delivered + dropped + queued."""
        return self.received == self.delivered + self.dropped + self.queued

    def __add__(self, other: SubscriptionStats) -> SubscriptionStats:
        return SubscriptionStats(
            *(getattr(self, f) + getattr(other, f) for f in self.__dataclass_fields__)
        )


@dataclass(frozen=True, slots=True)
class BusStats:
    """A snapshot of a bus.

    `published`: accepted events (= last sequence for the in-process transport);
    `rate_limited`: events refused by the rate limit; `invalid`: events refused by validation;
    `subscriptions`: open subscriptions; `totals`: the counters summed over every subscription
    the bus ever had (closed ones included), so the invariant holds for the bus as well.
    """

    published: int
    rate_limited: int
    invalid: int
    subscriptions: int
    next_sequence: int
    oldest_retained: int
    totals: SubscriptionStats
