"""The docstring examples of the conformance package are part of its documentation: run them."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "__init__",
    "cli",
    "compare",
    "driver",
    "drivers",
    "engine",
    "jetstream",
    "loader",
    "nats_server",
    "py_async",
    "py_sync",
    "remote_session",
    "report",
    "scenario",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    dotted = "hookwire.conformance" + ("" if name == "__init__" else f".{name}")
    module = importlib.import_module(dotted)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
