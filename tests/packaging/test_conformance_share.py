"""Where the conformance runner finds its data and its JS side, and what it does without JS."""

from __future__ import annotations

import doctest
from pathlib import Path

import pytest
from hookwire.conformance import share
from hookwire.conformance.cli import main


def test_doctests() -> None:
    result = doctest.testmod(share)
    assert (result.attempted, result.failed) == (2, 0)


def test_js_unavailable_names_what_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(share.JS_ROOT_ENV, str(tmp_path))
    reason = share.js_unavailable()
    assert reason is not None
    assert str(tmp_path) in reason and "conformance/js/driver_worker.mjs" in reason
    (tmp_path / "conformance" / "js").mkdir(parents=True)
    (tmp_path / "conformance" / "js" / "driver_worker.mjs").write_text("")
    (tmp_path / "conformance" / "consumers").mkdir()
    (tmp_path / "conformance" / "consumers" / "event_consumer.mjs").write_text("")
    assert share.js_unavailable() == (
        f"the JS source tree {tmp_path} lacks node_modules/@bufbuild/protobuf (run `npm ci` there)"
    )
    assert share.js_script("conformance/js/driver_worker.mjs").parent == tmp_path / "conformance/js"
    monkeypatch.setenv("PATH", str(tmp_path))
    assert share.js_unavailable() == "node is not on PATH"


def test_the_checkout_is_the_default_js_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(share.JS_ROOT_ENV, raising=False)
    root = share.js_root()
    assert root is not None and (root / "conformance" / "js" / "driver_worker.mjs").is_file()


def test_without_js_the_runner_leaves_the_js_parts_out_and_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(share.JS_ROOT_ENV, str(tmp_path))
    assert main(["--filter", "events.", "--adapters", "py-sync,lua"]) == 0
    out = capsys.readouterr().out
    assert "JavaScript: not run (the JS source tree" in out
    [left_out] = [
        line for line in out.splitlines() if "scenarios left out (JS event consumer)" in line
    ]
    assert "events.subscribers-in-every-language" in left_out.split(": ", 1)[1].split(", ")
    assert "events.subscribers-in-every-language" not in out.split("scenario ", 1)[1]
    # Asking for a JS adapter by name is an error naming the reason.
    assert main(["--filter", "exec.no-hooks", "--adapters", "js-remote"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("--adapters: js-remote cannot run: the JS source tree")
