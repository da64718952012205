"""Execution and TraceEntry <-> hookwire.v1.Execution / TraceEntry (the Execute RPC's answer).

Example:
    >>> from hookwire.runtime.breaker import BreakerState
    >>> from hookwire.runtime.context import HookContext
    >>> from hookwire.runtime.results import CONTINUE, Outcome
    >>> from hookwire.runtime.trace import Execution, TraceEntry
    >>> closed = BreakerState.CLOSED
    >>> e = TraceEntry("audit", "python", Outcome.CONTINUE, "", 1_500_000, False, closed)
    >>> ex = Execution(CONTINUE, HookContext("session_start"), [e])
    >>> execution_from_proto(execution_to_proto(ex)) == ex
    True
"""

from __future__ import annotations

from hookwire.runtime.trace import Execution, TraceEntry
from hookwire.runtime.wire.context import context_from_proto, context_to_proto
from hookwire.runtime.wire.duration import duration_from_proto, duration_to_proto
from hookwire.runtime.wire.enums import (
    breaker_state_from_proto,
    breaker_state_to_proto,
    language_from_proto,
    language_to_proto,
    outcome_from_proto,
    outcome_to_proto,
)
from hookwire.runtime.wire.results import result_from_proto, result_to_proto
from hookwire.v1 import hook_pb2

__all__ = [
    "execution_from_proto",
    "execution_to_proto",
    "trace_entry_from_proto",
    "trace_entry_to_proto",
]


def trace_entry_to_proto(entry: TraceEntry) -> hook_pb2.TraceEntry:
    """hookwire.v1.TraceEntry of a TraceEntry."""
    pb = hook_pb2.TraceEntry(
        hook_name=entry.hook_name,
        language=language_to_proto(entry.language),  # type: ignore[arg-type]
        outcome=outcome_to_proto(entry.outcome),  # type: ignore[arg-type]
        reason=entry.reason,
        slow=entry.slow,
        breaker_state=breaker_state_to_proto(entry.breaker_state),  # type: ignore[arg-type]
    )
    duration_to_proto(entry.duration_ns, pb.duration)
    return pb


def trace_entry_from_proto(pb: hook_pb2.TraceEntry, field: str = "trace") -> TraceEntry:
    """The TraceEntry of a hookwire.v1.TraceEntry; errors name `<field>.<member>`."""
    return TraceEntry(
        pb.hook_name,
        language_from_proto(pb.language, f"{field}.language"),
        outcome_from_proto(pb.outcome, f"{field}.outcome"),
        pb.reason,
        duration_from_proto(pb.duration),
        pb.slow,
        breaker_state_from_proto(pb.breaker_state, f"{field}.breaker_state"),
    )


def execution_to_proto(execution: Execution) -> hook_pb2.Execution:
    """hookwire.v1.Execution of an Execution."""
    pb = hook_pb2.Execution(result=result_to_proto(execution.result))
    pb.context.CopyFrom(context_to_proto(execution.context))
    pb.trace.extend(trace_entry_to_proto(t) for t in execution.trace)
    return pb


def execution_from_proto(pb: hook_pb2.Execution) -> Execution:
    """The Execution of a hookwire.v1.Execution."""
    return Execution(
        result_from_proto(pb.result, "execution.result"),
        context_from_proto(pb.context),
        [trace_entry_from_proto(t, f"execution.trace[{i}]") for i, t in enumerate(pb.trace)],
    )
