"""Fixtures for the Lua worker process tests: they need the system `lua5.4` (CI installs it)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hookwire.runtime.lua_process import LuaProcessWorker, find_lua

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if find_lua() is None:
        skip = pytest.mark.skip(reason="lua5.4 is not installed (apt-get install lua5.4)")
        for item in items:
            if item.path.parent == HERE:
                item.add_marker(skip)


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
