"""`python -m hookwire.conformance [--scenarios DIR ...] [--adapters a,b] [--filter substr]`.

Loads and validates every scenario (the bundled ones plus each `--scenarios DIR`), runs each on
every selected adapter, prints the matrix and exits 0 when all pass, 1 on any failure, 2 on an
invalid scenario or bad arguments.

Example:
    >>> main(["--filter", "exec.no-hooks", "--adapters", "py-sync"])  # doctest: +ELLIPSIS
    scenario...
    1 scenarios x 1 adapters
    py-sync: 1 successes, 0 skipped, 0 expected failures, 0 unexpected failures, ...
    conformance: 1 passed, 0 failed
    0
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from hookwire.conformance.driver import Driver
from hookwire.conformance.drivers import DRIVERS
from hookwire.conformance.engine import RunResult, run_scenario
from hookwire.conformance.expected import (
    DEFAULT_EXPECTED_DIR,
    ExpectedFailuresError,
    judge,
    load_lists,
)
from hookwire.conformance.loader import DEFAULT_SCENARIO_DIR, ScenarioError, load_scenarios
from hookwire.conformance.report import render
from hookwire.conformance.worker_cmd import WorkerCmdDriver, worker_adapter_name

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
    p.add_argument(
        "--expected-failures",
        type=Path,
        default=DEFAULT_EXPECTED_DIR,
        metavar="DIR",
        help="directory of <adapter>.txt expected-failure lists (default: the bundled ones)",
    )
    p.add_argument(
        "--json",
        type=Path,
        default=None,
        metavar="FILE",
        help="also write the results, per-adapter counts and levels as JSON to FILE",
    )
    p.add_argument(
        "--worker-cmd",
        action="append",
        default=[],
        metavar="CMD",
        help="run every scenario against a worker program implementing the testee protocol "
        "(conformance/README.md); repeatable, each is an adapter named worker:<program>",
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the suite; returns the exit status (also printed output goes to stdout)."""
    args = _parser().parse_args(argv)
    drivers: dict[str, Callable[[], Driver]] = dict(DRIVERS)
    adapters = [a.strip() for a in args.adapters.split(",") if a.strip()]
    if args.worker_cmd:
        if args.adapters == _parser().get_default("adapters"):
            adapters = []  # --worker-cmd alone: only the worker programs
        for cmd in args.worker_cmd:
            name = worker_adapter_name(cmd)
            drivers[name] = functools.partial(WorkerCmdDriver, cmd, name)
            adapters.append(name)
    unknown = [a for a in adapters if a not in drivers]
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
    try:
        lists = load_lists(args.expected_failures, adapters)
    except (ExpectedFailuresError, OSError) as e:
        print(f"invalid expected-failure list: {e}", file=sys.stderr)
        return 2
    results: list[RunResult] = []
    for sc in selected:
        for a in adapters:
            results.append(run_scenario(sc, drivers[a]()))
    verdict = judge(results, selected, lists, (s.id for s in scenarios))
    print(render(results, adapters, verdict, lists))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(
                {
                    **verdict.to_json(),
                    "scenarios": {
                        s.id: {"level": s.level, "source": str(s.source)} for s in selected
                    },
                    "results": [
                        {
                            "scenario": r.scenario,
                            "adapter": r.driver,
                            "status": "skipped"
                            if r.skipped
                            else "passed"
                            if r.passed
                            else "failed",
                            "expectedFailure": lists.get(r.driver, {}).get(r.scenario),
                            "details": r.failures or ([r.skipped] if r.skipped else []),
                        }
                        for r in results
                    ],
                },
                indent=1,
            )
            + "\n",
            encoding="utf-8",
        )
    return 0 if verdict.failed == 0 else 1
