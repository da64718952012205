"""Expected-failure lists and the verdict of a run: each adapter may name, with a reason, the
scenarios it is known to fail; the run then fails on an unexpected failure, on an unexpected
pass (a listed scenario that passes) and on an entry that names no scenario.

A list is a text file `<adapter>.txt` in the expected-failures directory (bundled:
`conformance/expected-failures/`, or `--expected-failures DIR`): one entry per line,
`<scenario id>  <reason>`, where the reason is required; blank lines and `#` comments are
ignored.

Example:
    >>> entries = parse_list("js-remote.txt", "# why\\njson.x  JS has one number type\\n")
    >>> entries["json.x"]
    'JS has one number type'
    >>> parse_list("a.txt", "json.x\\n")
    Traceback (most recent call last):
    ...
    hookwire.conformance.expected.ExpectedFailuresError: a.txt:1: entry 'json.x' gives no reason
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hookwire.conformance.engine import RunResult
from hookwire.conformance.scenario import Scenario
from hookwire.conformance.share import data_dir

__all__ = [
    "DEFAULT_EXPECTED_DIR",
    "AdapterCounts",
    "ExpectedFailuresError",
    "Verdict",
    "judge",
    "load_lists",
    "parse_list",
]

DEFAULT_EXPECTED_DIR = data_dir("expected-failures")


class ExpectedFailuresError(Exception):
    """A malformed expected-failure list (`file:line: what`)."""


def parse_list(name: str, text: str) -> dict[str, str]:
    """The entries of one list: scenario id -> reason."""
    out: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        sid, _, reason = line.partition(" ")
        if not reason.strip():
            raise ExpectedFailuresError(f"{name}:{n}: entry {sid!r} gives no reason")
        if sid in out:
            raise ExpectedFailuresError(f"{name}:{n}: entry {sid!r} is listed twice")
        out[sid] = reason.strip()
    return out


def load_lists(directory: Path, adapters: Iterable[str]) -> dict[str, dict[str, str]]:
    """Each adapter's list from `directory` (no file: nothing expected to fail)."""
    out: dict[str, dict[str, str]] = {}
    for a in adapters:
        path = directory / f"{a}.txt"
        out[a] = parse_list(str(path), path.read_text(encoding="utf-8")) if path.is_file() else {}
    return out


@dataclass(slots=True)
class AdapterCounts:
    """One adapter's tally, and the conformance level it reached."""

    successes: int = 0
    skipped: int = 0
    expected_failures: int = 0
    unexpected_failures: int = 0
    unexpected_passes: int = 0
    required_failed: int = 0
    recommended_failed: int = 0
    per_level: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def level(self) -> str:
        """`recommended` (every scenario passes), `required` (every required one passes) or
        `none`."""
        if self.required_failed:
            return "none"
        return "required" if self.recommended_failed else "recommended"

    def line(self, adapter: str) -> str:
        return (
            f"{adapter}: {self.successes} successes, {self.skipped} skipped, "
            f"{self.expected_failures} expected failures, "
            f"{self.unexpected_failures} unexpected failures, "
            f"{self.unexpected_passes} unexpected passes (level: {self.level})"
        )


@dataclass(slots=True)
class Verdict:
    """The judged run: per-adapter counts, and every problem that fails the run."""

    counts: dict[str, AdapterCounts]
    problems: list[str]
    passed: int
    failed: int

    def to_json(self) -> dict[str, Any]:
        return {
            "adapters": {
                a: {
                    "level": c.level,
                    "successes": c.successes,
                    "skipped": c.skipped,
                    "expectedFailures": c.expected_failures,
                    "unexpectedFailures": c.unexpected_failures,
                    "unexpectedPasses": c.unexpected_passes,
                    "perLevel": c.per_level,
                }
                for a, c in self.counts.items()
            },
            "problems": self.problems,
            "passed": self.passed,
            "failed": self.failed,
        }


def judge(
    results: Sequence[RunResult],
    scenarios: Sequence[Scenario],
    lists: Mapping[str, Mapping[str, str]],
    all_ids: Iterable[str],
) -> Verdict:
    """Count each adapter's results against its list. `all_ids` are every loaded scenario's
    ids (a list entry naming none of them is a problem, whatever `--filter` selected)."""
    level_of = {s.id: s.level for s in scenarios}
    known = set(all_ids)
    counts: dict[str, AdapterCounts] = {a: AdapterCounts() for a in lists}
    problems: list[str] = []
    for a, entries in lists.items():
        for sid in entries:
            if sid not in known:
                problems.append(f"{a}: expected-failure entry {sid!r} names no scenario")
    passed = failed = 0
    for r in results:
        c = counts.setdefault(r.driver, AdapterCounts())
        level = level_of.get(r.scenario, "required")
        tally = c.per_level.setdefault(level, {"passed": 0, "failed": 0, "skipped": 0})
        listed = r.scenario in lists.get(r.driver, {})
        if r.skipped:
            c.skipped += 1
            tally["skipped"] += 1
            passed += 1
            continue
        tally["passed" if r.passed else "failed"] += 1
        if not r.passed:
            if level == "required":
                c.required_failed += 1
            else:
                c.recommended_failed += 1
        if r.passed and not listed:
            c.successes += 1
            passed += 1
        elif not r.passed and listed:
            c.expected_failures += 1
            passed += 1
        elif r.passed:
            c.unexpected_passes += 1
            failed += 1
            problems.append(
                f"{r.driver}: {r.scenario} passes but is listed as an expected failure "
                f"({lists[r.driver][r.scenario]}); remove the entry"
            )
        else:
            c.unexpected_failures += 1
            failed += 1
    failed += sum(1 for p in problems if "names no scenario" in p)
    return Verdict(counts, problems, passed, failed)
