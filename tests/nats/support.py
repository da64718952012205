"""Helpers the NATS tests share."""

from __future__ import annotations

import time
from typing import Any


def poll_events(subscription: Any, count: int, timeout: float = 15) -> list[Any]:
    """Poll `subscription` until it gave `count` events (fails naming what came by `timeout`)."""
    deadline = time.monotonic() + timeout
    events: list[Any] = []
    while len(events) < count:
        assert time.monotonic() < deadline, f"got only {events}"
        events.extend(subscription.poll())
        time.sleep(0.01)
    return events
