"""The runner's command line: schema rejection naming file and field, failing expectations,
extra scenario directories, adapter and filter selection."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hookwire.conformance.cli import main
from hookwire.conformance.drivers import DRIVERS

P = "before_tool_execution"


def _scenario(sid: str, **overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": sid,
        "description": "test scenario",
        "spec": "SEMANTICS 3",
        "hooks": [
            {"name": "a", "point": P, "behaviour": [{"returns": {"modified": {"data": {"x": 1}}}}]}
        ],
        "steps": [
            {
                "execute": {"point": P},
                "expect": {
                    "result": {"modified": {"data": {"x": 1}}},
                    "trace": [{"hook": "a", "outcome": "MODIFIED"}],
                },
            }
        ],
    }
    base.update(overrides)
    return base


def _write(d: Path, name: str, content: Any) -> Path:
    path = d / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def test_extra_directory_scenarios_run_on_every_adapter(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write(tmp_path, "mine.json", _scenario("extra.mine"))
    sub = tmp_path / "nested"
    sub.mkdir()
    _write(sub, "deeper.json", _scenario("extra.deeper"))
    status = main(["--scenarios", str(tmp_path), "--filter", "extra."])
    out = capsys.readouterr().out
    assert status == 0, out
    rows = [line.split() for line in out.splitlines() if line.startswith("extra.")]
    # Files run in path order: mine.json sorts before nested/deeper.json.
    # The jetstream column runs the bus scenarios (bus.*, events.*) only.
    every = ["SKIP" if a == "jetstream" else "PASS" for a in DRIVERS]
    assert rows == [["extra.mine", *every], ["extra.deeper", *every]]
    assert f"conformance: {2 * len(DRIVERS)} passed, 0 failed" in out


def test_wrong_expectation_fails_and_prints_the_difference(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sc = _scenario("extra.wrong")
    sc["steps"][0]["expect"]["result"] = {"cancel": {"reason": "nope"}}
    sc["steps"][0]["expect"]["trace"][0]["outcome"] = "CANCEL"
    _write(tmp_path, "wrong.json", sc)
    status = main(["--scenarios", str(tmp_path), "--filter", "extra.wrong"])
    out = capsys.readouterr().out
    assert status == 1
    assert "extra.wrong" in out and "FAIL" in out
    assert f"conformance: 1 passed, {len(DRIVERS) - 1} failed" in out  # jetstream: SKIP
    assert "steps[0].expect.trace[0].outcome: expected 'CANCEL', got 'MODIFIED'" in out
    assert "steps[0].expect.result.cancel: expected {'reason': 'nope'}, got '<absent>'" in out


def test_wrong_trace_length_and_data_are_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sc = _scenario("extra.length")
    sc["steps"][0]["expect"] = {"data": {"x": 2}, "trace": []}
    _write(tmp_path, "length.json", sc)
    assert main(["--scenarios", str(tmp_path), "--filter", "extra.", "--adapters", "py-sync"]) == 1
    out = capsys.readouterr().out
    assert "steps[0].expect.data.x: expected 2, got 1" in out
    assert "steps[0].expect.trace (length): expected [], got ['a:MODIFIED']" in out


@pytest.mark.parametrize(
    ("mutate", "where"),
    [
        (
            lambda s: s["hooks"][0].update(priority="high"),
            "$.hooks[0].priority: 'high' is not of type 'integer'",
        ),
        (lambda s: s["steps"].append({"advanceMs": -1}), "$.steps[1].advanceMs: -1 is less than"),
        (lambda s: s["steps"][0]["expect"].update(reslt={}), "$.steps[0].expect"),
        (
            lambda s: s["hooks"][0]["behaviour"][0].update(raises="x"),
            "$.hooks[0].behaviour[0]",
        ),
        (lambda s: s["steps"].append({"unregister": "ghost"}), "$.steps[1].unregister"),
        (lambda s: s["hooks"].append(dict(s["hooks"][0])), "$.hooks[1].name"),
        (lambda s: s.pop("spec"), "$: 'spec' is a required property"),
        (
            lambda s: s["steps"].append({"advanceMs": 1, "resetBreaker": "a"}),
            "$.steps[1]: needs exactly one of execute, advanceMs,",
        ),
        (
            lambda s: s["hooks"][0]["behaviour"][0].update(raises="x"),
            "at most one of returns, returnsNothing, raises, returnsInvalid",
        ),
        (
            lambda s: s["steps"][0]["expect"]["trace"][0].update(outcome="DONE"),
            "$.steps[0].expect.trace[0].outcome: 'DONE' is not one of",
        ),
    ],
)
def test_invalid_scenario_is_rejected_naming_file_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], mutate: Any, where: str
) -> None:
    sc = _scenario("extra.bad")
    mutate(sc)
    bad = _write(tmp_path, "bad.json", sc)
    assert main(["--scenarios", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}: " in err
    assert where in err


def test_non_json_file_is_rejected(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = _write(tmp_path, "broken.json", '{"id": "x",')
    assert main(["--scenarios", str(tmp_path)]) == 2
    assert f"{bad}: $: not valid JSON" in capsys.readouterr().err


def test_duplicate_id_across_directories_is_rejected(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dup = _write(tmp_path, "dup.json", _scenario("exec.no-hooks"))
    assert main(["--scenarios", str(tmp_path)]) == 2
    assert f"{dup}: $.id: id 'exec.no-hooks' is already used by" in capsys.readouterr().err


def test_unknown_adapter_and_empty_filter_are_usage_errors(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--adapters", "py-sync,cobol"]) == 2
    assert "unknown adapter(s) ['cobol']" in capsys.readouterr().err
    assert main(["--filter", "no-such-scenario-id"]) == 2
    assert "no scenario id contains 'no-such-scenario-id'" in capsys.readouterr().err


def test_missing_directory_is_rejected(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--scenarios", str(tmp_path / "nope")]) == 2
    assert "scenario directory does not exist" in capsys.readouterr().err


def test_adapter_selection_limits_the_columns(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--adapters", "py-async", "--filter", "order.named-levels"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["scenario", "py-async"]
    assert out.splitlines()[-3:] == [
        "1 scenarios x 1 adapters",
        "py-async: 1 successes, 0 skipped, 0 expected failures, 0 unexpected failures,"
        " 0 unexpected passes (level: recommended)",
        "conformance: 1 passed, 0 failed",
    ]


def test_bus_steps_in_an_extra_directory_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    step = _scenario("extra.bus-step")
    step["steps"].append({"publish": {"type": "tool.invoked", "payload": {"n": 1}}})
    _write(tmp_path, "step.json", step)
    hook = _scenario("extra.bus-hook")
    hook["hooks"][0]["behaviour"][0]["publish"] = [{"type": "tool.invoked"}]
    _write(tmp_path, "hook.json", hook)
    status = main(["--scenarios", str(tmp_path), "--filter", "extra.bus", "--adapters", "py-sync"])
    out = capsys.readouterr().out
    assert status == 0, out
    assert "conformance: 2 passed, 0 failed" in out
