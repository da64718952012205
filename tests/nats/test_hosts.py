"""Several `hookwire serve --nats` processes (standing for hosts) on one JetStream stream:
publishers on every host, Python and JS subscribers (over gRPC) on every host, and a Lua
subscriber (`hookwire.subscribe` in an embedded sandbox) on one more host, this test's
process: one identical gap-free order everywhere."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from hookwire.runtime.bus import EventBus
from hookwire.runtime.bus.jetstream import JetStreamTransport
from hookwire.runtime.context import HookContext
from hookwire.runtime.lua import LuaHookAdapter, LuaSandbox
from hookwire.runtime.results import Replace
from hookwire.sdk.client import Client
from hookwire.v1 import event_pb2, json_pb2

HERE = Path(__file__).parent
HOSTS = 2
PER_HOST = 120  # 40 single publishes and 8 batches of 10 per host


def _serve(url: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "hookwire.runtime.cli", "serve", "--port", "0", "--nats", url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    match = re.match(r"hookwire serving on (127\.0\.0\.1:\d+)", line)
    if not match:
        proc.kill()
        raise AssertionError(
            f"serve did not start: {line!r} {proc.stderr.read() if proc.stderr else ''}"
        )
    return proc, match.group(1)


def _event(tag: str, i: int) -> event_pb2.UniversalEvent:
    pb = event_pb2.UniversalEvent(type=f"host.{tag}")
    pb.payload.CopyFrom(json_pb2.JsonValue(string_value=f"{tag}-{i}"))
    return pb


def test_hosts_share_one_gap_free_order(nats_server: Any) -> None:
    if shutil.which("node") is None:
        pytest.skip("node is needed for the JS subscribers")
    procs: list[subprocess.Popen[str]] = []
    lua_host = EventBus(transport=JetStreamTransport(nats_server.url))
    try:
        sandbox = LuaSandbox(bus=lua_host)
        [reg] = sandbox.load_source(
            "local seen = {}\n"
            "hookwire.subscribe('>', function(ev)\n"
            "  seen[#seen + 1] = ev.sequence .. ' ' .. ev.id\n"
            "end)\n"
            "hookwire.register('session_start', function(ctx) return hookwire.replace(seen) end)\n",
            "subscriber.lua",
        )
        addresses = []
        for _ in range(HOSTS):
            proc, address = _serve(nats_server.url)
            procs.append(proc)
            addresses.append(address)
        total = HOSTS * PER_HOST
        js = [
            subprocess.Popen(
                ["node", str(HERE / "js_subscriber.mjs"), address, str(total)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for address in addresses
        ]
        procs.extend(js)
        py_orders: list[list[tuple[int, str]]] = [[] for _ in addresses]

        def py_subscriber(k: int) -> None:
            with Client(addresses[k]) as client:
                for ev in client.subscribe(">", from_sequence=1, capacity=100_000):
                    py_orders[k].append((ev.sequence, ev.id))
                    if len(py_orders[k]) >= total:
                        return

        def publisher(k: int) -> None:
            tag = f"h{k}"
            with Client(addresses[k]) as client:
                for i in range(40):
                    client.publish([_event(tag, i)])
                for b in range(8):
                    client.publish([_event(tag, 40 + b * 10 + j) for j in range(10)])

        threads = [threading.Thread(target=py_subscriber, args=(k,)) for k in range(HOSTS)]
        threads += [threading.Thread(target=publisher, args=(k,)) for k in range(HOSTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(90)
        assert not any(t.is_alive() for t in threads)
        js_orders = []
        for p in js:
            out, err = p.communicate(timeout=60)
            assert p.returncode == 0, err
            js_orders.append(
                [(int(s), i) for s, i in (line.split() for line in out.split("\n") if line)]
            )
        lua_seen: list[str] = []
        deadline = time.monotonic() + 30
        while len(lua_seen) < total and time.monotonic() < deadline:
            got = LuaHookAdapter(sandbox, reg.fn).call(HookContext("session_start"), 10**9)
            assert isinstance(got, Replace)
            lua_seen = list(got.value)
            time.sleep(0.05)
        lua_order = [(int(s), i) for s, i in (line.split() for line in lua_seen)]
        expected = list(range(1, total + 1))
        reference = py_orders[0][:total]
        assert [s for s, _ in reference] == expected
        assert len({i for _, i in reference}) == total
        for order in (*py_orders, *js_orders, lua_order):
            assert order[:total] == reference
    finally:
        lua_host.close()
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def test_serve_without_a_reachable_server_exits_with_the_reason() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "hookwire.runtime.cli", "serve", "--port", "0",
         "--nats", "nats://127.0.0.1:1"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert "cannot connect to nats://127.0.0.1:1" in result.stderr
