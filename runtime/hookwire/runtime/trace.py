"""The trace of an execution, and the execution itself (result, final context, trace).

Their hookwire.v1 form is built in hookwire.runtime.wire.trace.

Example:
    >>> from hookwire.runtime.context import HookContext
    >>> from hookwire.runtime.results import CONTINUE, Outcome
    >>> from hookwire.runtime.breaker import BreakerState
    >>> closed = BreakerState.CLOSED
    >>> e = TraceEntry("audit", "python", Outcome.CONTINUE, "", 1_500_000, False, closed)
    >>> Execution(CONTINUE, HookContext("session_start"), [e]).trace_to_json()[0]["durationMs"]
    1.5
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from hookwire.runtime.breaker import BreakerState
from hookwire.runtime.context import HookContext
from hookwire.runtime.results import HookResult, Outcome

__all__ = ["Execution", "RawRecord", "TraceEntry", "make_execution"]


@dataclass(slots=True)
class TraceEntry:
    """One hook's part in an execution."""

    hook_name: str
    language: str
    outcome: Outcome
    reason: str
    duration_ns: int
    slow: bool
    breaker_state: BreakerState

    def to_json(self) -> dict[str, Any]:
        """Plain JSON: hook, outcome, reason, durationMs (float), slow, breaker."""
        return {
            "hook": self.hook_name,
            "outcome": self.outcome.value,
            "reason": self.reason,
            "durationMs": self.duration_ns / 1e6,
            "slow": self.slow,
            "breaker": self.breaker_state.value,
        }


# A raw trace record as the executor's loop writes it (cheaper than a TraceEntry): the i-th
# record belongs to the i-th entry of the chain (every hook considered leaves exactly one, in
# order). It is either a bare int, the duration of a CONTINUE that was neither slow nor late
# and left the breaker CLOSED (the common case), or a tuple
# (outcome, reason, duration_ns, slow, breaker state).
RawRecord = int | tuple[Outcome, str, int, bool, BreakerState]
_CONTINUE = Outcome.CONTINUE
_CLOSED = BreakerState.CLOSED
_new = object.__new__


class Execution:
    """The outcome of executing a point: the final result, the final context and the trace.

    The executor hands over its raw records and the chain they belong to; `trace` builds the
    TraceEntry list on first read, so an execution whose trace is never read does not pay.
    """

    __slots__ = ("_entries", "_raw", "_trace", "context", "result")

    def __init__(
        self,
        result: HookResult,
        context: HookContext,
        trace: list[TraceEntry] | None = None,
        raw: list[RawRecord] | None = None,
        entries: tuple[Any, ...] = (),
    ) -> None:
        self.result = result
        self.context = context
        self._trace = trace
        self._raw = raw
        self._entries = entries

    @property
    def trace(self) -> list[TraceEntry]:
        """One entry per hook considered, in order."""
        trace = self._trace
        if trace is None:
            trace = []
            append = trace.append
            for e, r in zip(self._entries, self._raw or (), strict=False):
                if type(r) is int:
                    append(TraceEntry(e.name, e.language, _CONTINUE, "", r, False, _CLOSED))
                else:
                    append(TraceEntry(e.name, e.language, *r))  # type: ignore[misc]
            self._trace = trace
            self._raw = None
            self._entries = ()
        return trace

    def raw_records(self) -> tuple[tuple[Any, ...], list[RawRecord]]:
        """The chain entries and their raw records, for observers (hookwire.runtime.observer);
        after `trace` was read, the entries are rebuilt from it."""
        raw = self._raw
        if raw is not None:
            return self._entries, raw
        trace = self._trace or []
        return tuple(_Named(t.hook_name, t.language) for t in trace), [
            (t.outcome, t.reason, t.duration_ns, t.slow, t.breaker_state) for t in trace
        ]

    def trace_to_json(self) -> list[dict[str, Any]]:
        """The trace as plain dicts (see TraceEntry.to_json)."""
        return [t.to_json() for t in self.trace]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Execution):
            return NotImplemented
        return (self.result, self.context, self.trace) == (other.result, other.context, other.trace)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Execution(result={self.result!r}, trace={len(self.trace)} entries)"


class _Named(NamedTuple):
    """What observers read of a chain entry (name, language), rebuilt from a TraceEntry."""

    name: str
    language: str


def make_execution(
    result: HookResult, context: HookContext, raw: list[RawRecord], entries: tuple[Any, ...]
) -> Execution:
    """The executor's constructor for an Execution from raw records (skips `__init__`, which
    is measurably cheaper per execution)."""
    ex = _new(Execution)
    ex.result = result
    ex.context = context
    ex._trace = None
    ex._raw = raw
    ex._entries = entries
    return ex
