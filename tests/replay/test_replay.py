"""Recording executions and replaying them against the current hooks on a virtual clock."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from pathlib import Path

import pytest
from hookwire.runtime.clock import VirtualClock
from hookwire.runtime.context import HookContext
from hookwire.runtime.errors import InvalidArgument
from hookwire.runtime.executor import Executor
from hookwire.runtime.framing import decode_varint, encode_varint
from hookwire.runtime.registry import Registry
from hookwire.runtime.replay import ReplayStubs, replay
from hookwire.runtime.results import Cancel, HookResult, Modified, Outcome
from hookwire.runtime.run import run
from hookwire.runtime.wire.replay import Recorder, read_recording

MS = 1_000_000
P = "before_tool_execution"


def build(*, strict: bool = False, extra: bool = False) -> Callable[[VirtualClock], Executor]:
    """Hooks: `tag` adds data.tagged; `guard` cancels when data.n > 10 (> 5 when strict)."""

    def factory(clock: VirtualClock) -> Executor:
        reg = Registry()
        reg.register(lambda ctx: Modified({"tagged": True}), name="tag", point=P)
        limit = 5 if strict else 10

        def guard(ctx: HookContext) -> HookResult | None:
            return Cancel(f"n above {limit}") if ctx.data["n"] > limit else None

        reg.register(guard, name="guard", point=P, priority=10)
        if extra:
            reg.register(lambda ctx: None, name="audit", point=P, priority=20)
        return Executor(reg, clock=clock)

    return factory


def record(path: Path, values: list[int], gaps_ms: list[int]) -> None:
    clock = VirtualClock()
    with Recorder(build()(clock), path) as rec:
        for n, gap in zip(values, gaps_ms, strict=True):
            clock.advance_ms(gap)
            rec.execute(P, HookContext(P, {"n": n}, correlation_id=f"c{n}"))


def test_round_trip_keeps_every_field_and_replays_without_differences(tmp_path: Path) -> None:
    path = tmp_path / "rec.bin"
    record(path, [1, 20, 3], [0, 50, 70])
    rec = read_recording(path)
    assert rec.error is None
    assert [r.index for r in rec.records] == [1, 2, 3]
    first, second = rec.records[0], rec.records[1]
    assert first.point == P
    assert first.context.data == {"n": 1}
    assert first.final_context.data == {"n": 1, "tagged": True}
    assert [(t.hook_name, t.outcome) for t in second.trace] == [
        ("tag", Outcome.MODIFIED),
        ("guard", Outcome.CANCEL),
    ]
    assert second.result == Cancel("n above 10")
    starts = [r.recorded_at_ns for r in rec.records]
    assert [b - a for a, b in itertools.pairwise(starts)] == [50 * MS, 70 * MS]

    clock = VirtualClock()
    report = replay(read_recording(path), build(), clock)
    assert report.ok and report.replayed == 3
    assert str(report) == "replay: 3 record(s), no differences"
    # The clock kept the recorded spacing between record starts.
    assert clock.monotonic_ns() == 120 * MS


def test_a_changed_hook_is_reported_per_record(tmp_path: Path) -> None:
    path = tmp_path / "rec.bin"
    record(path, [1, 7, 20], [0, 10, 10])
    report = replay(read_recording(path), build(strict=True, extra=True), VirtualClock())
    assert not report.ok
    assert report.replayed == 3
    by_index = {d.index: d for d in report.differences}
    # Record 1 (n=1): only the new `audit` hook differs.
    assert [(h.hook, h.recorded, h.replayed) for h in by_index[1].hooks] == [
        ("audit", None, "CONTINUE")
    ]
    assert by_index[1].result is None
    # Record 2 (n=7): guard now cancels.
    d2 = by_index[2]
    assert d2.result == (
        {"modified": {"data": {"n": 7, "tagged": True}}},
        {"cancel": {"reason": "n above 5"}},
    )
    assert [(h.hook, h.recorded, h.replayed) for h in d2.hooks] == [("guard", "CONTINUE", "CANCEL")]
    # Record 3 (n=20): cancelled both times, with different reasons, so the result differs.
    assert by_index[3].result is not None
    text = str(report)
    assert "replay: 3 record(s), 3 with differences" in text
    assert "record 2 (before_tool_execution):" in text
    assert "\n  hook guard: recorded CONTINUE, replayed CANCEL\n" in text
    assert "  hook audit: recorded (not called), replayed CONTINUE" in text


def test_final_context_difference_is_reported_by_path(tmp_path: Path) -> None:
    path = tmp_path / "rec.bin"
    record(path, [1], [0])

    def factory(clock: VirtualClock) -> Executor:
        reg = Registry()
        reg.register(lambda ctx: Modified({"tagged": "yes", "n": None}), name="tag", point=P)
        reg.register(lambda ctx: None, name="guard", point=P, priority=10)
        return Executor(reg, clock=clock)

    report = replay(read_recording(path), factory, VirtualClock())
    assert report.differences[0].context == [
        "data.n: recorded 1, replayed (absent)",
        "data.tagged: recorded True, replayed 'yes'",
    ]


def test_truncated_last_record_is_reported_with_its_offset_and_earlier_records_kept(
    tmp_path: Path,
) -> None:
    path = tmp_path / "rec.bin"
    record(path, [1, 2], [0, 10])
    data = path.read_bytes()
    first_len, body_at = decode_varint(data, 0)
    second_at = body_at + first_len
    path.write_bytes(data[:-3])
    rec = read_recording(path)
    assert len(rec.records) == 1
    assert rec.error is not None
    assert f"truncated record at byte offset {second_at}:" in str(rec.error)
    length, at = decode_varint(data, second_at)
    assert f"the stream ended {len(data) - 3 - at} bytes into a frame of {length} bytes" in str(
        rec.error
    )
    report = replay(read_recording(path), build(), VirtualClock())
    assert report.replayed == 1
    assert not report.ok
    assert report.read_error is not None and str(second_at) in report.read_error
    assert "reading stopped early" in str(report)
    # A file cut inside the length prefix itself.
    cut = read_recording(data[:second_at] + b"\x80")
    assert len(cut.records) == 1
    assert cut.error is not None and "truncated record" in str(cut.error)
    assert "the stream ended inside a frame length" in str(cut.error)
    # A length over the frame limit, with data after it, is a corrupt record.
    huge = read_recording(data[:second_at] + b"\xff\xff\xff\xff\x7f" + b"x" * 8)
    assert huge.error is not None and "corrupt record" in str(huge.error)
    assert "exceeds the limit" in str(huge.error)


def test_corrupt_record_body_is_reported(tmp_path: Path) -> None:
    junk = encode_varint(3) + b"\xff\xff\xff"
    rec = read_recording(junk)
    assert rec.records == [] and rec.error is not None
    assert "corrupt record at byte offset 0" in str(rec.error)


def test_recorder_under_run_records_each_point(tmp_path: Path) -> None:
    path = tmp_path / "rec.bin"
    clock = VirtualClock()
    reg = Registry()
    reg.register(lambda ctx: Modified({"output": 6}), name="bump", point="after_tool_execution")
    with Recorder(Executor(reg, clock=clock), path) as rec:
        assert rec.clock is clock
        assert run(rec, "op", {"a": 1}, lambda p: 5).output == 6
    records = read_recording(path).records
    assert [r.point for r in records] == ["before_tool_execution", "after_tool_execution"]
    after = records[1].final_context
    assert after.data == {"params": {"a": 1}, "output": 6}
    assert after.metadata["hookwire.attempt"] == "1"


def test_recorder_aexecute_records(tmp_path: Path) -> None:
    path = tmp_path / "rec.bin"
    clock = VirtualClock()
    reg = Registry()

    async def tag(ctx: HookContext) -> HookResult:
        return Modified({"seen": True})

    reg.register(tag, name="tag", point=P)
    with Recorder(Executor(reg, clock=clock), path) as rec:
        asyncio.run(rec.aexecute(P, HookContext(P, {})))
    records = read_recording(path).records
    assert len(records) == 1
    assert records[0].final_context.data == {"seen": True}


def test_stubs_reproduce_recorded_durations_and_outcomes(tmp_path: Path) -> None:
    path = tmp_path / "rec.bin"

    def recorded_hooks(clock: VirtualClock) -> Executor:
        reg = Registry()

        def slow(ctx: HookContext) -> None:
            clock.advance_ms(80)  # beyond its 50 ms timeout

        def enrich(ctx: HookContext) -> HookResult:
            clock.advance_ms(30)
            return Modified({"score": 0.5, "raw": None})

        reg.register(slow, name="remote_slow", point=P, timeout_ms=50)
        reg.register(enrich, name="remote_enrich", point=P, priority=5)
        return Executor(reg, clock=clock)

    clock0 = VirtualClock()
    with Recorder(recorded_hooks(clock0), path) as rec:
        rec.execute(P, HookContext(P, {"raw": "x", "keep": 1}))

    clock = VirtualClock()
    stubs = ReplayStubs(clock)

    def stubbed(c: VirtualClock) -> Executor:
        reg = Registry()
        reg.register(stubs.stub("remote_slow"), name="remote_slow", point=P, timeout_ms=50)
        reg.register(stubs.stub("remote_enrich"), name="remote_enrich", point=P, priority=5)
        return Executor(reg, clock=c)

    ex = stubbed(clock)
    report = replay(read_recording(path), ex, clock, stubs=stubs)
    assert report.ok, str(report)
    assert clock.monotonic_ns() == 110 * MS

    # Without stubs, the real-code stand-in that takes no time does not time out: reported.
    def instant(c: VirtualClock) -> Executor:
        reg = Registry()
        reg.register(lambda ctx: None, name="remote_slow", point=P, timeout_ms=50)
        reg.register(
            lambda ctx: Modified({"score": 0.5, "raw": None}),
            name="remote_enrich",
            point=P,
            priority=5,
        )
        return Executor(reg, clock=c)

    report2 = replay(read_recording(path), instant, VirtualClock())
    assert [(h.hook, h.recorded, h.replayed) for h in report2.differences[0].hooks] == [
        ("remote_slow", Outcome.TIMEOUT.value, Outcome.CONTINUE.value)
    ]


def test_replay_argument_errors(tmp_path: Path) -> None:
    path = tmp_path / "rec.bin"
    record(path, [1], [0])
    with pytest.raises(InvalidArgument, match="clock: must be a VirtualClock"):
        replay(read_recording(path), build(), object())  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="clock: the executor reads another clock"):
        replay(read_recording(path), build()(VirtualClock()), VirtualClock())
    with pytest.raises(InvalidArgument, match="executor: must be an executor"):
        replay(read_recording(path), 42, VirtualClock())  # type: ignore[arg-type]


def test_unreadable_or_unwritable_paths_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="source: cannot read"):
        read_recording(tmp_path / "absent.bin")
    with pytest.raises(InvalidArgument, match="path: cannot open"):
        Recorder(build()(VirtualClock()), tmp_path / "no" / "such" / "dir.bin")


def test_append_continues_the_numbering(tmp_path: Path) -> None:
    path = tmp_path / "rec.bin"
    record(path, [1, 2], [0, 0])
    clock = VirtualClock()
    with Recorder(build()(clock), path, append=True) as rec:
        rec.execute(P, HookContext(P, {"n": 3}))
    assert [r.index for r in read_recording(path).records] == [1, 2, 3]
