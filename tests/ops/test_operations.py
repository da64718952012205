"""docs/operations.md, followed from a fresh directory: its files are written as the page shows
them, a configured server (a Python hook, a Lua file, built-ins, a composite) is started, and
every command of the page is run against it and compared with the output the page prints
(numbers, ids and column widths aside)."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "operations.md").read_text()
TOKEN = "s3cret-example"


def _files() -> dict[str, str]:
    """`<!-- file: NAME -->` followed by a fenced block: NAME's content."""
    pattern = re.compile(r"<!-- file: (\S+) -->\n```\w*\n(.*?)```", re.S)
    return {m.group(1): m.group(2) for m in pattern.finditer(DOC)}


def _commands() -> list[tuple[str, list[str]]]:
    """Every `$ hookwire ...` / `$ python ...` line of the console blocks, with the lines the
    page shows as its output."""
    out: list[tuple[str, list[str]]] = []
    for block in re.findall(r"```console\n(.*?)```", DOC, re.S):
        for line in block.splitlines():
            if line.startswith("$ "):
                out.append((line[2:], []))
            elif out:
                out[-1][1].append(line)
    return out


def _norm(lines: list[str]) -> list[str]:
    """Lines with numbers, hex ids and runs of spaces made uniform."""
    out = []
    for line in lines:
        line = re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}", "<id>", line)
        line = re.sub(r"\d+(\.\d+)?", "#", line)
        line = re.sub(r"\s+", " ", line).strip()
        if "{'" in line:
            # A Python dict printed from a protobuf map: its key order is not fixed.
            line = "".join(sorted(line))
        out.append(line)
    return [line for line in out if line]


def _run(cmd: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    argv = shlex.split(cmd)
    if argv[0] == "hookwire":
        argv = [sys.executable, "-m", "hookwire.runtime.cli", *argv[1:]]
    elif argv[0] == "python":
        argv = [sys.executable, *argv[1:]]
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=60)


def _check(cmd: str, expected: list[str], cwd: Path, env: dict[str, str]) -> None:
    res = _run(cmd, cwd, env)
    errors = [line for line in expected if line.startswith("hookwire ")]
    status = 1 if errors or "with differences" in "\n".join(expected) else 0
    if "check-config bad.toml" in cmd:
        status = 1
    assert res.returncode == status, (cmd, res.stdout, res.stderr)
    got = res.stdout.splitlines() + res.stderr.splitlines()
    if "--json" in cmd:
        text = res.stdout.strip()
        parsed = (
            [json.loads(line) for line in text.splitlines()]
            if text.startswith("{") and "\n{" in text
            else json.loads(text)
        )
        assert parsed, cmd
        expected_json = json.loads("\n".join(expected))
        first = parsed[0] if isinstance(parsed, list) else parsed
        want = expected_json[0] if isinstance(expected_json, list) else expected_json
        assert sorted(first) == sorted(want), (cmd, first)
        return
    if "--count" in cmd or cmd.startswith("python") or "tail" in cmd:
        assert _norm(got) == _norm(expected), (cmd, got)
        return
    assert _norm(got) == _norm(expected), (cmd, got)


def _wait_line(stream: object, prefix: str, timeout: float = 20) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line: str = stream.readline()  # type: ignore[attr-defined]
        if line.startswith(prefix):
            return line
        if not line:
            time.sleep(0.05)
    raise AssertionError(f"no line starting with {prefix!r}")


