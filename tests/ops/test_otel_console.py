"""`hookwire serve` with OTEL_TRACES_EXPORTER=console: the printed spans of one execution through
a Python, a Lua and a remote JavaScript hook, parented under the caller's traceparent."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from hookwire.sdk.client import Client

ROOT = Path(__file__).resolve().parents[2]
TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
PARENT = "b7ad6b7169203331"
P = "before_tool_execution"

WORKER = """
import { createWorker, modified } from %s;
const worker = createWorker({ address: process.argv[2], workerId: "otel-js" });
await worker.registerHook("before_tool_execution", (ctx) => modified({ js: true }),
  { name: "js_hook", priority: 30, timeoutMs: 2000 });
await worker.start();
console.log("ready");
process.on("SIGTERM", async () => { await worker.close(); process.exit(0); });
"""


def _spans(text: str) -> list[dict[str, Any]]:
    """The JSON objects the console exporter printed (one per span, pretty-printed)."""
    out = []
    decoder = json.JSONDecoder()
    i = 0
    while (start := text.find("{", i)) != -1:
        try:
            obj, end = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            i = start + 1
            continue
        if isinstance(obj, dict) and "context" in obj and "name" in obj:
            out.append(obj)
        i = end
    return out


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node")
def test_console_spans_cover_python_lua_and_js_hooks(tmp_path: Path) -> None:
    (tmp_path / "pyhooks.py").write_text(
        "from hookwire.runtime.results import Modified\n"
        "def py(ctx):\n    return Modified({'py': True})\n"
    )
    (tmp_path / "lua").mkdir()
    (tmp_path / "lua" / "l.lua").write_text(
        'hookwire.register("before_tool_execution", function(ctx)\n'
        '  return hookwire.modified({lua = true})\nend, {name = "lua_hook", priority = 20})\n'
    )
    (tmp_path / "hookwire.toml").write_text(
        'python_path = ["."]\n[server]\nport = 0\n'
        '[[hooks.python]]\nname = "py_hook"\nimport = "pyhooks:py"\n'
        f'point = "{P}"\npriority = 10\n[[hooks.lua]]\npath = "lua"\n'
    )
    index = json.dumps((ROOT / "sdk" / "js" / "src" / "index.js").as_uri())
    (tmp_path / "worker.mjs").write_text(WORKER % index)
    env = {**os.environ, "OTEL_TRACES_EXPORTER": "console", "OTEL_SERVICE_NAME": "hw-test"}
    server = subprocess.Popen(
        [sys.executable, "-m", "hookwire.runtime.cli", "serve", "--config", "hookwire.toml"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    worker = None
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        match = re.match(r"hookwire serving on (\S+) ", line)
        assert match, line + (server.stderr.read() if server.stderr else "")
        address = match.group(1)
        worker = subprocess.Popen(
            ["node", str(tmp_path / "worker.mjs"), address],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert worker.stdout is not None
        assert worker.stdout.readline().strip() == "ready"
        traceparent = f"00-{TRACE_ID}-{PARENT}-01"
        with Client(address, traceparent=traceparent) as client:
            deadline = time.monotonic() + 10
            while len(client.list_hooks(P)) < 3 and time.monotonic() < deadline:
                time.sleep(0.05)
            run = client.execute(P, {"tool": "search"})
        assert run.context.data == {"tool": "search", "py": True, "lua": True, "js": True}
        server.send_signal(signal.SIGTERM)
        out, _err = server.communicate(timeout=30)
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(10)
        server.kill()
        server.wait()
    spans = _spans(out)
    by_name = {s["name"]: s for s in spans}
    root = by_name[f"hookwire.execute {P}"]
    assert root["context"]["trace_id"] == f"0x{TRACE_ID}"
    assert root["parent_id"] == f"0x{PARENT}"
    assert root["resource"]["attributes"]["service.name"] == "hw-test"
    for hook, language in (("py_hook", "python"), ("lua_hook", "lua"), ("js_hook", "javascript")):
        span = by_name[f"hookwire.hook {hook}"]
        assert span["context"]["trace_id"] == f"0x{TRACE_ID}"
        assert span["parent_id"] == root["context"]["span_id"]
        assert span["attributes"]["hookwire.hook.language"] == language
        assert span["attributes"]["hookwire.hook.outcome"] == "MODIFIED"
        assert span["attributes"]["hookwire.breaker.state"] == "CLOSED"
