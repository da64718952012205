"""Comparing what happened with what a scenario expects, reporting each difference with a path.

JSON values compare strictly, as the wire tells them apart: `true` is not `1`, the integer `1`
(`int_value`) is not the float `1.0` (`double_value`), `-0.0` is not `0.0`, and key order does not
matter. Scenario files keep the distinction (`json.loads` reads `1` as int and `1.0` as float).
Measurements the runner computes itself (breaker rates, durations, counters) compare by value
(`strict=False`): they have no wire form to be faithful to. Results compare in their plain JSON
form with proto3 defaults filled in and durations compared as nanoseconds, so `"0.06s"` equals
`"0.060s"` and `{"cancel": {}}` equals `{"cancel": {"reason": ""}}`.

Example:
    >>> diffs = []
    >>> json_diff({"a": [1, {"b": True}]}, {"a": [1, {"b": 1}]}, "data", diffs)
    >>> diffs
    [Difference(path='data.a[1].b', expected=True, actual=1)]
    >>> json_equal(1, 1.0), json_equal(1, 1.0, strict=False), json_equal(-0.0, 0.0)
    (False, True, False)
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Difference",
    "json_diff",
    "json_equal",
    "normalize_result",
    "number_types_observable",
]


@dataclass(frozen=True, slots=True)
class Difference:
    """One mismatch: where, what the scenario expects, what happened."""

    path: str
    expected: Any
    actual: Any

    def __str__(self) -> str:
        return f"{self.path}: expected {_show(self.expected)}, got {_show(self.actual)}"


def _show(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 400 else text[:400] + "..."


def json_equal(a: Any, b: Any, strict: bool = True) -> bool:
    """JSON equality: bools are not numbers; with `strict` (the default) an integer is not a
    float and the sign of a float zero counts; without it numbers compare by value."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if not strict:  # by value, but a negative zero is only ever a float
            return a == b and _negative_zero(a) == _negative_zero(b)
        if type(a) is not type(b):
            return False
        if isinstance(a, float):
            return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k], strict) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y, strict) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def _negative_zero(x: float) -> bool:
    return isinstance(x, float) and x == 0 and math.copysign(1.0, x) < 0


def number_types_observable(language: str) -> bool:
    """Whether values observed in `language` tell an integer from a float. JavaScript has one
    number type (a double that is integral reads back as an integer), so what a JS hook or
    consumer saw compares by value; integers past 2^53 still arrive as BigInt and compare
    exactly, since Python compares int and float values without rounding.

    Example:
        >>> number_types_observable("lua"), number_types_observable("javascript")
        (True, False)
    """
    return language != "javascript"


def json_diff(
    expected: Any, actual: Any, path: str, out: list[Difference], strict: bool = True
) -> None:
    """Append the differences between two JSON values, as deep as both sides are objects
    (`strict` as in `json_equal`)."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        for k in sorted(expected.keys() | actual.keys()):
            sub = f"{path}.{k}" if k.isidentifier() else f"{path}[{k!r}]"
            if k not in actual:
                out.append(Difference(sub, expected[k], "<absent>"))
            elif k not in expected:
                out.append(Difference(sub, "<absent>", actual[k]))
            else:
                json_diff(expected[k], actual[k], sub, out, strict)
        return
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            json_diff(e, a, f"{path}[{i}]", out, strict)
        return
    if not json_equal(expected, actual, strict):
        out.append(Difference(path, expected, actual))


_DURATION = re.compile(r"(-?)([0-9]+)(?:\.([0-9]{1,9}))?s\Z")


def _duration_ns(text: Any) -> Any:
    """Nanoseconds of a proto3 JSON duration; anything unparsable is returned unchanged."""
    m = _DURATION.match(text) if isinstance(text, str) else None
    if m is None:
        return text
    ns = int(m.group(2)) * 1_000_000_000 + int((m.group(3) or "").ljust(9, "0"))
    return -ns if m.group(1) else ns


def normalize_result(result: Any) -> Any:
    """A plain JSON result with proto3 defaults filled in and durations as nanoseconds."""
    if not isinstance(result, dict) or len(result) != 1:
        return result
    ((kind, body),) = result.items()
    if not isinstance(body, dict):
        return result
    b = dict(body)
    if kind in ("cancel", "skipped"):
        b.setdefault("reason", "")
    elif kind == "redirect":
        b.setdefault("target", "")
    elif kind == "modified":
        b.setdefault("data", {})
    elif kind == "retry":
        b["delay"] = _duration_ns(b.get("delay", "0s"))
        b.setdefault("maxAttempts", 0)
    elif kind == "cache":
        b.setdefault("key", "")
        b["ttl"] = _duration_ns(b.get("ttl", "0s"))
    elif kind == "fork":
        b["operations"] = [
            {"operation": op.get("operation", ""), "parameters": op.get("parameters", {})}
            if isinstance(op, dict)
            else op
            for op in b.get("operations", [])
        ]
    return {kind: b}
