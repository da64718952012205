"""The stream codec: `encode` writes the same UniversalEvent as `Event.to_proto()` (sequence
left out), and `decode` reads it back to an equal event."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hookwire.runtime.bus import NO_DATA, Event, EventAttrs
from hookwire.runtime.bus.event import WireEvents
from hookwire.runtime.bus.jetstream import decode, encode
from hookwire.v1 import event_pb2

TP = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

PAYLOADS: list[Any] = [
    NO_DATA, None, True, False, 0, -1, 1, 2**63 - 1, -(2**63), 2**63, -(2**63) - 1, 2**100,
    1.5, -0.0, 1e300, "", "text", "ünïcødé ✓", [], [1, "a", None, [2, [3]]], {},
    {"a": 1, "b": {"c": [True, {"d": None}]}}, {"k" * 300: "v" * 5000}, Decimal("1.10"),
    (1, 2), list(range(200)),
]  # fmt: skip


@pytest.mark.parametrize("payload", PAYLOADS, ids=repr)
def test_encode_is_to_proto(payload: Any) -> None:
    attrs = EventAttrs(
        source="hookwire://x", source_language="lua", correlation_id="c", causation_id="d",
        metadata={"m": "1", "n": ""}, traceparent=TP, tracestate="k=v",
    )  # fmt: skip
    for ev in (
        Event("a.b", payload, id="id-1", time_ns=1_700_000_000_123_456_789, ttl_ns=5, attrs=attrs),
        Event("a.b", payload),
        Event("a.b", payload, time_ns=0, ttl_ns=2_000_000_000),
    ):
        want = ev.to_proto()
        want.ClearField("sequence")
        got = event_pb2.UniversalEvent.FromString(encode(ev))
        assert got == want
        back = decode(encode(ev), 42, WireEvents())
        assert back == Event.from_proto(got).replace(sequence=42)
