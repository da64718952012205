"""`hookwire tail` follows the stream and resumes after the server went away and came back;
the SDK's `subscribe` yields decoded events."""

from __future__ import annotations

import argparse
import io
import threading
import time

from hookwire.runtime.bus.bus import EventBus
from hookwire.runtime.bus.event import NO_DATA
from hookwire.runtime.server.config import ServerConfig
from hookwire.runtime.server.server import ServerThread
from hookwire.sdk.client import Client, event
from hookwire.sdk.commands import cmd_tail


class _Out(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()

    def write(self, s: str) -> int:
        with self.lock:
            return super().write(s)

    def lines(self) -> list[str]:
        with self.lock:
            return self.getvalue().splitlines()


def _wait(cond: object, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not cond():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_subscribe_yields_decoded_events() -> None:
    with ServerThread(config=ServerConfig(port=0)) as st, Client(st.address) as client:
        client.publish([event("a.b", {"n": [1, 2]}, correlation_id="c1"), event("a.c")])
        got = []
        for ev in client.subscribe("a.*", from_sequence=1):
            got.append(ev)
            if len(got) == 2:
                break
    assert [(e.sequence, e.type, e.correlation_id) for e in got] == [
        (1, "a.b", "c1"),
        (2, "a.c", ""),
    ]
    assert got[0].payload == {"n": [1, 2]} and got[1].payload is NO_DATA


def test_tail_resumes_after_a_server_restart() -> None:
    bus = EventBus()
    first = ServerThread(config=ServerConfig(port=0), bus=bus)
    address = first.start()
    port = int(address.rsplit(":", 1)[1])
    args = argparse.Namespace(
        patterns=["t.*"],
        from_seq=1,
        count=4,
        json=False,
        address=address,
        token=None,
        token_file=None,
        tls=False,
        tls_ca=None,
        tls_server_name=None,
        timeout=5.0,
    )
    out = _Out()
    status: list[int] = []
    tail = threading.Thread(target=lambda: status.append(cmd_tail(args, out, sleep=time.sleep)))
    second = None
    try:
        bus.publish("t.one", 1)
        bus.publish("t.two", 2)
        tail.start()
        _wait(lambda: len(out.lines()) == 2)
        first.stop(grace_s=0.5)
        bus.publish("t.three", 3)  # while no server runs: kept in the retention log
        second = ServerThread(config=ServerConfig(port=port), bus=bus)
        second.start()
        bus.publish("t.four", 4)
        tail.join(30)
        assert status == [0]
        assert out.lines() == ["#1 t.one 1", "#2 t.two 2", "#3 t.three 3", "#4 t.four 4"]
    finally:
        if second is not None:
            second.stop(grace_s=0.5)
