"""The docstring examples of the Lua worker modules and the Lua conformance drivers run."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "hookwire.runtime.lua_process",
    "hookwire.runtime.lua_process.adapter",
    "hookwire.runtime.framing",
    "hookwire.runtime.lua_process.worker",
    "hookwire.conformance.lua_behaviour",
    "hookwire.conformance.lua_embedded",
    "hookwire.conformance.lua_process",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0
