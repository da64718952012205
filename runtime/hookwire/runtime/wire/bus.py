"""The bus's subscription settings and counters as hookwire.v1 EventService messages.

Example:
    >>> from hookwire.runtime.bus.overflow import Backpressure
    >>> overflow_from_proto(overflow_to_proto(Backpressure(timeout_ns=1_500_000_000)))
    Backpressure(timeout_ns=1500000000)
    >>> from hookwire.runtime.bus.stats import SubscriptionStats
    >>> stats_to_proto(SubscriptionStats(received=2, delivered=2)).delivered
    2
"""

from __future__ import annotations

from typing import Final

from hookwire.runtime.bus.overflow import (
    Backpressure,
    DropNewest,
    DropOldest,
    OverflowStrategy,
    Sample,
)
from hookwire.runtime.bus.stats import SubscriptionStats
from hookwire.runtime.wire.duration import duration_from_proto, duration_to_proto
from hookwire.v1 import event_service_pb2

__all__ = ["overflow_from_proto", "overflow_to_proto", "stats_to_proto"]


def stats_to_proto(stats: SubscriptionStats) -> event_service_pb2.SubscriptionStats:
    """The hookwire.v1.SubscriptionStats message (callback_errors has no field there)."""
    return event_service_pb2.SubscriptionStats(
        **{name: getattr(stats, name) for name in _STATS_FIELDS}
    )


# The message's fields (from its descriptor), each a SubscriptionStats field of that name.
_STATS_FIELDS: Final = tuple(f.name for f in event_service_pb2.SubscriptionStats.DESCRIPTOR.fields)


def overflow_to_proto(strategy: OverflowStrategy) -> event_service_pb2.OverflowStrategy:
    """The hookwire.v1.OverflowStrategy message of a strategy."""
    pb = event_service_pb2.OverflowStrategy()
    if isinstance(strategy, DropOldest):
        pb.drop_oldest.SetInParent()
    elif isinstance(strategy, DropNewest):
        pb.drop_newest.SetInParent()
    elif isinstance(strategy, Backpressure):
        pb.backpressure.SetInParent()
        if strategy.timeout_ns is not None:
            duration_to_proto(strategy.timeout_ns, pb.backpressure.timeout)
    else:
        pb.sample.rate = strategy.rate
        pb.sample.high_water_mark = strategy.high_water_mark
    return pb


def overflow_from_proto(pb: event_service_pb2.OverflowStrategy) -> OverflowStrategy:
    """Read a hookwire.v1.OverflowStrategy (unset = DROP_OLDEST, the default)."""
    kind = pb.WhichOneof("strategy")
    if kind is None or kind == "drop_oldest":
        return DropOldest()
    if kind == "drop_newest":
        return DropNewest()
    if kind == "backpressure":
        bp = pb.backpressure
        if not bp.HasField("timeout"):
            return Backpressure()
        return Backpressure(timeout_ns=duration_from_proto(bp.timeout))
    sample = pb.sample
    if sample.HasField("high_water_mark"):
        return Sample(rate=sample.rate, high_water_mark=sample.high_water_mark)
    return Sample(rate=sample.rate)
