"""Which result kinds the callers of each point honour, and the ERROR for one they do not.

The table of the built-in points is the HookPoint `honours` option of
proto/hookwire/v1/hook.proto, generated into `hookwire.v1.honoured` (and the same table into
Lua and JavaScript). A custom point's kinds are declared in the registration of the hook at
it (`honours=`; none declared: every kind). CONTINUE and SKIPPED (a hook asking for nothing)
are honoured everywhere. A hook returning a kind its point does not honour gets ERROR
`result_not_honoured: <KIND> at <point>` and its failure policy applies: a result is never
silently dropped (docs/semantics.md section 3; why each point honours what it does:
docs/semantics.md, "Honoured results").

Example:
    >>> from hookwire.runtime.results import Redirect
    >>> "REDIRECT" in honoured_results("after_tool_execution")
    False
    >>> not_honoured(Redirect("b").kind, honoured_results("after_tool_execution"),
    ...              "after_tool_execution")
    'result_not_honoured: REDIRECT at after_tool_execution'
    >>> honoured_results("custom:audit", ["CANCEL"]) == {"CONTINUE", "SKIPPED", "CANCEL"}
    True
"""

from __future__ import annotations

from collections.abc import Iterable

from hookwire.runtime.errors import InvalidArgument
from hookwire.runtime.points import CUSTOM_PREFIX, parse_point
from hookwire.runtime.results import ResultKind
from hookwire.v1.honoured import HONOURED

__all__ = [
    "ALL_KINDS",
    "ALWAYS_HONOURED",
    "RESULT_NOT_HONOURED",
    "honoured_results",
    "not_honoured",
]

RESULT_NOT_HONOURED = "result_not_honoured"
ALL_KINDS: frozenset[str] = frozenset(k.value for k in ResultKind)
#: A hook asking for nothing is honoured at every point.
ALWAYS_HONOURED: frozenset[str] = frozenset({ResultKind.CONTINUE.value, ResultKind.SKIPPED.value})

# Every built-in point is in the generated table (the generator refuses a point without it).
_BUILT_IN: dict[str, frozenset[str]] = {p: frozenset(k) for p, k in HONOURED.items()}


def honoured_results(point: str, declared: Iterable[str] | None = None) -> frozenset[str]:
    """The kinds the callers of `point` honour: the built-in table, or for a custom point its
    declaration (None: every kind). A declaration for a built-in point is InvalidArgument, and
    so is an unknown kind."""
    point = parse_point(point)
    if not point.startswith(CUSTOM_PREFIX):
        if declared is not None:
            raise InvalidArgument(
                "honours",
                f"is fixed for the built-in point {point!r} (declare it for custom points)",
            )
        return _BUILT_IN[point]
    if declared is None:
        return ALL_KINDS
    if isinstance(declared, str):
        raise InvalidArgument("honours", f"must be a collection of kinds, got {declared!r}")
    kinds = set()
    for k in declared:
        name = k.value if isinstance(k, ResultKind) else k
        if name not in ALL_KINDS:
            raise InvalidArgument(
                "honours", f"unknown result kind {k!r} (one of {sorted(ALL_KINDS)})"
            )
        kinds.add(name)
    return frozenset(kinds) | ALWAYS_HONOURED


def not_honoured(kind: str, honours: frozenset[str], point: str) -> str | None:
    """The ERROR reason for a result of `kind` at `point`, None when it is honoured."""
    if kind in honours:
        return None
    return f"{RESULT_NOT_HONOURED}: {kind} at {point}"
