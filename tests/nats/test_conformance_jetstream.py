"""The JetStream column of `python -m hookwire.conformance`: the bus scenarios on a bus over
NATS JetStream (a local server per scenario), in the matrix and in its JSON report.
(tests/conformance/test_bundled_scenarios.py runs every bus scenario on it.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hookwire.conformance.cli import main


def test_the_jetstream_column_runs_the_bus_scenarios_and_reports_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "x.json").write_text(
        json.dumps(
            {
                "id": "exec.resume-unrelated",
                "description": "not a bus scenario",
                "spec": "SEMANTICS 3",
                "hooks": [
                    {
                        "name": "a",
                        "point": "before_tool_execution",
                        "behaviour": [{"returns": {"continue": {}}}],
                    }
                ],
                "steps": [
                    {
                        "execute": {"point": "before_tool_execution"},
                        "expect": {"result": {"continue": {}}},
                    }
                ],
            }
        )
    )
    report = tmp_path / "report.json"
    argv = ["--adapters", "jetstream,py-sync", "--filter", "resume", "--json", str(report)]
    argv += ["--scenarios", str(extra)]
    status = main(argv)
    out = capsys.readouterr().out
    assert status == 0, out
    assert "JetStream: bus scenarios on " in out
    results = json.loads(report.read_text())["results"]
    on_js = {r["scenario"]: r for r in results if r["adapter"] == "jetstream"}
    resumes = {s for s in on_js if s.startswith("bus.")}
    assert {"bus.resume", "bus.resume-from-sequence", "bus.resume-out-of-range"} <= resumes
    for sid in resumes:
        assert on_js[sid]["status"] == "passed", on_js[sid]
    others = [r for s, r in on_js.items() if not s.startswith(("bus.", "events."))]
    assert others, "a scenario outside the bus axis was selected"
    for r in others:
        assert r["status"] == "skipped"
        assert r["details"] == ["the JetStream column runs the bus scenarios (bus.*, events.*)"]
