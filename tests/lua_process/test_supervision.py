"""The supervisor: crashes, malformed frames, runaway hooks, backoff on the runtime clock."""

from __future__ import annotations

import concurrent.futures
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from hookwire.runtime.clock import VirtualClock
from hookwire.runtime.context import HookContext
from hookwire.runtime.executor import Executor
from hookwire.runtime.lua_process import LuaProcessWorker, WorkerGone
from hookwire.runtime.registry import Registry
from hookwire.runtime.results import Cancel
from hookwire.runtime.trace import Execution

HERE = Path(__file__).resolve().parent
HookFile = Callable[[str, str], Path]

SLOW_AND_FAST = (
    'hookwire.register("custom:slow", function() while true do end end,'
    ' {name = "slow", timeout_ms = 20000})\n'
    'hookwire.register("session_start", function(ctx) return hookwire.cancel("up") end,'
    ' {name = "fast"})\n'
)


def ctx(point: str = "session_start") -> HookContext:
    return HookContext(point)


def wait_until(cond: Callable[[], bool], what: str, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def test_crash_mid_call_fails_the_call_at_once_then_restarts_with_backoff(
    hook_file: HookFile, workers: list[LuaProcessWorker]
) -> None:
    clock = VirtualClock()
    reg = Registry()
    w = LuaProcessWorker(
        [hook_file("h.lua", SLOW_AND_FAST)],
        registry=reg,
        clock=clock,
        blocking=True,
        backoff_initial_ms=100,
        backoff_multiplier=2,
    )
    workers.append(w)
    w.start()
    ex = Executor(reg, clock=clock)
    out: list[Execution] = []
    caller = threading.Thread(
        target=lambda: out.append(ex.execute("custom:slow", ctx("custom:slow")))
    )
    caller.start()
    wait_until(lambda: w.in_flight == 1, "the call to be in flight")
    time.sleep(0.2)  # the frame is written and the hook is spinning
    first_pid = w.pid
    assert first_pid is not None
    killed_at = time.monotonic()
    os.kill(first_pid, signal.SIGKILL)
    caller.join(10)
    assert not caller.is_alive()
    # Failed at once (not at the 20 s timeout), as ERROR naming the death.
    assert time.monotonic() - killed_at < 5
    [entry] = out[0].trace
    assert entry.outcome.value == "ERROR"
    assert "the Lua worker exited with status -9 (running hook 'slow', call 1)" in entry.reason
    assert not w.running and w.in_flight == 0

    # Within the backoff (100 ms of runtime clock): refused at once, no new process.
    fast = w.adapter("fast")
    with pytest.raises(
        WorkerGone,
        match=r"is down \(the Lua worker exited with status -9 \(running hook 'slow', call 1\)\);"
        r" restart in 100 ms",
    ):
        fast.call(ctx(), 100_000_000)
    clock.advance_ms(99)
    with pytest.raises(WorkerGone, match="restart in 1 ms"):
        fast.call(ctx(), 100_000_000)
    assert w.starts == 1

    # After it: restarted, the same hooks served and registered.
    clock.advance_ms(1)
    assert fast.call(ctx(), 1_000_000_000) == Cancel("up")
    assert w.starts == 2 and w.pid not in (None, first_pid)
    assert sorted(s.name for s in reg.hooks()) == ["fast", "slow"]
    assert ex.execute("session_start", ctx()).result == Cancel("up")

    # Deaths with no answered call in between double the backoff: 100 ms, then 200 ms.
    for backoff_ms in (100, 200):
        os.kill(w.pid or 0, signal.SIGKILL)
        wait_until(lambda: not w.running, "the death to be noticed")
        with pytest.raises(WorkerGone, match=f"restart in {backoff_ms} ms"):
            fast.call(ctx(), 100_000_000)
        clock.advance_ms(backoff_ms)
        w.start()  # restarted by hand: no call answered, so the backoff is not reset


@pytest.mark.parametrize(
    ("mode", "problem"),
    [
        ("garbage", "malformed frame from the Lua worker: not a WorkerMessage"),
        ("oversize", "malformed frame from the Lua worker: a frame of 1099511627776 bytes exceeds"),
        (
            "truncated",
            "malformed frame from the Lua worker: the stream ended 3 bytes into a frame of 100"
            " bytes",
        ),
    ],
)
def test_malformed_frame_fails_clearly_and_restarts(
    workers: list[LuaProcessWorker], mode: str, problem: str
) -> None:
    clock = VirtualClock()
    reg = Registry()
    w = LuaProcessWorker(
        [],
        registry=reg,
        clock=clock,
        blocking=True,
        worker_id=mode,
        worker_script=HERE / "bad_worker.lua",
        backoff_initial_ms=50,
    )
    workers.append(w)
    w.start()
    ex = Executor(reg, clock=clock)
    started = time.monotonic()
    [entry] = ex.execute("session_start", ctx()).trace
    assert time.monotonic() - started < 5  # nothing hangs
    assert entry.outcome.value == "ERROR"
    assert problem in entry.reason
    assert w.last_failure is not None and problem in w.last_failure
    first = w.starts
    clock.advance_ms(50)
    # The bad worker misbehaves again after its restart; the restart itself happened.
    assert problem in ex.execute("session_start", ctx()).trace[0].reason
    assert w.starts == first + 1


def test_runaway_hook_is_stopped_by_the_worker_and_the_process_kept(
    hook_file: HookFile, workers: list[LuaProcessWorker]
) -> None:
    reg = Registry()
    code = (
        'hookwire.register("session_start", function() while true do end end,'
        ' {name = "spin", timeout_ms = 50})\n'
        'hookwire.register("session_start", function() return hookwire.cancel("after") end,'
        ' {name = "next", priority = 1, timeout_ms = 5000})\n'
    )
    w = LuaProcessWorker([hook_file("h.lua", code)], registry=reg, blocking=True)
    workers.append(w)
    w.start()
    pid = w.pid
    execution = Executor(reg).execute("session_start", ctx())
    assert [(e.hook_name, e.outcome.value) for e in execution.trace] == [
        ("spin", "TIMEOUT"),
        ("next", "CANCEL"),
    ]
    # The worker answered the budget stop itself: same process, no failure recorded. ("next"
    # has a long timeout: it waits in the pipe until the worker's CPU budget for "spin" ends,
    # which on a busy machine is later in wall time than spin's deadline.)
    time.sleep(0.1)
    assert (w.pid, w.starts, w.last_failure) == (pid, 1, None)


def test_a_worker_that_stays_silent_is_killed_after_the_grace_period(
    workers: list[LuaProcessWorker],
) -> None:
    # The real worker answers budget-stopped hooks itself; one that does not (a hook stuck in
    # a C function the count hook cannot reach) is played here by bad_worker.lua "silent".
    reg = Registry()
    w = LuaProcessWorker(
        [],
        registry=reg,
        blocking=True,
        worker_id="silent",
        worker_script=HERE / "bad_worker.lua",
        kill_grace_ms=200,
        backoff_initial_ms=0,
    )
    workers.append(w)
    w.start()
    pid = w.pid
    started = time.monotonic()
    [entry] = Executor(reg).execute("session_start", ctx()).trace
    assert (entry.outcome.value, entry.reason) == ("TIMEOUT", "timeout")
    assert time.monotonic() - started < 2
    wait_until(lambda: not w.running, "the silent worker to be killed", 5)
    assert w.last_failure is not None
    assert "call 1 was not answered 0.2 s after its deadline" in w.last_failure
    # The next call starts a fresh process (backoff 0).
    Executor(reg).execute("session_start", ctx())
    assert w.starts == 2 and w.pid != pid


def test_virtual_clock_needs_a_virtual_clock(hook_file: HookFile) -> None:
    from hookwire.runtime.errors import InvalidArgument

    with pytest.raises(InvalidArgument, match="virtual_clock: needs clock to be a VirtualClock"):
        LuaProcessWorker([hook_file("h.lua", "")], virtual_clock=True)


def test_missing_interpreter_is_a_clear_error(hook_file: HookFile) -> None:
    from hookwire.runtime.lua_process import LuaWorkerError

    w = LuaProcessWorker([hook_file("h.lua", "")], lua="/nonexistent/lua5.4")
    with pytest.raises(LuaWorkerError, match=r"cannot start '/nonexistent/lua5\.4'"):
        w.start()


def test_memory_limit_fails_the_hook_and_keeps_the_worker(
    hook_file: HookFile, workers: list[LuaProcessWorker]
) -> None:
    reg = Registry()
    code = (
        'hookwire.register("session_start", function()'
        " local t = {} for i = 1, 1e9 do t[i] = string.rep('x', 4096) .. i end end,"
        ' {name = "hog", timeout_ms = 20000})\n'
        'hookwire.register("custom:ok", function() return hookwire.skipped("fine") end,'
        ' {name = "ok"})\n'
    )
    w = LuaProcessWorker(
        [hook_file("h.lua", code)], registry=reg, blocking=True, memory_limit=64 << 20
    )
    workers.append(w)
    w.start()
    pid = w.pid
    [entry] = Executor(reg).execute("session_start", ctx()).trace
    assert (entry.outcome.value, entry.reason) == ("ERROR", "Lua worker out of memory")
    [entry] = Executor(reg).execute("custom:ok", ctx("custom:ok")).trace
    assert (entry.outcome.value, entry.reason) == ("SKIPPED", "fine")
    assert (w.pid, w.starts) == (pid, 1)


def test_concurrent_callers_across_a_crash_all_finish(
    hook_file: HookFile, workers: list[LuaProcessWorker]
) -> None:
    reg = Registry()
    code = (
        'hookwire.register("session_start", function(ctx)'
        " local n = 0 for i = 1, 20000 do n = n + i end"
        " return hookwire.modified{n = ctx.data.i} end,"
        ' {name = "work", timeout_ms = 5000})\n'
    )
    w = LuaProcessWorker(
        [hook_file("h.lua", code)], registry=reg, blocking=True, backoff_initial_ms=0
    )
    workers.append(w)
    w.start()
    ex = Executor(reg)
    outcomes: list[tuple[int, str, str]] = []
    lock = threading.Lock()

    def caller(k: int) -> None:
        for j in range(25):
            i = k * 100 + j
            e = ex.execute("session_start", HookContext("session_start", {"i": i}))
            entry = e.trace[0]
            with lock:
                outcomes.append((i, entry.outcome.value, entry.reason))
                if entry.outcome.value == "MODIFIED":
                    assert e.context.data == {"i": i, "n": i}  # answers matched by call_id

    threads = [threading.Thread(target=caller, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    wait_until(lambda: len(outcomes) >= 20, "some calls to complete")
    os.kill(w.pid or 0, signal.SIGKILL)
    for t in threads:
        t.join(30)
    assert not any(t.is_alive() for t in threads)
    assert len(outcomes) == 150
    kinds = {o for _, o, _ in outcomes}
    assert "MODIFIED" in kinds
    for _, outcome, reason in outcomes:
        if outcome != "MODIFIED":
            assert outcome in ("ERROR", "SKIPPED"), reason
            assert outcome == "SKIPPED" or "Lua worker" in reason, reason
    # The worker came back for the calls after the crash.
    assert w.starts >= 2


STUCK_AND_FAST = (
    'hookwire.register("custom:stuck", function() while true do end end,'
    ' {name = "stuck", timeout_ms = 100})\n'
    'hookwire.register("session_start", function(ctx) return hookwire.cancel("up " .. ctx.data.n)'
    " end, {name = 'fast'})\n"
)


def stuck_worker(path: Path) -> LuaProcessWorker:
    # check_every=2^40: the instruction budget never runs, so "stuck" plays a hook stuck in a
    # C function (what the sandbox's budget cannot stop is what the kill is for).
    return LuaProcessWorker(
        [path], blocking=True, kill_grace_ms=200, check_every=1 << 40, backoff_initial_ms=10_000
    )


def test_calls_queued_behind_a_stuck_hook_run_on_the_restarted_worker(
    hook_file: HookFile, workers: list[LuaProcessWorker]
) -> None:
    w = stuck_worker(hook_file("h.lua", STUCK_AND_FAST))
    workers.append(w)
    w.start()
    pid = w.pid
    stuck_id, stuck = w.submit("stuck", HookContext("custom:stuck"), 100 * 1_000_000)
    queued = [
        w.submit("fast", HookContext("session_start", {"n": i}), 20 * 1_000_000_000)[1]
        for i in range(3)
    ]
    with pytest.raises(concurrent.futures.TimeoutError):
        stuck.result(0.1)
    w.abandon(stuck_id)  # what the adapter does at the deadline
    # The queued calls had not started: they run, in order, on the restarted process.
    answers = [f.result(20).result.cancel.reason for f in queued]
    assert answers == ["up 0", "up 1", "up 2"]
    assert w.starts == 2 and w.pid != pid
    assert w.last_failure is not None and "hook 'stuck' is stuck" in w.last_failure


def test_calls_queued_behind_a_stuck_hook_fail_naming_it_when_the_restart_fails(
    hook_file: HookFile, workers: list[LuaProcessWorker]
) -> None:
    path = hook_file("h.lua", STUCK_AND_FAST)
    w = stuck_worker(path)
    workers.append(w)
    w.start()
    stuck_id, _ = w.submit("stuck", HookContext("custom:stuck"), 100 * 1_000_000)
    _, queued = w.submit("fast", HookContext("session_start", {"n": 1}), 20 * 1_000_000_000)
    path.write_text("this is not Lua")  # the restarted process cannot load its hooks
    time.sleep(0.1)
    w.abandon(stuck_id)
    with pytest.raises(WorkerGone) as info:
        queued.result(20)
    message = str(info.value)
    assert "this call to 'fast' was queued behind hook 'stuck'" in message
    assert "restarting it failed" in message


def test_the_workers_stop_never_escapes_the_run_even_checked_every_instruction(
    hook_file: HookFile, workers: list[LuaProcessWorker]
) -> None:
    # A count hook at every instruction lands in the sandbox's own code after the protected
    # call; it must not raise there (that would answer "hookwire.WorkerError: timeout").
    path = hook_file("h.lua", SLOW_AND_FAST.replace("timeout_ms = 20000", "timeout_ms = 50"))
    w = LuaProcessWorker([path], blocking=True, check_every=1)
    workers.append(w)
    w.start()
    for _ in range(3):
        _, future = w.submit("slow", HookContext("custom:slow"), 50 * 1_000_000)
        answer = future.result(30)
        assert (answer.error.type, answer.error.message) == ("hookwire.Timeout", "timeout")
