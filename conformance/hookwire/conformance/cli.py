"""`python -m hookwire.conformance [--scenarios DIR ...] [--adapters a,b] [--filter substr]`.

Loads and validates every scenario (the bundled ones plus each `--scenarios DIR`), runs each on
every selected adapter, prints the matrix and exits 0 when all pass, 1 on any failure, 2 on an
invalid scenario or bad arguments.

Example:
    >>> main(["--filter", "exec.no-hooks", "--adapters", "py-sync"])  # doctest: +ELLIPSIS
    scenario...
    1 scenarios x 1 adapters
    conformance: 1 passed, 0 failed
    0
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from hookwire.conformance.drivers import DRIVERS
from hookwire.conformance.engine import RunResult, run_scenario
from hookwire.conformance.loader import DEFAULT_SCENARIO_DIR, ScenarioError, load_scenarios
from hookwire.conformance.report import render

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m hookwire.conformance",
        description="Run the hookwire conformance scenarios on every language adapter.",
    )
    p.add_argument(
        "--scenarios",
        action="append",
        type=Path,
        default=[],
        metavar="DIR",
        help="another directory of *.json scenarios (repeatable); added to the bundled ones",
    )
    p.add_argument(
        "--adapters",
        default=",".join(DRIVERS),
        help=f"comma-separated adapters to run (default: all of {', '.join(DRIVERS)})",
    )
    p.add_argument("--filter", default="", help="run only scenarios whose id contains this")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the suite; returns the exit status (also printed output goes to stdout)."""
    args = _parser().parse_args(argv)
    adapters = [a.strip() for a in args.adapters.split(",") if a.strip()]
    unknown = [a for a in adapters if a not in DRIVERS]
    if unknown or not adapters:
        print(
            f"--adapters: unknown adapter(s) {unknown or adapters}; known: {', '.join(DRIVERS)}",
            file=sys.stderr,
        )
        return 2
    try:
        scenarios = load_scenarios([DEFAULT_SCENARIO_DIR, *args.scenarios])
    except ScenarioError as e:
        print(f"invalid scenario: {e}", file=sys.stderr)
        return 2
    selected = [s for s in scenarios if args.filter in s.id]
    if not selected:
        print(f"--filter: no scenario id contains {args.filter!r}", file=sys.stderr)
        return 2
    results: list[RunResult] = []
    for sc in selected:
        for a in adapters:
            results.append(run_scenario(sc, DRIVERS[a]()))
    print(render(results, adapters))
    return 0 if all(r.passed for r in results) else 1
