"""The README's main job (`nox -s demo`) must keep working: run it and check what it shows."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_demo_runs_one_chain_in_three_languages() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "demo" / "run.py")],
        capture_output=True,
        text=True,
        timeout=90,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr + proc.stdout
    out = proc.stdout
    # Priority order: Python (-100), Lua (0), JS (100), each leaving its mark in the data.
    assert '"seen_by": ["python", "lua", "javascript"]' in out
    assert (
        '"email_domain": "example.org"' in out
        and 'ada@example.org"}' not in out.split("final data:")[1]
    )
    assert '"budget_tokens": 656' in out  # 256 + 16 * len("weather in Paris tomorrow")
    trace = out.split("trace:")[1].split("final result:")[0]
    rows = [line.split()[:3] for line in trace.splitlines()[3:] if line.strip()]
    assert rows == [
        ["py-trim-query", "python", "MODIFIED"],
        ["lua-redact-email", "lua", "MODIFIED"],
        ["js-budget", "javascript", "MODIFIED"],
    ]
    events = out.split("events (")[1]
    assert events.index("demo.python.normalised") < events.index("demo.lua.redacted")
    assert events.count("hookwire.hook.executed") == 3
