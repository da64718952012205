"""The docstring examples of the bus are part of its contract: run them (its wire forms:
tests/wire/test_doctests.py)."""

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


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(f"hookwire.runtime.bus.{name}")
    result = doctest.testmod(module)
    assert result.attempted > 0
    assert result.failed == 0
