"""Shared fixtures for runtime tests: a virtual clock that counts its reads, an event sink."""

from __future__ import annotations

from typing import Any

import pytest
from hookwire.runtime.clock import VirtualClock


class CountingClock(VirtualClock):
    """A virtual clock that counts monotonic reads."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def monotonic_ns(self) -> int:
        self.reads += 1
        return super().monotonic_ns()


class Sink:
    """An EventSink that keeps what it is given."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def emit(self, type: str, payload: dict[str, Any]) -> None:
        self.events.append((type, payload))


@pytest.fixture
def clock() -> CountingClock:
    return CountingClock()


@pytest.fixture
def sink() -> Sink:
    return Sink()
