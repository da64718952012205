"""The cross-language chain demo (`nox -s demo`).

Starts the hookwire executor service on 127.0.0.1, puts a Python hook (in-process), a Lua hook
(embedded, sandboxed) and a JavaScript hook (a node worker connected over gRPC) at one point,
executes the point from a client, shows the data flowing through the three in priority order,
and streams the resulting events to a subscriber.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from hookwire.runtime.bus.bus import EventBus
from hookwire.runtime.context import HookContext
from hookwire.runtime.lua import LuaSandbox, load_lua_hooks
from hookwire.runtime.results import Modified
from hookwire.runtime.server import HookwireServer, ServerConfig, ServerThread
from hookwire.runtime.wire.json import from_proto_value
from hookwire.sdk.client import Client

HERE = Path(__file__).resolve().parent
POINT = "before_tool_execution"


def python_hook(bus: EventBus) -> Any:
    def trim_query(ctx: HookContext) -> Modified:
        """Python hook: normalise the query before anyone else looks at it."""
        query = str(ctx.data.get("query", ""))
        bus.publish("demo.python.normalised", {"before": query, "after": query.strip()})
        return Modified({"query": query.strip(), "seen_by": ["python"]})

    return trim_query


def start_js_worker(address: str, token: str) -> subprocess.Popen[str]:
    node = shutil.which("node")
    if node is None:
        raise SystemExit("demo: node is not on PATH (node >= 20 is needed for the JS worker)")
    proc = subprocess.Popen(
        [node, str(HERE / "js_worker.mjs"), address, token],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if line != "ready":
        proc.kill()
        raise SystemExit(f"demo: the JS worker did not start (said {line!r})")
    return proc


def _show(title: str, rows: list[list[str]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    print(f"\n{title}")
    for n, row in enumerate(rows):
        print("  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
        if n == 0:
            print("  " + "  ".join("-" * w for w in widths))


def main() -> int:
    token = secrets.token_hex(16)
    sandboxes: list[LuaSandbox] = []

    def setup(hw: HookwireServer) -> None:
        hw.registry.register(python_hook(hw.bus), name="py-trim-query", point=POINT, priority=-100)
        sandboxes.append(LuaSandbox(clock=hw.clock, bus=hw.bus))
        load_lua_hooks(HERE / "hooks", hw.registry, sandboxes[0])

    config = ServerConfig(host="127.0.0.1", port=0, token=token)
    with ServerThread(setup, config=config) as server:
        address = server.address
        print(f"hookwire executor service on {address} (token auth)")
        worker = start_js_worker(address, token)
        try:
            with Client(address, token=token, correlation_id="demo-run-1") as client:
                hooks = client.list_hooks(POINT)
                print(f"\nhooks at {POINT} (chain order):")
                for h in hooks:
                    print(f"  {h.priority:>5}  {h.name}")
                data = {
                    "tool": "web_search",
                    "query": "   weather in Paris tomorrow   ",
                    "user": {"id": 42, "email": "ada@example.org"},
                }
                print(f"\nexecute {POINT} with data:\n  {json.dumps(data)}")
                execution = client.execute(POINT, data, timeout=10)
                _show(
                    "trace:",
                    [["hook", "language", "outcome", "duration", "breaker"]]
                    + [
                        [
                            e.hook_name,
                            e.language,
                            str(e.outcome),
                            f"{e.duration_ns / 1000:.0f} us",
                            str(e.breaker_state),
                        ]
                        for e in execution.trace
                    ],
                )
                print(f"\nfinal result: {execution.result.kind}")
                print(f"final data:\n  {json.dumps(execution.context.data, sort_keys=True)}")
                seen = execution.context.data.get("seen_by")
                if seen != ["python", "lua", "javascript"]:
                    print(f"demo: unexpected order {seen!r}", file=sys.stderr)
                    return 1
                print("\nevents (replayed from the retention log, in sequence order):")
                for batch in client.subscribe_raw([">"], from_sequence=1, resume=False):
                    for ev in batch.events:
                        payload = from_proto_value(ev.payload) if ev.HasField("payload") else None
                        print(f"  #{ev.sequence:<3} {ev.type:<28} {json.dumps(payload)}")
                    if batch.stats.queued == 0:
                        break
        finally:
            worker.terminate()
            worker.wait(timeout=10)
    print("\ndemo: OK — one chain, three languages, one sequence of events")
    return 0


if __name__ == "__main__":
    os.chdir(HERE.parent)
    raise SystemExit(main())
