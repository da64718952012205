"""The docstring examples of the built-ins are part of their contract: run them."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "field_path",
    "retry",
    "cost_tracking",
    "caching",
    "rate_limit",
    "logging_hook",
    "metrics",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(f"hookwire.runtime.builtins.{name}")
    result = doctest.testmod(module)
    assert result.attempted > 0
    assert result.failed == 0
