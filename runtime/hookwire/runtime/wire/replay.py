"""Recordings: files of hookwire.v1.ExecutionRecord messages, written and read.

File format: a sequence of `hookwire.v1.ExecutionRecord` messages (proto/hookwire/v1/replay.proto),
each preceded by its byte length as a base-128 varint (protobuf's length-delimited framing, as
`writeDelimitedTo` in Java / `parseDelimitedFrom`). `Recorder` writes one record per execution
and flushes after each, so a crash loses at most the record being written; `read_recording`
reads them back as `hookwire.runtime.replay.ExecutionRecord`s, and reports a truncated or
corrupt tail (naming its byte offset) with the records before it kept. Replaying them is
`hookwire.runtime.replay.replay`.

Example:
    >>> import io
    >>> from hookwire.runtime.clock import VirtualClock
    >>> from hookwire.runtime.context import HookContext
    >>> from hookwire.runtime.executor import Executor
    >>> from hookwire.runtime.registry import Registry
    >>> reg = Registry()
    >>> _ = reg.register(lambda ctx: None, name="noop", point="session_start")
    >>> out = io.BytesIO()
    >>> with Recorder(Executor(reg, clock=VirtualClock()), out) as rec:
    ...     _ = rec.execute("session_start", HookContext("session_start", {"n": 0}))
    >>> [(r.index, r.point, r.context.data) for r in read_recording(out.getvalue()).records]
    [(1, 'session_start', {'n': 0})]
"""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Iterator
from types import TracebackType
from typing import IO, Any

from google.protobuf.message import DecodeError
from hookwire.runtime.clock import Clock, SystemClock
from hookwire.runtime.context import HookContext
from hookwire.runtime.errors import HookwireError, InvalidArgument
from hookwire.runtime.framing import FrameReader, MalformedFrame, encode_frame
from hookwire.runtime.replay import ExecutionRecord, Recording
from hookwire.runtime.run import ExecutorLike
from hookwire.runtime.trace import Execution
from hookwire.runtime.wire.context import context_from_proto, context_to_proto, fill_context
from hookwire.runtime.wire.duration import timestamp_from_proto, timestamp_to_proto
from hookwire.runtime.wire.results import result_from_proto, result_to_proto
from hookwire.runtime.wire.trace import trace_entry_from_proto, trace_entry_to_proto
from hookwire.v1 import replay_pb2

__all__ = ["Recorder", "read_recording", "record_from_proto"]


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
        rec.trace.extend(trace_entry_to_proto(t) for t in ex.trace)
        rec.result.CopyFrom(result_to_proto(ex.result))
        fill_context(rec.final_context, ex.context)
        timestamp_to_proto(started_ns, rec.recorded_at)
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
        ctx_pb = context_to_proto(ctx)  # the context as the first hook sees it
        ex = self.executor.execute(point, ctx)
        self._write(point, ctx_pb, ex, started)
        return ex

    async def aexecute(self, point: str, ctx: HookContext) -> Execution:
        """Run `executor.aexecute` and record it."""
        started = self.clock.time_ns()
        ctx_pb = context_to_proto(ctx)
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


def record_from_proto(pb: replay_pb2.ExecutionRecord) -> ExecutionRecord:
    """The ExecutionRecord of a hookwire.v1.ExecutionRecord; errors name `record.<member>`."""
    return ExecutionRecord(
        index=int(pb.index),
        point=pb.point,
        context=context_from_proto(pb.context),
        trace=[trace_entry_from_proto(t, f"record.trace[{i}]") for i, t in enumerate(pb.trace)],
        result=result_from_proto(pb.result, "record.result"),
        final_context=context_from_proto(pb.final_context),
        recorded_at_ns=timestamp_from_proto(pb.recorded_at),
    )


def _iter(data: bytes, name: str) -> Iterator[ExecutionRecord]:
    stream = io.BytesIO(data)
    frames = FrameReader(stream)
    while True:
        start = stream.tell()
        try:
            body = frames.read()
        except MalformedFrame as exc:
            # Cut short when the reader ran into the end of the data; otherwise corrupt.
            what = "truncated" if stream.tell() == len(data) else "corrupt"
            raise InvalidArgument(
                "recording", f"{name}: {what} record at byte offset {start}: {exc.reason}"
            ) from None
        if body is None:
            return
        rec = replay_pb2.ExecutionRecord()
        try:
            rec.ParseFromString(body)
        except DecodeError as exc:
            raise InvalidArgument(
                "recording", f"{name}: corrupt record at byte offset {start}: {exc}"
            ) from None
        try:
            yield record_from_proto(rec)
        except HookwireError as exc:
            raise InvalidArgument(
                "recording", f"{name}: invalid record at byte offset {start}: {exc}"
            ) from None


def read_recording(source: str | os.PathLike[str] | bytes) -> Recording:
    """Read every complete record; a truncated or corrupt tail ends the reading and is kept in
    `Recording.error` (InvalidArgument naming the byte offset), the records before it kept.

    Example:
        >>> r = read_recording(b"\\x05ab")
        >>> (len(r.records), str(r.error))  # doctest: +NORMALIZE_WHITESPACE
        (0, 'recording: <bytes>: truncated record at byte offset 0: the stream ended 2 bytes
        into a frame of 5 bytes')
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
    records: list[ExecutionRecord] = []
    try:
        for rec in _iter(data, name):
            records.append(rec)
    except InvalidArgument as exc:
        return Recording(records, exc)
    return Recording(records)
