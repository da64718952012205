"""Every docstring example in hookwire.runtime.wire runs as written."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "bus",
    "bus_publish",
    "cloudevents",
    "context",
    "duration",
    "enums",
    "event",
    "json",
    "registration",
    "replay",
    "results",
    "tags",
    "trace",
]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name: str) -> None:
    module = importlib.import_module(f"hookwire.runtime.wire.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0
