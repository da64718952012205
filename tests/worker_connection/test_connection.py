"""One worker connection, two transports: the gRPC stream's (`StreamConnection`) and the stdio
process's (`PipeConnection`) are the same `WorkerConnection`, so the same answer means the same
thing on both, and a dead peer, a late answer or an abandoned call are handled once."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from hookwire.runtime.adapter import HookFailed, HookTimedOut, InvalidResult
from hookwire.runtime.clock import SystemClock, VirtualClock
from hookwire.runtime.context import HookContext
from hookwire.runtime.errors import HookwireError, InvalidArgument
from hookwire.runtime.results import Modified
from hookwire.runtime.wire.results import result_to_proto
from hookwire.runtime.worker_connection import (
    PipeConnection,
    StreamConnection,
    WorkerConnection,
    WorkerGone,
    publish_events,
)
from hookwire.v1 import event_pb2
from hookwire.v1 import executor_service_pb2 as es

_MS = 1_000_000


@pytest.fixture
def pipe() -> Iterator[PipeConnection]:
    """A PipeConnection to a child that reads its stdin and never answers."""
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.buffer.read()"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deaths: list[str] = []
    conn = PipeConnection(
        proc,
        "p#1",
        "w1",
        "lua",
        clock=SystemClock(),
        virtual=False,
        lock=threading.RLock(),
        call_ids=iter(range(1, 1000)),
        on_publish=lambda events: es.PublishAck(),
        on_death=lambda c, reason: deaths.append(reason),
        log=logging.getLogger("test.pipe"),
    )
    try:
        yield conn
    finally:
        conn.end("test over")


def _error(call_id: int, type_: str, message: str, invalid: bool = False) -> es.HookCallResult:
    return es.HookCallResult(
        call_id=call_id, error=es.HookError(type=type_, message=message, invalid_result=invalid)
    )


ANSWERS: list[tuple[es.HookCallResult, type[Exception], str]] = [
    (_error(0, "hookwire.NotFound", "no hook named 'x'"), HookFailed, "no hook named 'x'"),
    (_error(0, "TypeError", ""), HookFailed, "TypeError"),
    (_error(0, "", "bad value", invalid=True), InvalidResult, "bad value"),
    (_error(0, "hookwire.Timeout", "timeout"), HookTimedOut, "timeout"),
    (es.HookCallResult(call_id=0), InvalidResult, "neither result nor error"),
]


@pytest.mark.parametrize(("answer", "error", "text"), ANSWERS)
def test_the_same_answer_means_the_same_on_both_transports(
    pipe: PipeConnection, answer: es.HookCallResult, error: type[Exception], text: str
) -> None:
    stream = StreamConnection("s#1", "w1", "javascript", clock=SystemClock())
    for conn in (stream, pipe):
        assert isinstance(conn, WorkerConnection)
        with pytest.raises(error, match=text) as info:
            conn.outcome("x", answer)
        # The reason is the worker's message alone (its error type only when it sent none).
        assert not str(info.value).startswith("hookwire.")


def test_a_result_and_virtual_time_are_read_the_same_way() -> None:
    clock = VirtualClock()
    answer = es.HookCallResult(call_id=1)
    answer.result.CopyFrom(result_to_proto(Modified({"seen": 1})))
    answer.clock_advance.nanos = 5 * _MS
    conn = StreamConnection("s#1", "w1", "python", clock=clock, virtual=True)
    t0 = clock.monotonic_ns()
    assert conn.outcome("x", answer) == Modified({"seen": 1})
    assert clock.monotonic_ns() - t0 == 5 * _MS
    with pytest.raises(HookwireError, match="real clock"):
        StreamConnection("s#2", "w1", "python", clock=SystemClock(), virtual=True)


def test_pipe_calls_fail_at_once_when_the_connection_closes(pipe: PipeConnection) -> None:
    call_id, future = pipe.submit("h", HookContext("session_start"), 100 * _MS)
    assert (pipe.in_flight, list(pipe.calls)) == (1, [call_id])
    # A late or unknown answer is ignored.
    assert not pipe.deliver(_error(call_id + 50, "", "late"))
    pipe.end("the Lua worker was stopped")
    with pytest.raises(WorkerGone, match="stopped"):
        future.result(1)
    with pytest.raises(WorkerGone, match="stopped"):
        pipe.submit("h", HookContext("session_start"), 100 * _MS)


def test_an_abandoned_pipe_call_is_cancelled_and_its_late_answer_ignored(
    pipe: PipeConnection,
) -> None:
    call_id, future = pipe.submit("h", HookContext("session_start"), 100 * _MS)
    assert pipe.abandon(call_id) and call_id in pipe.overdue and pipe.in_flight == 0
    assert not pipe.abandon(call_id)
    assert not pipe.deliver(_error(call_id, "", "late"))
    assert call_id not in pipe.overdue and not future.done()


def test_a_stream_call_abandoned_before_it_was_sent_needs_no_cancel() -> None:
    async def main() -> list[str]:
        conn = StreamConnection("s#1", "w1", "javascript", clock=SystemClock())
        task = asyncio.create_task(conn.call("h", HookContext("session_start"), 20 * _MS))
        await asyncio.sleep(0)
        assert conn.queued_messages == 1 and conn.queued_bytes > 0
        with pytest.raises(HookTimedOut):
            await task  # nobody drained the stream: the call was never sent
        assert (conn.in_flight, conn.queued_bytes) == (0, 0)
        conn.send(es.ExecutorMessage(welcome=es.WorkerWelcome(connection_id="s#1")))
        conn.close("done")
        return [m.WhichOneof("message") or "" async for m in conn.outgoing()]

    assert asyncio.run(main()) == ["welcome"]


def test_published_events_are_stamped_with_the_worker_language() -> None:
    pbs = [event_pb2.UniversalEvent(type="a.b"), event_pb2.UniversalEvent(type="c.d")]
    pbs[1].source_language = "LANGUAGE_PYTHON"  # type: ignore[assignment]
    events = publish_events(pbs, "lua")
    assert [(e.type, e.source_language) for e in events] == [("a.b", "lua"), ("c.d", "python")]
    bad = event_pb2.UniversalEvent(type="a.b")
    bad.ttl.seconds = -1
    with pytest.raises(InvalidArgument) as info:
        publish_events([pbs[0], bad], "lua")
    assert info.value.field == "publish.events[1].ttl"


def test_a_waiter_that_gave_up_does_not_break_delivery() -> None:
    class Recorder(WorkerConnection):
        def send(self, message: es.ExecutorMessage) -> None:
            pass

    conn = Recorder("c", "w", "lua", clock=SystemClock())
    future: concurrent.futures.Future[es.HookCallResult] = concurrent.futures.Future()
    call_id, _ = conn.start_call("h", HookContext("session_start"), _MS, future)
    future.cancel()
    assert not conn.deliver(_error(call_id, "", "x"))
    conn.close("gone")
    assert conn.closed_reason == "gone"


class LuaHookless:
    """A HookAdapter that answers nothing (registration never calls it)."""

    language = "lua"
    is_async = False

    def call(self, ctx: HookContext, timeout_ns: int) -> Any:
        raise AssertionError("not called")

    async def acall(self, ctx: HookContext, timeout_ns: int) -> Any:
        raise AssertionError("not called")


class _Recorder(WorkerConnection):
    def send(self, message: es.ExecutorMessage) -> None:
        pass


def _register_request(*names: str) -> es.RegisterHooks:
    from hookwire.v1 import hook_pb2

    request = es.RegisterHooks(request_id=7)
    for name in names:
        request.hooks.add(name=name, point=hook_pb2.HOOK_POINT_SESSION_START)
    return request


def _drain(steps: Iterator[None]) -> tuple[es.RegisterHooksAck, list[Any]]:
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]


def test_registration_is_all_or_nothing_and_leaves_with_the_connection() -> None:
    from hookwire.runtime.registry import HookSpec, Registry

    registry = Registry()
    registry.register(lambda ctx: None, name="taken", point="session_start")
    conn = _Recorder("c", "w", "lua", clock=SystemClock())

    def adapter(spec: HookSpec) -> LuaHookless:
        return LuaHookless()

    ack, _ = _drain(conn.registration(registry, _register_request("a", "taken"), adapter))
    assert (ack.request_id, ack.code) == (7, "ALREADY_EXISTS")
    assert ack.error.startswith("hooks[1].name:")
    assert "a" not in registry and conn.hook_names == set()
    ack, specs = _drain(conn.registration(registry, _register_request("a", "b"), adapter))
    assert ack.error == "" and [s.language for s in specs] == ["lua", "lua"]
    assert conn.hook_names == {"a", "b"} and "a" in registry
    # A later run of the same worker keeps what an earlier one registered.
    again = _Recorder("c2", "w", "lua", clock=SystemClock())
    ack, _ = _drain(again.registration(registry, _register_request("a", "c"), adapter, kept=["a"]))
    assert ack.error == "" and again.hook_names == {"c"}
    ack = conn.unregister(registry, es.UnregisterHooks(request_id=8, names=["c"]))
    assert ack.code == "NOT_FOUND" and "c" in registry
    conn.unregister_all(registry)
    assert "a" not in registry and "b" not in registry and "c" in registry


def test_registration_stops_when_the_connection_closes_between_slices() -> None:
    from hookwire.runtime.registry import Registry
    from hookwire.runtime.worker_connection.connection import REGISTER_SLICE

    registry = Registry()
    conn = _Recorder("c", "w", "python", clock=SystemClock())
    names = [f"h{i}" for i in range(REGISTER_SLICE * 2 + 1)]
    steps = conn.registration(registry, _register_request(*names), lambda spec: LuaHookless())
    next(steps)  # the first slice is read; the host's loop would run here
    conn.close("worker gone")
    ack, _ = _drain(steps)
    assert (ack.code, ack.error) == (
        "FAILED_PRECONDITION",
        "hooks: the worker disconnected during registration",
    )
    assert not any(name in registry for name in names)
