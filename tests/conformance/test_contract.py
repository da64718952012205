"""The suite as a contract: strict JSON types observed in each hook's own language, expected
refusals, expected-failure lists and levels, and the generic worker driver (`--worker-cmd`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hookwire.conformance.cli import main
from hookwire.conformance.drivers import DRIVERS
from hookwire.conformance.engine import run_scenario
from hookwire.conformance.js_remote import WORKER_SCRIPT
from hookwire.conformance.loader import DEFAULT_SCENARIO_DIR, load_scenarios, parse
from hookwire.conformance.share import js_script
from hookwire.conformance.worker_cmd import WorkerCmdDriver

P = "before_tool_execution"
JS_WORKER = f"node {js_script(WORKER_SCRIPT)} {{address}}"


def _scenario(raw: dict[str, Any]) -> Any:
    base = {"id": "t.x", "description": "test", "spec": "SEMANTICS 3"}
    return parse({**base, **raw}, Path("inline.json"))


def _seen(value: Any, expected: Any) -> Any:
    return _scenario(
        {
            "hooks": [{"name": "look", "point": P, "behaviour": [{"record": True}]}],
            "steps": [
                {
                    "execute": {"point": P, "context": {"data": {"v": value}}},
                    "expect": {"seen": {"look": [{"data": {"v": expected}}]}},
                }
            ],
        }
    )


@pytest.mark.parametrize("adapter", ["py-sync", "lua", "lua-process", "py-remote"])
def test_seen_tells_int_from_float_in_the_hooks_language(adapter: str) -> None:
    # The hook receives the float 1.0: written 1 in the expectation, that is a difference.
    assert run_scenario(_seen(1.0, 1.0), DRIVERS[adapter]()).passed
    failures = run_scenario(_seen(1.0, 1), DRIVERS[adapter]()).failures
    assert any("expected 1, got 1.0" in f for f in failures), failures


def test_int64_min_stays_an_integer_in_lua_both_ways() -> None:
    # Received: -2^63 reaches Lua as an integer (recorded in Lua; a float would be ...e+18).
    # Returned: the driver writes it as math.mininteger (the literal would be a float in Lua).
    received = _seen(-(2**63), -(2**63))
    returned = _scenario(
        {
            "hooks": [
                {
                    "name": "set",
                    "point": P,
                    "behaviour": [{"returns": {"modified": {"data": {"v": -(2**63)}}}}],
                }
            ],
            "steps": [{"execute": {"point": P}, "expect": {"data": {"v": -(2**63)}}}],
        }
    )
    for adapter in ("lua", "lua-process"):
        assert run_scenario(received, DRIVERS[adapter]()).passed, adapter
        assert run_scenario(returned, DRIVERS[adapter]()).passed, adapter


def test_js_observations_compare_by_value_but_exactly() -> None:
    # JS has one number type: 1.0 arrives as the number 1 (by value, accepted); 2^53+1 arrives
    # as a BigInt and must be exact.
    assert run_scenario(_seen(1.0, 1), DRIVERS["js-remote"]()).passed
    assert run_scenario(_seen(2**53 + 1, 2**53 + 1), DRIVERS["js-remote"]()).passed
    failures = run_scenario(_seen(2**53 + 1, 2**53), DRIVERS["js-remote"]()).failures
    assert failures


def test_plain_json_parse_in_the_js_driver_fails_bundled_scenarios() -> None:
    """The JS driver's number handling, broken again (JSON.parse), is caught."""
    broken = WorkerCmdDriver(
        [
            "env",
            "HOOKWIRE_CONFORMANCE_PLAIN_JSON=1",
            "node",
            str(js_script(WORKER_SCRIPT)),
            "{address}",
        ],
        "js-plain-json",
    )
    wanted = {"json.return-int64-max", "json.return-beyond-2-53", "json.replace-int64-min"}
    bundled = [s for s in load_scenarios([DEFAULT_SCENARIO_DIR]) if s.id in wanted]
    assert len(bundled) == 3
    for sc in bundled:
        assert not run_scenario(sc, broken).passed, sc.id
        assert run_scenario(sc, DRIVERS["js-remote"]()).passed, sc.id


