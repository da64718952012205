"""Mixed-language chain latency (`python -m bench mixed`).

One executor service on 127.0.0.1 with the demo's chain at one point: a Python hook
(in-process), a Lua hook (embedded) and a JavaScript hook (a node worker over gRPC). A Python
client executes the point sequentially; we print p50/p99 of the Execute round trip beside the
same Execute with only the Python hook (the baseline), the two alternating call by call so both
see the same conditions; the ratio of p50s shows what the Lua and JS hooks add.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

from hookwire.runtime.lua import LuaSandbox, load_lua_hooks
from hookwire.runtime.server import HookwireServer, ServerConfig, ServerThread
from hookwire.sdk.client import Client

from demo.run import POINT, python_hook, start_js_worker

ROOT = Path(__file__).resolve().parent.parent
CALLS = 1500
WARMUP = 200
DATA: dict[str, Any] = {
    "tool": "web_search",
    "query": "  weather in Paris tomorrow  ",
    "user": {"id": 42, "email": "ada@example.org"},
}


def _percentiles(samples: list[int]) -> tuple[float, float]:
    ordered = sorted(samples)
    p50 = statistics.median(ordered) / 1000
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] / 1000
    return p50, p99


def _measure(client: Client, points: tuple[str, ...]) -> dict[str, list[int]]:
    """Each point executed CALLS times, the points alternating call by call."""
    for _ in range(WARMUP):
        for point in points:
            client.execute(point, DATA, timeout=10)
    samples: dict[str, list[int]] = {point: [] for point in points}
    clock = time.perf_counter_ns
    for _ in range(CALLS):
        for point in points:
            t0 = clock()
            client.execute(point, DATA, timeout=10)
            samples[point].append(clock() - t0)
    return samples


def run() -> None:
    token = "bench"
    sandboxes: list[LuaSandbox] = []
    baseline_point = "custom:python_only"

    def setup(hw: HookwireServer) -> None:
        hook = python_hook(hw.bus)
        hw.registry.register(hook, name="py-trim-query", point=POINT, priority=-100)
        hw.registry.register(hook, name="py-only", point=baseline_point)
        sandboxes.append(LuaSandbox(clock=hw.clock, bus=hw.bus))
        load_lua_hooks(ROOT / "demo" / "hooks", hw.registry, sandboxes[0])

    with ServerThread(setup, config=ServerConfig(host="127.0.0.1", port=0, token=token)) as st:
        worker = start_js_worker(st.address, token)
        try:
            with Client(st.address, token=token) as client:
                samples = _measure(client, (baseline_point, POINT))
                base, mixed = samples[baseline_point], samples[POINT]
        finally:
            worker.terminate()
            worker.wait(timeout=10)
    b50, b99 = _percentiles(base)
    m50, m99 = _percentiles(mixed)
    print(f"Execute RPC, 1 Python hook (baseline): p50 {b50:8.0f} us  p99 {b99:8.0f} us")
    print(f"Execute RPC, py + lua + js chain     : p50 {m50:8.0f} us  p99 {m99:8.0f} us")
    print(f"ratio mixed / baseline (p50)         : {m50 / b50:.2f}x  ({CALLS} sequential calls)")
