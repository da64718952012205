"""A 3-node JetStream cluster on loopback: the stream is R3, and SIGKILL of its leader in the
middle of publishing loses and duplicates no acknowledged event (retries reuse the id)."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from typing import Any

from hookwire.runtime.bus import EventBus
from hookwire.runtime.bus.jetstream import JetStreamTransport

COUNT = 150


def _stream(nodes: list[Any]) -> dict[str, Any]:
    for node in nodes:
        if node.proc.poll() is not None:
            continue
        try:
            url = node.monitor + "/jsz?streams=true&config=true"
            with urllib.request.urlopen(url, timeout=2) as r:
                jsz = json.loads(r.read())
        except OSError:
            continue
        for account in jsz.get("account_details", []):
            for stream in account.get("stream_detail", []):
                if stream["name"] == "HOOKWIRE" and stream.get("cluster", {}).get("leader"):
                    out: dict[str, Any] = stream
                    return out
    raise AssertionError("no stream leader")


def _leader(nodes: list[Any]) -> str:
    return str(_stream(nodes)["cluster"]["leader"])


def test_killing_the_stream_leader_loses_and_duplicates_nothing(
    nats_cluster: list[Any], closing: Any
) -> None:
    urls = [n.url for n in nats_cluster]
    bus = closing(EventBus(transport=JetStreamTransport(urls)))
    live = bus.subscribe("k.>", capacity=10_000)
    stream = _stream(nats_cluster)
    assert stream["config"]["num_replicas"] == 3
    leader = str(stream["cluster"]["leader"])
    acked: list[tuple[int, str]] = []
    slowest = [0.0]
    errors: list[BaseException] = []

    def publish() -> None:
        try:
            for i in range(COUNT):
                t0 = time.monotonic()
                seq = bus.publish("k.x", {"i": i})
                slowest[0] = max(slowest[0], time.monotonic() - t0)
                acked.append((seq, str(i)))
        except BaseException as exc:  # reported below
            errors.append(exc)

    publisher = threading.Thread(target=publish)
    publisher.start()
    deadline = time.monotonic() + 30
    while len(acked) < COUNT // 3 and time.monotonic() < deadline:
        time.sleep(0.005)
    killed = next(n for n in nats_cluster if n.name == leader)
    killed.kill()
    publisher.join(120)
    assert not errors, errors
    assert len(acked) == COUNT
    # One publish spanned the leader election (writes pause while a new leader is elected).
    assert slowest[0] > 0.5, slowest
    # Every acknowledged event is stored once: consecutive sequences, one per payload.
    assert [s for s, _ in acked] == sorted(s for s, _ in acked)
    survivor = next(n for n in nats_cluster if n is not killed)
    reader = closing(EventBus(transport=JetStreamTransport([survivor.url])))
    stored = reader.retained(1)
    assert [ev.payload["i"] for ev in stored] == list(range(COUNT))
    assert [ev.sequence for ev in stored] == [s for s, _ in acked]
    # The live subscriber stalled during the election and then went on without a gap.
    deadline = time.monotonic() + 30
    while len(live) < COUNT and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [ev.payload["i"] for ev in live.poll()] == list(range(COUNT))
