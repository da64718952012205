"""Record executions to a file and replay them against the current hooks on a virtual clock.

File format: a sequence of `hookwire.v1.ExecutionRecord` messages (proto/hookwire/v1/replay.proto),
each preceded by its byte length as a base-128 varint (protobuf's length-delimited framing, as
`writeDelimitedTo` in Java / `parseDelimitedFrom`). A record holds the point, the context as the
first hook saw it, every trace entry (hook, outcome, reason, duration, slow, breaker state),
the final result and context, the wall time the execution started and its 1-based index.
Files are flushed after every record, so a crash loses at most the record being written; a
truncated last record is reported (naming its byte offset) and the records before it are kept.

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
    >>> def build(clock):  # a registry serves one clock, so each executor gets its own
    ...     reg = Registry()
    ...     _ = reg.register(lambda ctx: Modified({"n": 1}), name="set", point="session_start")
    ...     return Executor(reg, clock=clock)
    >>> path = os.path.join(tempfile.mkdtemp(), "rec.bin")
    >>> with Recorder(build(VirtualClock()), path) as rec:
    ...     _ = rec.execute("session_start", HookContext("session_start", {"n": 0}))
    >>> print(replay(path, build, VirtualClock()))
    replay: 1 record(s), no differences
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import IO, Any

from google.protobuf.message import DecodeError
from hookwire.runtime.clock import Clock, SystemClock, VirtualClock
from hookwire.runtime.context import HookContext
from hookwire.runtime.errors import InvalidArgument
from hookwire.runtime.framing import MAX_FRAME_BYTES, encode_frame, encode_varint
from hookwire.runtime.json_value import validate_json
from hookwire.runtime.results import (
    HookResult,
    Modified,
    Outcome,
    Skipped,
    outcome_from_proto,
    result_from_proto,
    result_to_json,
    result_to_proto,
)
from hookwire.runtime.run import ExecutorLike
from hookwire.runtime.trace import Execution
from hookwire.v1 import replay_pb2

__all__ = [
    "HookDiff",
    "RecordDiff",
    "Recorder",
    "Recording",
    "ReplayReport",
    "ReplayStubs",
    "decode_varint",
    "encode_varint",
    "merge_patch_between",
    "read_recording",
    "replay",
]

_S = 1_000_000_000


def decode_varint(buf: bytes, pos: int) -> tuple[int, int] | None:
    """`(value, next position)` of the varint at `pos`, or None if `buf` ends inside it.

    Example:
        >>> decode_varint(bytes.fromhex("ac02ff"), 0)
        (300, 2)
    """
    result = shift = 0
    while pos < len(buf):
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise InvalidArgument("recording", f"varint longer than 10 bytes before offset {pos}")
    return None


# ---------------------------------------------------------------------------------------------
# Recording.


class Recorder:
    """Wraps an executor: `execute` / `aexecute` run it and append one ExecutionRecord each.

    Pass the Recorder wherever the executor is used (it is an `ExecutorLike`, so `run()`
    accepts it). `path` is a file name (appended to with `append=True`, else truncated) or an
    open binary stream (flushed, never closed by the Recorder).
    """

    def __init__(
        self,
        executor: ExecutorLike,
        path: str | os.PathLike[str] | IO[bytes],
        *,
        clock: Clock | None = None,
        append: bool = False,
    ) -> None:
        self.executor = executor
        if clock is None:
            found = getattr(executor, "clock", None)
            clock = found if isinstance(found, Clock) else SystemClock()
        self.clock: Clock = clock
        self._owns = isinstance(path, (str, os.PathLike))
        self.count = 0
        if append and isinstance(path, (str, os.PathLike)) and os.path.exists(path):
            # Continue the numbering of the records already there.
            self.count = len(read_recording(path).records)
        if isinstance(path, (str, os.PathLike)):
            try:
                self._file: IO[bytes] = open(path, "ab" if append else "wb")  # noqa: SIM115
            except OSError as exc:
                raise InvalidArgument("path", f"cannot open {os.fspath(path)!r}: {exc}") from None
        elif hasattr(path, "write"):
            self._file = path
        else:
            raise InvalidArgument("path", f"must be a file name or a binary stream, got {path!r}")
        self._lock = threading.Lock()

    def _write(self, point: str, ctx_pb: Any, ex: Execution, started_ns: int) -> None:
        rec = replay_pb2.ExecutionRecord(point=point)
        rec.context.CopyFrom(ctx_pb)
        rec.trace.extend(t.to_proto() for t in ex.trace)
        rec.result.CopyFrom(result_to_proto(ex.result))
        rec.final_context.CopyFrom(ex.context.to_proto())
        rec.recorded_at.seconds, rec.recorded_at.nanos = divmod(started_ns, _S)
        with self._lock:
            if self._file.closed:
                raise InvalidArgument("recorder", "is closed")
            self.count += 1
            rec.index = self.count
            body = rec.SerializeToString()
            self._file.write(encode_frame(body))
            self._file.flush()

    def execute(self, point: str, ctx: HookContext) -> Execution:
        """Run `executor.execute` and record it."""
        started = self.clock.time_ns()
        ctx_pb = ctx.to_proto()  # the context as the first hook sees it
        ex = self.executor.execute(point, ctx)
        self._write(point, ctx_pb, ex, started)
        return ex

    async def aexecute(self, point: str, ctx: HookContext) -> Execution:
        """Run `executor.aexecute` and record it."""
        started = self.clock.time_ns()
        ctx_pb = ctx.to_proto()
        ex = await self.executor.aexecute(point, ctx)
        self._write(point, ctx_pb, ex, started)
        return ex

    def close(self) -> None:
        """Flush, and close the file if the Recorder opened it."""
        with self._lock:
            if self._owns and not self._file.closed:
                self._file.close()
            elif not self._file.closed:
                self._file.flush()

    def __enter__(self) -> Recorder:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


# ---------------------------------------------------------------------------------------------
# Reading.


@dataclass(slots=True)
class Recording:
    """The records read from a file, and what stopped the reading early (None = clean end)."""

    records: list[replay_pb2.ExecutionRecord]
    error: InvalidArgument | None = None


def _iter(data: bytes, name: str) -> Iterator[replay_pb2.ExecutionRecord]:
    pos = 0
    while pos < len(data):
        start = pos
        head = decode_varint(data, pos)
        if head is None:
            raise InvalidArgument(
                "recording",
                f"{name}: truncated record at byte offset {start}: the length prefix is cut off",
            )
        length, pos = head
        if length > MAX_FRAME_BYTES:
            raise InvalidArgument(
                "recording",
                f"{name}: corrupt record at byte offset {start}: length {length} exceeds "
                f"{MAX_FRAME_BYTES}",
            )
        if pos + length > len(data):
            raise InvalidArgument(
                "recording",
                f"{name}: truncated record at byte offset {start}: {length} bytes announced, "
                f"{len(data) - pos} present",
            )
        rec = replay_pb2.ExecutionRecord()
        try:
            rec.ParseFromString(data[pos : pos + length])
        except DecodeError as exc:
            raise InvalidArgument(
                "recording", f"{name}: corrupt record at byte offset {start}: {exc}"
            ) from None
        pos += length
        yield rec


def read_recording(source: str | os.PathLike[str] | bytes) -> Recording:
    """Read every complete record; a truncated or corrupt tail ends the reading and is kept in
    `Recording.error` (InvalidArgument naming the byte offset), the records before it kept.

    Example:
        >>> r = read_recording(encode_varint(5) + b"ab")
        >>> (len(r.records), str(r.error))
        (0, 'recording: <bytes>: truncated record at byte offset 0: 5 bytes announced, 2 present')
    """
    if isinstance(source, bytes):
        data, name = source, "<bytes>"
    else:
        name = os.fspath(source)
        try:
            with open(source, "rb") as f:
                data = f.read()
        except OSError as exc:
            raise InvalidArgument("source", f"cannot read {name!r}: {exc}") from None
    records: list[replay_pb2.ExecutionRecord] = []
    try:
        for rec in _iter(data, name):
            records.append(rec)
    except InvalidArgument as exc:
        return Recording(records, exc)
    return Recording(records)


# ---------------------------------------------------------------------------------------------
# Replay stubs.


def merge_patch_between(old: Any, new: Any) -> Any:
    """A JSON merge patch turning object `old` into `new` (RFC 7396 cannot set a null member;
    such a member is written as a deletion).

    Example:
        >>> merge_patch_between({"a": 1, "b": {"c": 2, "d": 3}}, {"b": {"c": 2, "d": 4}, "e": 5})
        {'a': None, 'b': {'d': 4}, 'e': 5}
    """
    if not isinstance(old, dict) or not isinstance(new, dict):
        return new
    patch: dict[str, Any] = {}
    for key in old:
        if key not in new:
            patch[key] = None
    for key, value in new.items():
        if key not in old:
            patch[key] = value
        elif old[key] != value or type(old[key]) is not type(value):
            if isinstance(old[key], dict) and isinstance(value, dict):
                patch[key] = merge_patch_between(old[key], value)
            else:
                patch[key] = value
    return patch


class ReplayStubs:
    """Stand-ins for hooks whose code is not run during replay (see the module docstring).

    Register `stubs.stub("name")` under the recorded hook's name (and its point, priority and
    timeout); `replay(..., stubs=stubs)` tells the stubs which record is being replayed.
    """

    def __init__(self, clock: VirtualClock) -> None:
        if not isinstance(clock, VirtualClock):
            raise InvalidArgument("clock", "replay stubs need the replay's VirtualClock")
        self.clock = clock
        self.current: replay_pb2.ExecutionRecord | None = None

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
        self.clock.advance(entry.duration.seconds * _S + entry.duration.nanos)
        outcome = outcome_from_proto(entry.outcome)
        if outcome is Outcome.CONTINUE or outcome is Outcome.TIMEOUT:
            return None
        if outcome is Outcome.SKIPPED:
            return Skipped(entry.reason)
        if outcome is Outcome.ERROR:
            raise RuntimeError(entry.reason or "recorded error")
        final = result_from_proto(rec.result, "record.result")
        if outcome is Outcome.MODIFIED:
            modifiers = [t.hook_name for t in rec.trace if t.outcome == entry.outcome]
            if modifiers[-1] != name:
                return Modified({})
            before = HookContext.from_proto(rec.context).data
            after = HookContext.from_proto(rec.final_context).data
            patch = merge_patch_between(before, after)
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


def _trace_diff(rec: replay_pb2.ExecutionRecord, ex: Execution) -> list[HookDiff]:
    recorded: dict[str, tuple[str, str]] = {}
    for t in rec.trace:
        recorded.setdefault(t.hook_name, (outcome_from_proto(t.outcome).value, t.reason))
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


def _context_diff(rec: replay_pb2.ExecutionRecord, ex: Execution) -> list[str]:
    recorded = HookContext.from_proto(rec.final_context)
    out: list[str] = []
    _data_diff("data", recorded.data, ex.context.data, out)
    replayed_pb = ex.context.to_proto()
    recorded_pb = replay_pb2.ExecutionRecord().final_context
    recorded_pb.CopyFrom(rec.final_context)
    recorded_pb.ClearField("data")
    replayed_pb.ClearField("data")
    if recorded_pb != replayed_pb:
        names = {f.name for f, _ in recorded_pb.ListFields()}
        names |= {f.name for f, _ in replayed_pb.ListFields()}
        differing = sorted(n for n in names if getattr(recorded_pb, n) != getattr(replayed_pb, n))
        out.append(f"fields other than data differ: {', '.join(differing)}")
    return out


def replay(
    source: str | os.PathLike[str] | bytes | Sequence[replay_pb2.ExecutionRecord],
    executor: ExecutorLike | Callable[[VirtualClock], ExecutorLike],
    clock: VirtualClock,
    *,
    stubs: ReplayStubs | None = None,
) -> ReplayReport:
    """Re-execute every recorded context with `executor` (or `executor(clock)` when given a
    factory) on the virtual `clock`, and report the differences.

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
    if isinstance(source, (str, os.PathLike, bytes)):
        recording = read_recording(source)
        records = recording.records
        if recording.error is not None:
            report.read_error = str(recording.error)
    else:
        records = list(source)

    base_mono = clock.monotonic_ns()
    base_rec: int | None = None
    for rec in records:
        at = rec.recorded_at.seconds * _S + rec.recorded_at.nanos
        if base_rec is None:
            base_rec = at
        target = base_mono + max(0, at - base_rec)
        now = clock.monotonic_ns()
        if target > now:
            clock.advance(target - now)
        diff = RecordDiff(int(rec.index), rec.point)
        if stubs is not None:
            stubs.current = rec
        try:
            ctx = HookContext.from_proto(rec.context)
            ex = runner.execute(rec.point, ctx)
        except Exception as exc:  # a broken record or executor must not hide the others
            diff.error = f"{type(exc).__name__}: {exc}"
        else:
            recorded_result = result_to_json(result_from_proto(rec.result, "record.result"))
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
