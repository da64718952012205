"""hookwire.runtime.bus: the in-process event bus (docs/semantics.md section 8), see docs/events.md.

Example:
    >>> from hookwire.runtime.bus import EventBus, Backpressure
    >>> bus = EventBus()
    >>> sub = bus.subscribe("tool.*", overflow=Backpressure(timeout_ns=50_000_000))
    >>> bus.publish("tool.invoked", {"tool": "shell"})
    1
    >>> [ev.payload for ev in sub]
    [{'tool': 'shell'}]
"""

from hookwire.runtime.bus.bus import EventBus
from hookwire.runtime.bus.event import NO_ATTRS, NO_DATA, Event, EventAttrs, NoData
from hookwire.runtime.bus.overflow import (
    DEFAULT_CAPACITY,
    Backpressure,
    DropNewest,
    DropOldest,
    OverflowStrategy,
    Sample,
)
from hookwire.runtime.bus.patterns import Pattern, check_type
from hookwire.runtime.bus.retention import DEFAULT_RETENTION, RetentionLog
from hookwire.runtime.bus.stats import BusStats, SubscriptionStats
from hookwire.runtime.bus.subscription import Subscription
from hookwire.runtime.bus.token_bucket import TokenBucket
from hookwire.runtime.bus.transport import InProcessTransport, Transport

__all__ = [
    "DEFAULT_CAPACITY",
    "DEFAULT_RETENTION",
    "NO_ATTRS",
    "NO_DATA",
    "Backpressure",
    "BusStats",
    "DropNewest",
    "DropOldest",
    "Event",
    "EventAttrs",
    "EventBus",
    "InProcessTransport",
    "NoData",
    "OverflowStrategy",
    "Pattern",
    "RetentionLog",
    "Sample",
    "Subscription",
    "SubscriptionStats",
    "TokenBucket",
    "Transport",
    "check_type",
]
