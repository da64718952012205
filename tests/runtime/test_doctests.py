"""Every docstring example in hookwire.runtime's core modules runs as written."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "adapter",
    "breaker",
    "clock",
    "composite",
    "context",
    "errors",
    "events",
    "executor",
    "hook_call",
    "json_value",
    "language",
    "monitor",
    "points",
    "registry",
    "results",
    "trace",
]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name: str) -> None:
    module = importlib.import_module(f"hookwire.runtime.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0


def test_package_doctest() -> None:
    module = importlib.import_module("hookwire.runtime")
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0
