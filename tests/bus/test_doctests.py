"""The docstring examples of the bus (and of its wire forms) are part of its contract: run them."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "bus",
    "event",
    "overflow",
    "patterns",
    "retention",
    "stats",
    "subscription",
    "token_bucket",
    "transport",
]
WIRE = ["event", "bus", "bus_publish", "cloudevents"]


@pytest.mark.parametrize(
    "name",
    [f"hookwire.runtime.bus.{m}" for m in MODULES] + [f"hookwire.runtime.wire.{m}" for m in WIRE],
)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module)
    assert result.attempted > 0
    assert result.failed == 0
