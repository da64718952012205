"""The release report reads the conformance runner's real output into the scenario x adapter
matrix and writes it as JSON and Markdown."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from release.gate import parse_levels, parse_matrix, write_report


def test_the_runner_output_becomes_the_report_matrix(tmp_path: Path) -> None:
    args = ["--filter", "order.named", "--adapters", "py-sync,lua"]
    out = subprocess.run(
        [sys.executable, "-m", "hookwire.conformance", *args],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    ).stdout  # fmt: skip
    adapters, matrix = parse_matrix(out)
    assert adapters == ["py-sync", "lua"]
    assert set(matrix) == {"order.named-level-equals-number", "order.named-levels"}
    assert all(cells == {"py-sync": "PASS", "lua": "PASS"} for cells in matrix.values())
    report = {
        "version": "0.1.0",
        "ok": True,
        "steps": [{"step": "buf lint", "ok": True}],
        "artefacts": {"hookwire-sdk-0.1.0.tgz": "ab" * 32},
        "conformance": {"adapters": adapters, "matrix": matrix, "notes": ["lua-process: x"]},
        "tools": {"node": "v20"},
    }
    write_report(report, tmp_path)
    assert (
        json.loads((tmp_path / "conformance-report.json").read_text())["conformance"]
        == (report["conformance"])
    )
    md = (tmp_path / "conformance-report.md").read_text()
    assert "| scenario | py-sync | lua |" in md
    assert "| order.named-levels | PASS | PASS |" in md
    assert f"| hookwire-sdk-0.1.0.tgz | `{'ab' * 32}` |" in md
    assert "Result: **PASS**" in md


def test_each_adapters_level_is_read_from_the_runner_and_reported(tmp_path: Path) -> None:
    args = ["--filter", "order.named", "--adapters", "py-sync,lua"]
    out = subprocess.run(
        [sys.executable, "-m", "hookwire.conformance", *args],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    ).stdout  # fmt: skip
    levels = parse_levels(out)
    assert set(levels) == {"py-sync", "lua"}
    # Everything selected passed, so each reached the top level.
    assert {lv["level"] for lv in levels.values()} == {"recommended"}
    assert levels["py-sync"]["counts"].startswith("2 successes")
    report = {
        "version": "0.1.0",
        "ok": True,
        "steps": [],
        "artefacts": {},
        "conformance": {"adapters": [], "matrix": {}, "levels": levels},
        "tools": {},
    }
    write_report(report, tmp_path)
    md = (tmp_path / "conformance-report.md").read_text()
    assert "| py-sync | recommended | 2 successes" in md
