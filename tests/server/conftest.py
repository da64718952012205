"""Fixtures: a real hookwire server on 127.0.0.1 with a free port, on its own thread and loop."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hookwire.runtime.server.config import ServerConfig
from hookwire.runtime.server.server import HookwireServer, ServerThread

StartServer = Callable[..., ServerThread]


@pytest.fixture
def start_server() -> Iterator[StartServer]:
    """Start servers with `start_server(setup=fn, config=..., clock=...)`; all are stopped after."""
    started: list[ServerThread] = []

    def start(setup: Callable[[HookwireServer], None] | None = None, **kwargs: Any) -> ServerThread:
        kwargs.setdefault("config", ServerConfig(port=0, shutdown_grace_s=5.0))
        st = ServerThread(setup, **kwargs)
        st.start()
        started.append(st)
        return st

    yield start
    for st in reversed(started):
        if st.loop.is_running():
            st.stop(grace_s=1.0)
