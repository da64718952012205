"""The proto and version checks of the release gate: buf lint, buf breaking against the last
release's protos, one version everywhere."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from release import buf
from release.errors import GateError
from release.versions import check_versions, found_versions

ROOT = Path(__file__).resolve().parents[2]


def test_buf_lint_is_clean_with_the_committed_config() -> None:
    buf.lint()


def test_the_protos_are_compatible_with_the_last_release() -> None:
    assert buf.breaking().name == "0.1.0"


def test_changing_a_field_number_fails_the_breaking_check_naming_it(tmp_path: Path) -> None:
    scratch = tmp_path / "proto"
    shutil.copytree(ROOT / "proto", scratch)
    hook = scratch / "hookwire" / "v1" / "hook.proto"
    text = hook.read_text()
    assert "string correlation_id = 7;" in text
    hook.write_text(text.replace("string correlation_id = 7;", "string correlation_id = 17;"))
    with pytest.raises(GateError) as err:
        buf.breaking(scratch)
    message = str(err.value)
    assert "hookwire/v1/hook.proto" in message
    assert re.search(r'field "7" with name "correlation_id" on message "HookContext"', message)


def test_the_same_through_the_command_line(tmp_path: Path) -> None:
    scratch = tmp_path / "proto"
    shutil.copytree(ROOT / "proto", scratch)
    common = scratch / "hookwire" / "v1" / "json.proto"
    common.write_text(re.sub(r"(string string_value = )(\d+);", r"\g<1>99;", common.read_text()))
    done = subprocess.run(
        [sys.executable, "-m", "release", "breaking", "--proto", str(scratch)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "string_value" in done.stderr and "release: FAILED" in done.stderr


def test_one_version_everywhere() -> None:
    assert check_versions() == "0.1.0"
    assert set(found_versions().values()) == {"0.1.0"}


def test_a_disagreeing_version_is_named(tmp_path: Path) -> None:
    for rel in (
        "pyproject.toml",
        "sdk/python/hookwire/sdk/worker.py",
        "sdk/js/package.json",
        "sdk/js/src/worker.js",
        "sdk/lua/worker.lua",
        "proto/VERSION",
    ):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / rel, tmp_path / rel)
    lua = tmp_path / "sdk/lua/worker.lua"
    lua.write_text(
        lua.read_text().replace("hookwire-lua-worker/0.1.0", "hookwire-lua-worker/0.2.0")
    )
    with pytest.raises(GateError, match=r"sdk/lua/worker.lua VERSION: 0\.2\.0"):
        check_versions(tmp_path)


def test_a_snapshot_copies_the_protos_and_never_replaces_a_baseline(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "proto", tmp_path / "proto")
    written = buf.snapshot("0.1.0", tmp_path)
    source = tmp_path / "proto"
    for proto in source.rglob("*.proto"):
        assert (written / proto.relative_to(source)).read_bytes() == proto.read_bytes()
    assert not (written / "VERSION").exists()
    with pytest.raises(GateError, match="never changes"):
        buf.snapshot("0.1.0", tmp_path)
    # And the snapshot is a baseline the protos pass against.
    assert buf.breaking(source, written) == written
