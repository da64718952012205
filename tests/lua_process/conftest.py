"""Fixtures for the Lua worker process tests. They run on the interpreter a LuaProcessWorker picks
by default: the system `lua5.4` when it is on PATH (CI installs it), else the lupa fallback;
tests/lua_interpreters runs both explicitly."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hookwire.runtime.lua_process import LuaProcessWorker


@pytest.fixture
def hook_file(tmp_path: Path) -> Callable[[str, str], Path]:
    """Write a Lua hook file into the test's directory."""

    def write(name: str, code: str) -> Path:
        path = tmp_path / name
        path.write_text(code)
        return path

    return write


@pytest.fixture
def workers() -> Iterator[list[LuaProcessWorker]]:
    """Workers a test started; stopped at its end whatever happened."""
    started: list[LuaProcessWorker] = []
    yield started
    for w in started:
        w.stop()
