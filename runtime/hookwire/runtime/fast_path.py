"""The compiled fast path of a synchronous chain: the executor's step, specialised by code
generation for its common case.

The step (ask the breaker, call, settle, apply) is defined once, in the executor's chain loop
(hookwire.runtime.executor `_run_chain`). This module writes, for one chain, the straight-line
code of the case where every hook is permitted by its breaker and returns CONTINUE (None) in
time and not slow: per hook, the call, one clock read and a few local operations (durations
stay in locals and become the raw trace in one list display; a good call to a `quiet`
breaker, CLOSED with a window full of good calls, is not recorded because recording it would
change nothing). The first call that differs, or a breaker that is not quiet and not CLOSED,
hands over to the loop (`bail`), which settles that call and runs the rest: the semantics are
the loop's, only its overhead is saved. `tests/ops/test_fast_path.py` pins the equivalence on
random chains.

For an executor whose monitor or event sink consume its records
(hookwire.runtime.observer.ExecutionRecords), the compiled code also appends the execution's
record itself (`records`), timed by the chain's own first and last clock readings, and may
check that the registry has not moved on first (`stale`) and ask a call wrapper whether it acts
around the execution (`begin`); `tests/ops/test_observed_path.py` pins that to the executor's
general observed path.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from hookwire.runtime.adapter import describe_exception
from hookwire.runtime.breaker import BreakerState
from hookwire.runtime.context import HookContext
from hookwire.runtime.errors import AsyncHookNotAllowed
from hookwire.runtime.results import CONTINUE, Outcome
from hookwire.runtime.trace import Execution

__all__ = ["MAX_COMPILED_STEPS", "compile_fast_path"]

# Longest chain compiled into straight-line code (longer chains use the loop only).
MAX_COMPILED_STEPS = 64


def compile_fast_path(
    steps: Sequence[tuple[Any, Any, int]],
    entries: tuple[Any, ...],
    clock: Callable[[], int],
    *,
    bail: Callable[..., Execution],
    bad_context: Callable[[Any], None],
    failure: type,
    not_called: Any,
    records: Any = None,
    stale: tuple[Any, int, Callable[[HookContext], Execution]] | None = None,
    begin: tuple[str, Callable[[str, HookContext], Any], Callable[..., Execution]] | None = None,
) -> Callable[[HookContext], Execution] | None:
    """Straight-line code for `steps` (each `(call, breaker, limit_ns)`, limit = the longest
    duration neither slow nor late), or None for an empty or too long chain.

    `bail(ctx, raw, i, now, value, end)` finishes the execution in the loop from step i (value
    = what step i returned at clock `end`, or `not_called`); `failure(outcome, reason)` wraps
    an exception a hook raised, as the loop does.

    `records` (an ExecutionRecords): append `(entries, raw, first clock reading, last)` per
    execution and drain it at its `limit`; `bail` then also gets the first reading, as a
    seventh argument, and records the execution it finishes. `stale = (registry, version,
    restart)`: while `registry.version != version`, return `restart(ctx)` instead. `begin =
    (point, begin, acted)`: a call wrapper's `begin(point, ctx)` first; for a token, return
    `acted(ctx, token)` (which runs the wrapped chain) instead of running this one.
    """
    if not steps or len(steps) > MAX_COMPILED_STEPS:
        return None
    env: dict[str, Any] = {
        "clock": clock,
        "closed": BreakerState.CLOSED,
        "CONTINUE": CONTINUE,
        "O_CONTINUE": Outcome.CONTINUE,
        "O_ERROR": Outcome.ERROR,
        "Failure": failure,
        "describe": describe_exception,
        "AsyncHookNotAllowed": AsyncHookNotAllowed,
        "new": object.__new__,
        "Execution": Execution,
        "entries": entries,
        "NOT_CALLED": not_called,
        "bail": bail,
        "HookContext": HookContext,
        "bad_context": bad_context,
    }
    lines = ["def fast(ctx):"]
    if stale is not None:
        env["registry"], env["version"], env["restart"] = stale
        lines += ["    if registry.version != version:", "        return restart(ctx)"]
    lines += ["    if type(ctx) is not HookContext:", "        bad_context(ctx)"]
    if begin is not None:
        env["point"], env["begin"], env["acted"] = begin
        lines += [
            "    token = begin(point, ctx)",
            "    if token is not None:",
            "        return acted(ctx, token)",
        ]
    lines.append("    now = clock()")
    # The first clock reading, for the execution's record.
    started = ""
    if records is not None:
        env["records"] = records
        env["items"] = records.items
        lines.append("    started = now")
        started = ", started"
    for i, (call, br, limit) in enumerate(steps):
        env[f"f{i}"] = call
        env[f"b{i}"] = br
        done = "[" + ", ".join(f"d{j}" for j in range(i)) + "]"
        lines += [
            f"    if not b{i}.quiet and b{i}.state is not closed:",
            f"        return bail(ctx, {done}, {i}, now, NOT_CALLED, 0{started})",
            "    try:",
            f"        v = f{i}(ctx)",
            "    except AsyncHookNotAllowed:",
            "        raise",
            "    except Exception as exc:",
            "        v = Failure(O_ERROR, describe(exc))",
            "    end = clock()",
            f"    d{i} = end - now",
            f"    if (v is not None and v is not CONTINUE) or d{i} > {limit}:",
            f"        return bail(ctx, {done}, {i}, now, v, end{started})",
            f"    if not b{i}.quiet:",
            f"        b{i}.record_success(end)",
            f"        if b{i}.state is not closed:",
            f"            d{i} = (O_CONTINUE, '', d{i}, False, b{i}.state)",
            "    now = end",
        ]
    # hookwire.runtime.trace.make_execution, inlined: one call less per execution.
    lines += [
        "    ex = new(Execution)",
        "    ex.result = CONTINUE",
        "    ex.context = ctx",
        "    ex._trace = None",
        "    ex._raw = raw = [" + ", ".join(f"d{j}" for j in range(len(steps))) + "]",
        "    ex._entries = entries",
    ]
    if records is not None:
        # hookwire.runtime.observer.ExecutionRecords: one record, drained at its limit.
        lines += [
            "    items.append((entries, raw, started, now))",
            "    if len(items) >= records.limit:",
            "        records.drain()",
        ]
    lines.append("    return ex")
    # Everything the body reads becomes a default argument: local reads are the cheapest.
    names = [n for n in env if n.isidentifier()]
    lines[0] = "def fast(ctx, " + ", ".join(f"{n}={n}" for n in names) + "):"
    code = compile("\n".join(lines), f"<hookwire chain of {len(steps)} hooks>", "exec")
    exec(code, env)
    fast: Callable[[HookContext], Execution] = env["fast"]
    return fast
