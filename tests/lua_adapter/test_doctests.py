"""The docstring examples of the Lua adapter are part of its contract: run them."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize("name", ["", ".adapter", ".convert", ".loader", ".sandbox"])
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(f"hookwire.runtime.lua{name}")
    result = doctest.testmod(module)
    assert result.attempted > 0
    assert result.failed == 0
