"""JS SDK benchmarks (`python -m bench js`): a remote JS hook's round trip and a JS subscriber.

The server (`hookwire serve`), the JS worker and the JS client each run in their own process on
127.0.0.1, as in production; node does the timing (`sdk/js/bench/bench.mjs`).

- Remote JS hook round trip (execute -> worker -> result), sequential: p50 / p99 (goal p50 <= 300
  us), beside a bare grpc-js unary call and an Execute without hooks measured in the same run.
- The same with 64 calls in flight on one worker connection: calls/s (goal >= 10,000/s).
- JS subscriber: events/s received by a JS `subscribe()` loop while a Python client publishes
  batches of 1,000 (backpressure overflow, so nothing is dropped).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH_JS = ROOT / "sdk" / "js" / "bench" / "bench.mjs"
ROUND_TRIPS = 3000
EVENTS = 200_000
PUBLISH_BATCH = 1000


def _start_server() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "hookwire.runtime.cli", "serve", "--host", "127.0.0.1"),
            *("--port", "0", "--max-publish-batch", str(PUBLISH_BATCH)),
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    match = re.search(r"serving on (\S+)", proc.stdout.readline())
    if match is None:
        proc.kill()
        raise RuntimeError("hookwire serve did not print its address")
    return proc, match.group(1)


def _node(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        ["node", str(BENCH_JS), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )


def _lines(proc: subprocess.Popen[str]) -> list[dict[str, Any]]:
    assert proc.stdout is not None
    return [json.loads(line) for line in proc.stdout if line.strip()]


def _stop(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _roundtrip(address: str) -> list[dict[str, Any]]:
    worker = _node("worker", address)
    try:
        assert worker.stdout is not None
        ready = json.loads(worker.stdout.readline())
        assert ready.get("ready"), ready
        client = _node("roundtrip", address, str(ROUND_TRIPS))
        results = _lines(client)
        client.wait()
        return results
    finally:
        if worker.stdin is not None:
            worker.stdin.close()
        try:
            worker.wait(5)
        except subprocess.TimeoutExpired:
            _stop(worker)


def _subscriber(address: str) -> dict[str, Any]:
    from hookwire.sdk import Client

    sub = _node("subscribe", address, str(EVENTS))
    assert sub.stdout is not None
    assert json.loads(sub.stdout.readline()).get("subscribed")
    time.sleep(0.5)  # let the subscription reach the bus before the first publish

    def publish() -> None:
        from hookwire.sdk import event

        events = [event(f"bench.js.e{i % 10}", {"i": i}) for i in range(PUBLISH_BATCH)]
        with Client(address) as client:
            for _ in range(EVENTS // PUBLISH_BATCH):
                client.publish(events)

    t = threading.Thread(target=publish)
    t.start()
    out = _lines(sub)
    t.join()
    sub.wait()
    return out[-1]


def run() -> None:
    server, address = _start_server()
    try:
        rows = _roundtrip(address)
        sub = _subscriber(address)
    finally:
        _stop(server)
    seq = {r["what"]: r for r in rows if "p50_us" in r}
    mux = {r["what"]: r for r in rows if "per_s" in r}
    hook = seq["execute -> JS worker hook"]
    base = seq["grpc-js unary (health check)"]
    none = seq["execute, no hooks"]
    print(f"remote JS hook round trip, sequential ({hook['n']} calls):")
    for label, r in seq.items():
        print(f"  {label:32s} p50 {r['p50_us']:8.0f} us   p99 {r['p99_us']:8.0f} us")
    print(
        f"  JS hook p50 / grpc-js unary p50 = {hook['p50_us'] / base['p50_us']:.2f}x; "
        f"hook cost over Execute without hooks: {hook['p50_us'] - none['p50_us']:.0f} us"
    )
    print(f"  goal p50 <= 300 us: {'met' if hook['p50_us'] <= 300 else 'NOT met'}")
    mh = mux["execute -> JS worker hook"]
    mn = mux["execute, no hooks"]
    print(f"64 calls in flight on one worker connection ({mh['n']} calls):")
    print(
        f"  execute -> JS worker hook   {mh['per_s']:10,.0f} calls/s "
        f"(JS client busy {mh['client_cpu']:.0%} of the time)"
    )
    ratio = mh["per_s"] / mn["per_s"]
    print(f"  execute, no hooks           {mn['per_s']:10,.0f} calls/s (ratio {ratio:.2f})")
    print(f"  goal >= 10,000 calls/s: {'met' if mh['per_s'] >= 10_000 else 'NOT met'}")
    print(
        f"JS subscriber: {sub['per_s']:,.0f} events/s "
        f"({sub['n']:,} events, {sub['dropped']} dropped)"
    )