def test_following_docs_operations_md(tmp_path: Path) -> None:
    for name, text in _files().items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert {"hookwire.toml", "hooks/policy.py", "lua/audit.lua", "record.py", "bad.toml"} <= set(
        _files()
    )
    env = {**os.environ, "HOOKWIRE_TOKEN": TOKEN}
    env.pop("OTEL_TRACES_EXPORTER", None)
    env.pop("OTEL_METRICS_EXPORTER", None)
    commands = _commands()
    by_cmd = dict(commands)
    for cmd in ("hookwire check-config hookwire.toml", "hookwire check-config bad.toml"):
        _check(cmd, by_cmd[cmd], tmp_path, env)

    # The page's server, on free ports (flags override the file).
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hookwire.runtime.cli",
            "serve",
            "--config",
            "hookwire.toml",
            "--port",
            "0",
            "--metrics-port",
            "0",
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None and server.stderr is not None
        first = server.stdout.readline()
        match = re.match(r"hookwire serving on (\S+) \(insecure, token auth, \w+\)", first)
        assert match, first + server.stderr.read()
        metrics_url = server.stdout.readline().split()[-1]
        env["HOOKWIRE_ADDRESS"] = match.group(1)

        ran = set()
        for cmd, expected in commands:
            if cmd.startswith(("python3 -m pip", "export", "hookwire serve", "kill", "curl")):
                continue
            if cmd.startswith("OTEL_") or "--traceparent" in cmd or "check-config" in cmd:
                continue
            if cmd == "hookwire replay session.hwrec --config hookwire.toml" and cmd in ran:
                # The page's second replay follows disabling `stamp` in the file.
                toml = tmp_path / "hookwire.toml"
                toml.write_text(
                    toml.read_text().replace(
                        'import = "policy:stamp"\n', 'import = "policy:stamp"\nenabled = false\n'
                    )
                )
            _check(cmd, expected, tmp_path, env)
            ran.add(cmd)
        assert {"hookwire hooks", "hookwire breakers", "python record.py"} <= ran
        assert any(c.startswith("hookwire exec") for c in ran)
        assert any(c.startswith("hookwire publish") for c in ran)
        assert any(c.startswith("hookwire tail") for c in ran)
        assert any(c.startswith("hookwire replay") for c in ran)

        # The traced request of the page, with its traceparent: the CLI accepts it.
        [traced] = [c for c, _ in commands if "--traceparent" in c]
        res = _run(traced, tmp_path, env)
        assert res.returncode == 0 and res.stdout.startswith("result: MODIFIED"), res.stderr

        # Prometheus, as the page shows.
        with urllib.request.urlopen(metrics_url, timeout=10) as resp:
            body = resp.read().decode()
        assert 'hookwire_hook_calls_total{hook="require_tool"' in body
        assert "hookwire_hook_duration_seconds_bucket" in body
        assert "hookwire_calls_in_flight" in body

        # SIGHUP with stamp disabled (the file as edited above): swapped in.
        server.send_signal(signal.SIGHUP)
        line = _wait_line(server.stdout, "hookwire: reloaded")
        assert "(6 hooks;" in line
        res = _run("hookwire hooks --point before_tool_execution --json", tmp_path, env)
        enabled = {h["name"]: h["enabled"] for h in json.loads(res.stdout)}
        assert enabled["stamp"] is False and enabled["lua_audit"] is True

        # A bad file on reload keeps the running configuration and says why.
        toml = tmp_path / "hookwire.toml"
        good = toml.read_text()
        toml.write_text(good.replace("priority = -10\n", 'priority = "first"\n'))
        server.send_signal(signal.SIGHUP)
        _wait_line(server.stderr, "hookwire: reload failed, keeping the running configuration")
        assert "hooks.python[0].priority: must be an integer, got 'first'" in (
            server.stderr.readline()
        )
        res = _run("hookwire exec before_tool_execution --data '{}'", tmp_path, env)
        assert res.returncode == 0 and res.stdout.startswith("result: CANCEL"), res.stdout
        server.send_signal(signal.SIGTERM)
        assert server.wait(30) == 0
    finally:
        if server.poll() is None:
            server.kill()
        server.wait()


@pytest.mark.parametrize(
    ("argv", "status", "message"),
    [
        (["exec", "before_tool_execution", "--data", "[1"], 2, "--data: not valid JSON"),
        (["publish", "a.b", "{"], 2, "PAYLOAD: not valid JSON"),
        (["publish", "a.b", "[" * 5000 + "]" * 5000], 2, "PAYLOAD: JSON nested too deeply"),
        (["hooks", "--address", "127.0.0.1:1", "--timeout", "2"], 1, "UNAVAILABLE"),
        (["frobnicate"], 2, "invalid choice: 'frobnicate'"),
    ],
)
def test_exit_statuses_and_messages(argv: list[str], status: int, message: str) -> None:
    res = subprocess.run(
        [sys.executable, "-m", "hookwire.runtime.cli", *argv],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == status, res.stderr
    assert message in res.stderr
