"""The bus conformance scenarios on the JetStream transport: one more axis of the matrix.

The scenarios observe the bus step by step, so the bus under test waits after each publish
until the stream delivered it back (on the in-process bus that happens before `publish`
returns). Every bus and cross-language event scenario passes unchanged."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import pytest
from hookwire.conformance import engine
from hookwire.conformance.engine import run_scenario
from hookwire.conformance.loader import DEFAULT_SCENARIO_DIR, load_scenarios
from hookwire.conformance.py_sync import PySyncDriver
from hookwire.runtime.bus import Event, EventBus
from hookwire.runtime.bus.jetstream import JetStreamOptions, JetStreamTransport
from hookwire.runtime.bus.transport import Ack
from hookwire.runtime.clock import VirtualClock

BUS = [s for s in load_scenarios([DEFAULT_SCENARIO_DIR]) if s.id.startswith(("bus.", "events."))]


class SettledBus(EventBus):
    """A JetStream bus whose publishes return once the stream delivered them back here."""

    def _send(self, batch: Sequence[Event], mode: int = 0) -> Ack | None:
        ack = super()._send(batch, mode)
        if ack is not None:
            last = max(ack.result(30))
            deadline = time.monotonic() + 30
            while self.position < last:
                assert time.monotonic() < deadline, "the stream did not deliver"
                time.sleep(0.0005)
        return None


@pytest.mark.parametrize("scenario", BUS, ids=[s.id for s in BUS])
def test_bus_scenario_passes_on_jetstream(
    scenario: Any, nats_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    buses: list[EventBus] = []

    def make_bus(config: dict[str, Any], clock: VirtualClock) -> EventBus:
        rate = config.get("rateLimit")
        retention = config.get("retention")
        options = JetStreamOptions(max_msgs=retention or 0)
        bus = SettledBus(
            clock=clock,
            transport=JetStreamTransport(nats_server.url, options),
            rate_limit=None if rate is None else (rate["rate"], rate["burst"]),
        )
        buses.append(bus)
        return bus

    monkeypatch.setattr(engine, "make_bus", make_bus)
    try:
        result = run_scenario(scenario, PySyncDriver())
    finally:
        for bus in buses:
            bus.close()
    assert buses, "the scenario ran on no JetStream bus"
    assert result.failures == []
