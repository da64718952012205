"""`python -m hookwire.conformance [--scenarios DIR ...] [--adapters a,b] [--filter substr]
[--js-root DIR] [--lua INTERPRETER] [--worker-cmd "[NAME=]CMD {address}" ...]
[--expected-failures DIR] [--json FILE]`.

Loads and validates every scenario (the bundled ones plus each `--scenarios DIR`), runs each on
every selected adapter, prints the matrix and exits 0 when all pass, 1 on any failure, 2 on an
invalid scenario or bad arguments. It first says which Lua interpreter runs `lua-process`
(`--lua` picks one: `lua5.4`, a path, or `lupa`, the fallback; default: `lua5.4` on PATH, else
`lupa`). The JS adapters need node and a JS source tree (`--js-root`, see
hookwire.conformance.share); when they cannot run, it says why and runs the other adapters and
the scenarios that need no JS (asking for a JS adapter explicitly is then an error).
Each `--worker-cmd` adds an adapter running every scenario against that worker program (the
testee protocol, conformance/README.md). Expected failures and levels:
hookwire.conformance.expected.

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
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from hookwire.conformance.driver import Driver
from hookwire.conformance.drivers import DRIVERS
from hookwire.conformance.engine import RunResult, run_scenario
from hookwire.conformance.expected import (
    DEFAULT_EXPECTED_DIR,
    ExpectedFailuresError,
    Verdict,
    judge,
    load_lists,
)
from hookwire.conformance.loader import DEFAULT_SCENARIO_DIR, ScenarioError, load_scenarios
from hookwire.conformance.report import render
from hookwire.conformance.scenario import Scenario
from hookwire.conformance.share import JS_ROOT_ENV, js_unavailable
from hookwire.conformance.worker_cmd import WorkerCmdDriver, worker_adapter_name
from hookwire.runtime.lua_process.interpreter import (
    ENV_VAR,
    choose_interpreter,
    describe_interpreter,
)

#: The adapters that run JavaScript (node and the JS SDK).
JS_ADAPTERS = ("js-remote", "mixed")

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
        help=f"comma-separated adapters to run (default: all of {', '.join(DRIVERS)})",
    )
    p.add_argument("--filter", default="", help="run only scenarios whose id contains this")
    p.add_argument(
        "--js-root",
        type=Path,
        metavar="DIR",
        help="the JS source tree for the JS adapters (sdk/js, generated/js, conformance/js, "
        "node_modules); default: the checkout this runner comes from",
    )
    p.add_argument(
        "--lua",
        metavar="INTERPRETER",
        help="the interpreter of the lua-process adapter: lua5.4, a path, or lupa (the fallback)",
    )
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
        "(conformance/README.md); {address} is the server's; NAME=CMD names the adapter "
        "(default: worker); repeatable",
    )
    return p


def _needs_js(value: Any) -> bool:
    """True when a scenario step (at any depth) names the JavaScript event consumer."""
    if isinstance(value, dict):
        return value.get("consumer") == "javascript" or any(map(_needs_js, value.values()))
    if isinstance(value, list | tuple):
        return any(map(_needs_js, value))
    return False


def _scenario_needs_js(sc: Scenario) -> bool:
    return _needs_js(sc.steps) or _needs_js(sc.subscriptions)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the suite; returns the exit status (also printed output goes to stdout)."""
    args = _parser().parse_args(argv)
    explicit = args.adapters is not None
    if args.js_root is not None:
        os.environ[JS_ROOT_ENV] = str(args.js_root.resolve())
    if args.lua is not None:
        os.environ[ENV_VAR] = args.lua
    drivers: dict[str, Callable[[], Driver]] = dict(DRIVERS)
    adapters = [a.strip() for a in (args.adapters or ",".join(DRIVERS)).split(",") if a.strip()]
    if args.worker_cmd:
        if not explicit:
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
    no_js = js_unavailable()
    if no_js is not None:
        asked = [a for a in adapters if a in JS_ADAPTERS]
        if asked and explicit:
            print(f"--adapters: {', '.join(asked)} cannot run: {no_js}", file=sys.stderr)
            return 2
        left_out = [s.id for s in selected if _scenario_needs_js(s)]
        adapters = [a for a in adapters if a not in JS_ADAPTERS]
        selected = [s for s in selected if not _scenario_needs_js(s)]
        print(f"JavaScript: not run ({no_js})")
        print(f"  adapters left out: {', '.join(JS_ADAPTERS)}")
        if left_out:
            print(f"  scenarios left out (JS event consumer): {', '.join(left_out)}")
        if not adapters or not selected:
            print("nothing left to run", file=sys.stderr)
            return 2
    try:
        lists = load_lists(args.expected_failures, adapters)
    except (ExpectedFailuresError, OSError) as e:
        print(f"invalid expected-failure list: {e}", file=sys.stderr)
        return 2
    if "lua-process" in adapters:
        print(f"lua-process interpreter: {describe_interpreter(choose_interpreter())}")
    if "jetstream" in adapters:
        from hookwire.conformance.nats_server import binary, unavailable

        no_nats = unavailable()
        print(
            f"JetStream: bus scenarios on {binary()}, a fresh server per scenario"
            if no_nats is None
            else f"JetStream: not run ({no_nats}); its column is SKIP"
        )
    if {"lua", "lua-process"} & set(adapters):
        from hookwire.runtime.share import generated_lua_dir, lua_dir

        print(f"Lua sources: {lua_dir()} (generated {generated_lua_dir()})")
    results: list[RunResult] = []
    for sc in selected:
        for a in adapters:
            results.append(run_scenario(sc, drivers[a]()))
    verdict = judge(results, selected, lists, (s.id for s in scenarios))
    print(render(results, adapters, verdict, lists))
    if args.json is not None:
        _write_json(args.json, verdict, selected, results, lists)
    return 0 if verdict.failed == 0 else 1


def _write_json(
    path: Path,
    verdict: Verdict,
    selected: Sequence[Scenario],
    results: Sequence[RunResult],
    lists: dict[str, dict[str, str]],
) -> None:
    """The run as JSON: per-adapter counts and levels, each scenario's level, each result."""
    report = {
        **verdict.to_json(),
        "scenarios": {s.id: {"level": s.level, "source": str(s.source)} for s in selected},
        "results": [
            {
                "scenario": r.scenario,
                "adapter": r.driver,
                "status": "skipped" if r.skipped else "passed" if r.passed else "failed",
                "expectedFailure": lists.get(r.driver, {}).get(r.scenario),
                "details": r.failures or ([r.skipped] if r.skipped else []),
            }
            for r in results
        ],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