def _refusal(type_: str) -> Any:
    return _scenario(
        {
            "hooks": [
                {
                    "name": "pub",
                    "point": P,
                    "behaviour": [
                        {"publish": [{"type": type_, "refused": {"code": "INVALID_ARGUMENT"}}]}
                    ],
                }
            ],
            "steps": [{"execute": {"point": P}, "expect": {"result": {"continue": {}}}}],
        }
    )


# The language adapters (`jetstream` is the bus axis: it runs the bus scenarios only).
LANGUAGES = sorted(a for a in DRIVERS if a != "jetstream")


@pytest.mark.parametrize("adapter", LANGUAGES)
def test_an_expected_refusal_must_happen(adapter: str) -> None:
    assert run_scenario(_refusal("bad type!"), DRIVERS[adapter]()).passed
    failures = run_scenario(_refusal("fine.type"), DRIVERS[adapter]()).failures
    assert any("not refused" in f for f in failures), failures


def _write(d: Path, name: str, content: Any) -> None:
    (d / name).write_text(content if isinstance(content, str) else json.dumps(content))


def _passing(sid: str) -> dict[str, Any]:
    return {
        "id": sid,
        "description": "d",
        "spec": "SEMANTICS 3",
        "level": "recommended",
        "hooks": [{"name": "a", "point": P, "behaviour": [{"returnsNothing": True}]}],
        "steps": [{"execute": {"point": P}, "expect": {"result": {"continue": {}}}}],
    }


def test_expected_failure_lists(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenarios, lists = tmp_path / "s", tmp_path / "l"
    scenarios.mkdir()
    lists.mkdir()
    failing = _passing("zz.fails")
    failing["steps"][0]["expect"]["result"] = {"cancel": {}}
    _write(scenarios, "a.json", _passing("zz.passes"))
    _write(scenarios, "b.json", failing)
    args = ["--scenarios", str(scenarios), "--filter", "zz.", "--adapters", "py-sync"]
    args += ["--expected-failures", str(lists), "--json", str(tmp_path / "r.json")]
    # Listed failure: expected, the run passes; level stays "required" (a recommended fails).
    _write(lists, "py-sync.txt", "# why\nzz.fails  the point of this test\n")
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "zz.fails   XFAIL" in out or "XFAIL" in out
    assert out.splitlines()[-2].startswith("py-sync: 1 successes, 0 skipped, 1 expected failures")
    assert out.splitlines()[-1] == "conformance: 2 passed, 0 failed"
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["adapters"]["py-sync"]["level"] == "required"
    # An unexpected pass fails the run.
    _write(lists, "py-sync.txt", "zz.fails  x\nzz.passes  listed but passes\n")
    assert main(args) == 1
    assert "passes but is listed as an expected failure" in capsys.readouterr().out
    # An entry naming nothing fails the run.
    _write(lists, "py-sync.txt", "zz.fails  x\nzz.ghost  names nothing\n")
    assert main(args) == 1
    assert "'zz.ghost' names no scenario" in capsys.readouterr().out
    # An entry without a reason is refused outright.
    _write(lists, "py-sync.txt", "zz.fails\n")
    assert main(args) == 2


def test_extra_directories_compare_as_strictly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sc = _passing("zz.int-vs-float")
    sc["hooks"][0]["behaviour"] = [{"returns": {"modified": {"data": {"n": 1.0}}}}]
    sc["steps"][0]["expect"] = {"data": {"n": 1}}
    _write(tmp_path, "x.json", sc)
    args = ["--scenarios", str(tmp_path), "--filter", "zz.", "--adapters", "py-sync,lua"]
    assert main(args) == 1
    assert "expected 1, got 1.0" in capsys.readouterr().out


def test_worker_cmd_runs_the_js_worker(capsys: pytest.CaptureFixture[str]) -> None:
    # NAME=CMD: the adapter is named js-remote, so js-remote's expected-failure list applies.
    code = main(["--worker-cmd", f"js-remote={JS_WORKER}", "--filter", "json."])
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.splitlines()[0].split() == ["scenario", "js-remote"]
    assert "js-remote: 36 successes, 0 skipped, 3 expected failures, 0 unexpected failures" in out


def test_worker_cmd_reports_a_program_that_is_no_worker(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["--worker-cmd", "python3 -c pass", "--filter", "exec.no-hooks"])
    out = capsys.readouterr().out
    assert code == 1
    assert "did not say ready with its language" in out
