"""Sessions: generate, tests, conformance, typecheck, lint, bench, demo, lock, fuzz, release.

`nox -s tests` is the gate CI runs (.ci/run): it checks that generated code is up to date, lints,
type-checks, runs pytest, the node tests and the conformance matrix, all in one virtualenv.
"""

from __future__ import annotations

import os
from pathlib import Path

import nox

ROOT = Path(__file__).parent

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["tests"]


CONSTRAINTS = ROOT / "constraints.txt"


def _pip_install(session: nox.Session, *args: str) -> None:
    """`pip install` pinned by constraints.txt, so every session and CI get the same versions."""
    session.install(*args, "-c", str(CONSTRAINTS))


def _install(session: nox.Session) -> None:
    """Install hookwire (editable) with every dev dependency, and the node packages."""
    _pip_install(session, "-e", ".[dev]")
    _npm_ci(session)


def _npm_ci(session: nox.Session) -> None:
    marker = ROOT / "node_modules" / ".package-lock.json"
    lock = ROOT / "package-lock.json"
    if not marker.exists() or marker.stat().st_mtime < lock.stat().st_mtime or os.environ.get("CI"):
        session.run("npm", "ci", "--no-audit", "--no-fund", external=True)


def _generate(session: nox.Session) -> None:
    session.run("python", "-m", "hookwire.codegen.generate", "--root", str(ROOT))


@nox.session
def lock(session: nox.Session) -> None:
    """Rewrite constraints.txt: the current pins kept, new dependencies added at their newest."""
    session.install("-e", ".[dev]", "-c", str(CONSTRAINTS))
    frozen = session.run("pip", "freeze", "--exclude-editable", silent=True)
    header = [line for line in CONSTRAINTS.read_text().splitlines() if line.startswith("#")]
    pins = [line for line in str(frozen).splitlines() if line and not line.startswith(("#", "-e"))]
    CONSTRAINTS.write_text("\n".join([*header, *pins]) + "\n")


@nox.session
def generate(session: nox.Session) -> None:
    """Rebuild every binding in generated/ from proto/ (deterministic; commit the result)."""
    _install(session)
    _generate(session)


def _check_generated(session: nox.Session) -> None:
    _generate(session)
    diff = session.run(
        "git", "status", "--porcelain", "--", "generated", external=True, silent=True
    )
    if diff and str(diff).strip():
        session.error(f"generated/ is out of date with proto/ or codegen/:\n{diff}")


def _lint(session: nox.Session) -> None:
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


def _typecheck(session: nox.Session) -> None:
    session.run("mypy")


def _pytest(session: nox.Session) -> None:
    session.run("pytest", "-q", *session.posargs)


def _node_tests(session: nox.Session) -> None:
    tests = sorted(str(p) for p in (ROOT / "sdk" / "js" / "test").glob("*.test.js"))
    tests += sorted(str(p) for p in (ROOT / "tests" / "js").glob("*.test.js"))
    if tests:
        session.run("node", "--test", *tests, external=True)


def _conformance(session: nox.Session, extra: list[str]) -> None:
    session.run("python", "-m", "hookwire.conformance", *extra)


@nox.session
def tests(session: nox.Session) -> None:
    """The CI gate: generated code current, lint, mypy --strict, pytest, node tests, conformance."""
    _install(session)
    if os.environ.get("CI"):
        _check_generated(session)
    _lint(session)
    _typecheck(session)
    _pytest(session)
    _node_tests(session)
    _conformance(session, [])


@nox.session
def conformance(session: nox.Session) -> None:
    """Run every scenario on every adapter and print the matrix (`-- --scenarios DIR` adds more)."""
    _install(session)
    _conformance(session, list(session.posargs))


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict over all Python, generated code included."""
    _install(session)
    _typecheck(session)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check."""
    _install(session)
    _lint(session)


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks with ratios against baselines measured in the same run."""
    _install(session)
    session.run("python", "-m", "bench", *session.posargs)


@nox.session
def demo(session: nox.Session) -> None:
    """The cross-language chain demo: Python, Lua and JS hooks at one point, events streamed."""
    _install(session)
    session.run("python", "demo/run.py", *session.posargs)


@nox.session
def fuzz(session: nox.Session) -> None:
    """Long hostile-input campaigns: every tests/hostile/*_campaign.py, run with --long.

    Every campaign takes `--long`. Arguments after `--` go to every campaign, so pass only
    options they all take; run one directly for its own (`python -m
    tests.hostile.decoders_campaign --count N --seed S`). Each prints its progress and exits
    non-zero on a finding.
    """
    _install(session)
    campaigns = sorted((ROOT / "tests" / "hostile").glob("*_campaign.py"))
    if not campaigns:
        session.error("no tests/hostile/*_campaign.py found")
    for campaign in campaigns:
        # as modules from the repository root: a campaign may import its test module
        session.log(f"campaign {campaign.name}")
        session.run("python", "-m", f"tests.hostile.{campaign.stem}", "--long", *session.posargs)


@nox.session
def release(session: nox.Session) -> None:
    """The release gate (release/): build wheel, sdist, npm and Lua tarballs into dist/, install
    each in a clean place, run the conformance matrix against them, buf lint and breaking, one
    version everywhere; writes dist/conformance-report.{json,md}."""
    _install(session)
    session.run("python", "-m", "release", *session.posargs)
