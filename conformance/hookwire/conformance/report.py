"""The scenario x adapter matrix, the summary line and the failure details.

Plain ASCII (PASS / FAIL), fixed-width columns, so it reads the same in a terminal and in CI logs.

Example:
    >>> from hookwire.conformance.engine import RunResult
    >>> print(render([RunResult("a.b", "py-sync")], ["py-sync"]))
    scenario  py-sync
    a.b       PASS
    <BLANKLINE>
    1 scenarios x 1 adapters
    conformance: 1 passed, 0 failed
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from hookwire.conformance.engine import RunResult
from hookwire.conformance.expected import Verdict

__all__ = ["render", "summary"]


def summary(
    results: Sequence[RunResult], adapters: Sequence[str], verdict: Verdict | None = None
) -> str:
    """`S scenarios x A adapters`, each adapter's detailed counts (with a verdict), then
    `conformance: N passed, N failed` alone on the last line (the plain closing line CI log
    readers look for; expected failures and skips count as passed, unexpected failures,
    unexpected passes and list entries naming no scenario as failed)."""
    scenarios = len({r.scenario for r in results})
    lines = [f"{scenarios} scenarios x {len(adapters)} adapters"]
    if verdict is None:
        passed = sum(r.passed for r in results)
        failed = len(results) - passed
    else:
        lines += [verdict.counts[a].line(a) for a in adapters if a in verdict.counts]
        passed, failed = verdict.passed, verdict.failed
    lines.append(f"conformance: {passed} passed, {failed} failed")
    return "\n".join(lines)


def render(
    results: Sequence[RunResult],
    adapters: Sequence[str],
    verdict: Verdict | None = None,
    expected: Mapping[str, Mapping[str, str]] | None = None,
) -> str:
    """The matrix (PASS, FAIL, XFAIL for a listed failure, XPASS for a listed pass, SKIP), then
    each failure's details, the verdict's problems, then the summary."""
    expected = expected or {}
    by_cell = {(r.scenario, r.driver): r for r in results}
    scenarios = list(dict.fromkeys(r.scenario for r in results))
    width = max([len("scenario"), *map(len, scenarios)])
    cols = [max(len(a), 5) for a in adapters]
    lines = [
        "  ".join(
            ["scenario".ljust(width), *(a.ljust(c) for a, c in zip(adapters, cols, strict=True))]
        ).rstrip()
    ]
    for sc in scenarios:
        cells = []
        for a, c in zip(adapters, cols, strict=True):
            r = by_cell.get((sc, a))
            cells.append(_cell(r, sc in expected.get(a, {})).ljust(c))
        lines.append("  ".join([sc.ljust(width), *cells]).rstrip())
    failed = [r for r in results if not r.passed]
    if failed:
        lines += ["", "failures:"]
        for r in failed:
            listed = expected.get(r.driver, {}).get(r.scenario)
            note = f" (expected: {listed})" if listed else ""
            lines.append(f"--- {r.scenario} on {r.driver}{note}")
            lines += ["    " + f for f in r.failures]
    if verdict is not None and verdict.problems:
        lines += ["", "problems:", *("    " + p for p in verdict.problems)]
    lines += ["", summary(results, adapters, verdict)]
    return "\n".join(lines)


def _cell(r: RunResult | None, listed: bool) -> str:
    if r is None:
        return "-"
    if r.skipped:
        return "SKIP"
    if r.passed:
        return "XPASS" if listed else "PASS"
    return "XFAIL" if listed else "FAIL"
