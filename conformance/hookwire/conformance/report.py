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

from collections.abc import Sequence

from hookwire.conformance.engine import RunResult

__all__ = ["render", "summary"]


def summary(results: Sequence[RunResult], adapters: Sequence[str]) -> str:
    """`S scenarios x A adapters`, then `conformance: N passed, N failed` alone on the last
    line (the plain closing line CI log readers look for)."""
    passed = sum(r.passed for r in results)
    scenarios = len({r.scenario for r in results})
    return (
        f"{scenarios} scenarios x {len(adapters)} adapters\n"
        f"conformance: {passed} passed, {len(results) - passed} failed"
    )


def render(results: Sequence[RunResult], adapters: Sequence[str]) -> str:
    """The matrix, then each failure's details, then the summary line."""
    by_cell = {(r.scenario, r.driver): r for r in results}
    scenarios = list(dict.fromkeys(r.scenario for r in results))
    width = max([len("scenario"), *map(len, scenarios)])
    cols = [max(len(a), 4) for a in adapters]
    lines = [
        "  ".join(
            ["scenario".ljust(width), *(a.ljust(c) for a, c in zip(adapters, cols, strict=True))]
        ).rstrip()
    ]
    for sc in scenarios:
        cells = []
        for a, c in zip(adapters, cols, strict=True):
            r = by_cell.get((sc, a))
            cells.append(("-" if r is None else "PASS" if r.passed else "FAIL").ljust(c))
        lines.append("  ".join([sc.ljust(width), *cells]).rstrip())
    failed = [r for r in results if not r.passed]
    if failed:
        lines += ["", "failures:"]
        for r in failed:
            lines.append(f"--- {r.scenario} on {r.driver}")
            lines += ["    " + f for f in r.failures]
    lines += ["", summary(results, adapters)]
    return "\n".join(lines)
