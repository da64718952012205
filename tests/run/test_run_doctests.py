"""The docstring examples of run.py and replay.py are part of their contract: run them."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize("name", ["hookwire.runtime.run", "hookwire.runtime.replay"])
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0
    assert result.failed == 0
