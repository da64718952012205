"""Replay recorded executions against the current hooks on a virtual clock.

A record (`ExecutionRecord`) holds the point, the context as the first hook saw it, every trace
entry (hook, outcome, reason, duration, slow, breaker state), the final result and context, the
wall time the execution started and its 1-based index. Recordings are files of
`hookwire.v1.ExecutionRecord` messages, written by `hookwire.runtime.wire.replay.Recorder` and
read by `hookwire.runtime.wire.replay.read_recording` (the file format is described there).

Replay (`replay(...)`) re-executes each recorded context at its recorded point with the
executor you give it (built with your current hooks on a `VirtualClock`), and reports, per
record, where the result, a hook's trace outcome, or the final context differ.

Time during replay:
- Between records, the virtual clock is advanced so that record starts keep their recorded
  spacing (if hooks already moved it further, it is not moved back).
- Hooks that run for real take the virtual time they advance themselves (usually none), so a
  recorded TIMEOUT or a slow call is not reproduced by real code; that shows as an outcome
  difference. Hooks whose code is not at hand (a remote JS worker, a hook under test elsewhere)
  can be registered as **replay stubs** (`ReplayStubs.stub(name)`): a stub advances the clock by
  the hook's recorded duration and answers with its recorded outcome (CONTINUE, SKIPPED with the
  reason, an exception with the ERROR reason, the recorded final result if it was the stopping
  hook, and for MODIFIED the merge patch from the recorded input data to the recorded final
  data; with several MODIFIED hooks in one record, that whole patch is given by the last one).

Example:
    >>> import tempfile, os
    >>> from hookwire.runtime.clock import VirtualClock
    >>> from hookwire.runtime.executor import Executor
    >>> from hookwire.runtime.registry import Registry
    >>> from hookwire.runtime.results import Modified
    >>> from hookwire.runtime.wire.replay import Recorder, read_recording
    >>> def build(clock):  # a registry serves one clock, so each executor gets its own
    ...     reg = Registry()
    ...     _ = reg.register(lambda ctx: Modified({"n": 1}), name="set", point="session_start")
    ...     return Executor(reg, clock=clock)
    >>> path = os.path.join(tempfile.mkdtemp(), "rec.bin")
    >>> with Recorder(build(VirtualClock()), path) as rec:
    ...     _ = rec.execute("session_start", HookContext("session_start", {"n": 0}))
    >>> print(replay(read_recording(path), build, VirtualClock()))
    replay: 1 record(s), no differences
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from copy import deepcopy
from dataclasses import dataclass, field, fields
from typing import Any

from hookwire.runtime.clock import VirtualClock
from hookwire.runtime.context import HookContext
from hookwire.runtime.errors import InvalidArgument
from hookwire.runtime.json_value import merge_patch_diff, validate_json
from hookwire.runtime.results import HookResult, Modified, Outcome, Skipped, result_to_json
from hookwire.runtime.run import ExecutorLike
from hookwire.runtime.trace import Execution, TraceEntry

__all__ = [
    "ExecutionRecord",
    "HookDiff",
    "RecordDiff",
    "Recording",
    "ReplayReport",
    "ReplayStubs",
    "replay",
]


@dataclass(slots=True)
class ExecutionRecord:
    """One recorded execution (the runtime form of hookwire.v1.ExecutionRecord)."""

    index: int
    point: str
    #: The context as the first hook saw it.
    context: HookContext
    trace: list[TraceEntry]
    result: HookResult
    final_context: HookContext
    #: Wall time (unix ns) when the execution started, from the recorder's clock.
    recorded_at_ns: int


@dataclass(slots=True)
class Recording:
    """The records read from a file, and what stopped the reading early (None = clean end)."""

    records: list[ExecutionRecord]
    error: InvalidArgument | None = None


# ---------------------------------------------------------------------------------------------
# Replay stubs.


class ReplayStubs:
    """Stand-ins for hooks whose code is not run during replay (see the module docstring).

    Register `stubs.stub("name")` under the recorded hook's name (and its point, priority and
    timeout); `replay(..., stubs=stubs)` tells the stubs which record is being replayed.
    """

    def __init__(self, clock: VirtualClock) -> None:
        if not isinstance(clock, VirtualClock):
            raise InvalidArgument("clock", "replay stubs need the replay's VirtualClock")
        self.clock = clock
        self.current: ExecutionRecord | None = None

    def stub(self, name: str) -> Callable[[HookContext], HookResult | None]:
        """A hook replaying the recorded behaviour of the hook `name`."""

        def replay_stub(ctx: HookContext) -> HookResult | None:
            return self._answer(name)

        replay_stub.__name__ = f"replay_stub[{name}]"
        return replay_stub

    def _answer(self, name: str) -> HookResult | None:
        rec = self.current
        if rec is None:
            raise InvalidArgument("stubs", "no record is being replayed (use replay(stubs=...))")
        entries = [t for t in rec.trace if t.hook_name == name]
        if not entries:
            return Skipped("replay stub: hook not called in the recording")
        entry = entries[0]
        self.clock.advance(entry.duration_ns)
        outcome = entry.outcome
        if outcome is Outcome.CONTINUE or outcome is Outcome.TIMEOUT:
            return None
        if outcome is Outcome.SKIPPED:
            return Skipped(entry.reason)
        if outcome is Outcome.ERROR:
            raise RuntimeError(entry.reason or "recorded error")
        final = rec.result
        if outcome is Outcome.MODIFIED:
            modifiers = [t.hook_name for t in rec.trace if t.outcome is outcome]
            if modifiers[-1] != name:
                return Modified({})
            patch = merge_patch_diff(rec.context.data, rec.final_context.data)
            validate_json(patch, "patch")
            return Modified(patch)
        if final.outcome is outcome:
            return final
        raise RuntimeError(f"replay stub cannot reproduce a {outcome.value} result")


# ---------------------------------------------------------------------------------------------
# Replay and its report.


@dataclass(frozen=True, slots=True)
class HookDiff:
    """One hook whose trace outcome differs; None = the hook is absent from that side."""

    hook: str
    recorded: str | None
    replayed: str | None
    recorded_reason: str = ""
    replayed_reason: str = ""

    def __str__(self) -> str:
        def side(outcome: str | None, reason: str) -> str:
            if outcome is None:
                return "(not called)"
            return f"{outcome} ({reason})" if reason else outcome

        return (
            f"hook {self.hook}: recorded {side(self.recorded, self.recorded_reason)}, "
            f"replayed {side(self.replayed, self.replayed_reason)}"
        )


@dataclass(slots=True)
class RecordDiff:
    """Differences of one record; empty lists / None mean that part matched."""

    index: int
    point: str
    result: tuple[dict[str, Any], dict[str, Any]] | None = None
    hooks: list[HookDiff] = field(default_factory=list)
    context: list[str] = field(default_factory=list)
    error: str | None = None

    def __bool__(self) -> bool:
        return bool(self.result or self.hooks or self.context or self.error)

    def lines(self) -> list[str]:
        out = [f"record {self.index} ({self.point}):"]
        if self.error:
            out.append(f"  replay failed: {self.error}")
        if self.result:
            out.append(f"  result: recorded {self.result[0]}, replayed {self.result[1]}")
        out.extend(f"  {h}" for h in self.hooks)
        out.extend(f"  context {c}" for c in self.context)
        return out


@dataclass(slots=True)
class ReplayReport:
    """What replay found: records replayed, the differing ones, and any reading problem."""

    replayed: int = 0
    differences: list[RecordDiff] = field(default_factory=list)
    read_error: str | None = None

    @property
    def ok(self) -> bool:
        """True when every record replayed identically and the file was read to its end."""
        return not self.differences and self.read_error is None

    def __str__(self) -> str:
        head = f"replay: {self.replayed} record(s), "
        head += (
            "no differences"
            if not self.differences
            else f"{len(self.differences)} with differences"
        )
        lines = [head]
        if self.read_error:
            lines.append(f"reading stopped early: {self.read_error}")
        for d in self.differences:
            lines.extend(d.lines())
        return "\n".join(lines)


def _trace_diff(rec: ExecutionRecord, ex: Execution) -> list[HookDiff]:
    recorded: dict[str, tuple[str, str]] = {}
    for t in rec.trace:
        recorded.setdefault(t.hook_name, (t.outcome.value, t.reason))
    replayed: dict[str, tuple[str, str]] = {}
    for r in ex.trace:
        replayed.setdefault(r.hook_name, (r.outcome.value, r.reason))
    diffs = []
    for name in [*recorded, *(n for n in replayed if n not in recorded)]:
        a, b = recorded.get(name), replayed.get(name)
        if a is None or b is None or a[0] != b[0]:
            diffs.append(
                HookDiff(
                    name,
                    a[0] if a else None,
                    b[0] if b else None,
                    a[1] if a else "",
                    b[1] if b else "",
                )
            )
    return diffs


def _data_diff(path: str, old: Any, new: Any, out: list[str]) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            where = f"{path}.{key}"
            if key not in new:
                out.append(f"{where}: recorded {old[key]!r}, replayed (absent)")
            elif key not in old:
                out.append(f"{where}: recorded (absent), replayed {new[key]!r}")
            else:
                _data_diff(where, old[key], new[key], out)
    elif old != new or type(old) is not type(new):
        out.append(f"{path}: recorded {old!r}, replayed {new!r}")


# The fields of a context other than `data`, compared as wholes.
_OTHER_FIELDS = tuple(f.name for f in fields(HookContext) if f.name != "data")


def _context_diff(rec: ExecutionRecord, ex: Execution) -> list[str]:
    recorded, replayed = rec.final_context, ex.context
    out: list[str] = []
    _data_diff("data", recorded.data, replayed.data, out)
    differing = [n for n in _OTHER_FIELDS if getattr(recorded, n) != getattr(replayed, n)]
    if differing:
        out.append(f"fields other than data differ: {', '.join(differing)}")
    return out


def replay(
    source: Recording | Sequence[ExecutionRecord],
    executor: ExecutorLike | Callable[[VirtualClock], ExecutorLike],
    clock: VirtualClock,
    *,
    stubs: ReplayStubs | None = None,
) -> ReplayReport:
    """Re-execute every recorded context with `executor` (or `executor(clock)` when given a
    factory) on the virtual `clock`, and report the differences. `source` is what
    `read_recording` returned (its error becomes the report's `read_error`) or a list of records.

    The executor must read `clock` (checked when it exposes a `clock` attribute).
    """
    if not isinstance(clock, VirtualClock):
        raise InvalidArgument("clock", f"must be a VirtualClock, got {type(clock).__name__}")
    if not hasattr(executor, "execute") and callable(executor):
        executor = executor(clock)
    if not hasattr(executor, "execute"):
        raise InvalidArgument("executor", "must be an executor or a factory taking the clock")
    ex_clock = getattr(executor, "clock", None)
    if ex_clock is not None and ex_clock is not clock:
        raise InvalidArgument("clock", "the executor reads another clock; build it on this one")
    if stubs is not None and stubs.clock is not clock:
        raise InvalidArgument("stubs", "the stubs advance another clock than the replay's")
    runner: ExecutorLike = executor  # type: ignore[assignment]

    report = ReplayReport()
    if isinstance(source, Recording):
        records = source.records
        if source.error is not None:
            report.read_error = str(source.error)
    else:
        records = list(source)

    base_mono = clock.monotonic_ns()
    base_rec: int | None = None
    for rec in records:
        at = rec.recorded_at_ns
        if base_rec is None:
            base_rec = at
        target = base_mono + max(0, at - base_rec)
        now = clock.monotonic_ns()
        if target > now:
            clock.advance(target - now)
        diff = RecordDiff(rec.index, rec.point)
        if stubs is not None:
            stubs.current = rec
        try:
            # A copy: hooks may change what they are given, and stubs read the record.
            ex = runner.execute(rec.point, deepcopy(rec.context))
        except Exception as exc:  # a broken record or executor must not hide the others
            diff.error = f"{type(exc).__name__}: {exc}"
        else:
            recorded_result = result_to_json(rec.result)
            replayed_result = result_to_json(ex.result)
            if recorded_result != replayed_result:
                diff.result = (recorded_result, replayed_result)
            diff.hooks = _trace_diff(rec, ex)
            diff.context = _context_diff(rec, ex)
        finally:
            if stubs is not None:
                stubs.current = None
        report.replayed += 1
        if diff:
            report.differences.append(diff)
    return report
