"""Fixtures for the bus tests: a virtual clock, and buses whose counters are checked after
every test (received = delivered + dropped + queued, per subscription and for the bus)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hookwire.runtime.bus import EventBus, Subscription, SubscriptionStats
from hookwire.runtime.clock import VirtualClock


def assert_balanced(bus: EventBus) -> None:
    """The stats invariant, for every subscription the bus has had and for the bus."""
    subs: list[Subscription] = [*bus._subs, *bus._closed_subs]
    total = SubscriptionStats()
    for sub in subs:
        s = sub.stats()
        assert s.received == s.delivered + s.dropped + s.queued, (sub, s)
        assert s.queued == len(sub)
        total = total + s
    stats = bus.stats()
    assert stats.totals.balanced, stats
    assert stats.totals.received >= total.received


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def balanced() -> Callable[[EventBus], None]:
    return assert_balanced


@pytest.fixture
def make_bus(clock: VirtualClock) -> Iterator[Callable[..., EventBus]]:
    """Build buses on the virtual clock; every one is checked for balance at teardown."""
    buses: list[EventBus] = []

    def make(**kwargs: Any) -> EventBus:
        kwargs.setdefault("clock", clock)
        bus = EventBus(**kwargs)
        buses.append(bus)
        return bus

    yield make
    for bus in buses:
        assert_balanced(bus)


@pytest.fixture
def bus(make_bus: Callable[..., EventBus]) -> EventBus:
    return make_bus()
