"""StreamConnection, the worker connection of a gRPC stream, on its own (no gRPC): the outbox,
call multiplexing, timeouts, cancellation and close, as the Connect handler drives them."""

from __future__ import annotations

import asyncio

import pytest
from hookwire.runtime.adapter import HookTimedOut
from hookwire.runtime.clock import SystemClock
from hookwire.runtime.context import HookContext
from hookwire.runtime.results import Modified
from hookwire.runtime.wire.context import context_from_proto
from hookwire.runtime.wire.results import result_to_proto
from hookwire.runtime.worker_connection import StreamConnection, WorkerGone
from hookwire.v1 import executor_service_pb2 as es

_S = 1_000_000_000


def _conn() -> StreamConnection:
    return StreamConnection("c1", "w1", "javascript", clock=SystemClock())


def _answer(call_id: int, seen: int) -> es.HookCallResult:
    out = es.HookCallResult(call_id=call_id)
    out.result.CopyFrom(result_to_proto(Modified({"seen": seen})))
    return out


async def _next(it: object) -> es.ExecutorMessage:
    return await asyncio.wait_for(anext(it), 1.0)  # type: ignore[call-overload]


def test_outgoing_delivers_what_was_queued_before_close_then_ends() -> None:
    async def main() -> list[str]:
        conn = _conn()
        conn.send(es.ExecutorMessage(welcome=es.WorkerWelcome(connection_id="a")))
        conn.send(es.ExecutorMessage(cancel=es.CancelCall(call_id=7)))
        conn.close("bye")
        conn.send(es.ExecutorMessage(cancel=es.CancelCall(call_id=8)))  # after close: dropped
        return [m.WhichOneof("message") or "" async for m in conn.outgoing()]

    assert asyncio.run(main()) == ["welcome", "cancel"]


def test_answers_in_any_order_complete_their_own_calls() -> None:
    async def main() -> tuple[object, object]:
        conn = _conn()
        out = conn.outgoing()
        first = asyncio.create_task(conn.call("h", HookContext("session_start", {"n": 1}), 5 * _S))
        second = asyncio.create_task(conn.call("h", HookContext("session_start", {"n": 2}), _S))
        calls = [(await _next(out)).call, (await _next(out)).call]
        assert [context_from_proto(c.context).data for c in calls] == [{"n": 1}, {"n": 2}]
        assert (calls[0].timeout.seconds, calls[1].timeout.seconds) == (5, 1)
        assert conn.in_flight == 2
        assert conn.deliver(_answer(calls[1].call_id, 2))
        assert conn.deliver(_answer(calls[0].call_id, 1))
        assert not conn.deliver(_answer(calls[0].call_id, 1))  # already answered
        assert conn.in_flight == 0
        return await first, await second

    first, second = asyncio.run(main())
    assert isinstance(first, Modified) and first.data == {"seen": 1}
    assert isinstance(second, Modified) and second.data == {"seen": 2}


def test_a_call_past_its_timeout_fails_and_is_cancelled_on_the_worker() -> None:
    async def main() -> None:
        conn = _conn()
        out = conn.outgoing()
        task = asyncio.create_task(conn.call("slow", HookContext("session_start"), 20_000_000))
        call = (await _next(out)).call  # the stream took it: the worker has it
        with pytest.raises(HookTimedOut, match=r"did not answer within 0\.02 s"):
            await task
        cancel = await _next(out)
        assert cancel.WhichOneof("message") == "cancel"
        assert cancel.cancel.call_id == call.call_id
        assert conn.in_flight == 0
        assert not conn.deliver(_answer(call.call_id, 0))  # a late answer is ignored

    asyncio.run(main())


def test_a_call_that_times_out_before_it_was_sent_leaves_the_outbox_at_once() -> None:
    async def main() -> None:
        conn = _conn()
        with pytest.raises(HookTimedOut):
            await conn.call("slow", HookContext("session_start", {"x": "y" * 10_000}), 20_000_000)
        # Never sent: no bytes held for it, no CancelCall for a call the worker never saw.
        assert conn.queued_bytes == 0
        assert conn.in_flight == 0
        conn.close("bye")
        assert [m async for m in conn.outgoing()] == []

    asyncio.run(main())


def test_cancelling_the_caller_sends_cancel_and_leaves_no_timer() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        conn = _conn()
        out = conn.outgoing()
        task = asyncio.create_task(conn.call("h", HookContext("session_start"), 60 * _S))
        call = (await _next(out)).call
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        cancel = await _next(out)
        assert cancel.cancel.call_id == call.call_id
        assert conn.in_flight == 0
        # The 60 s timer was cancelled, not left to fire on an abandoned future.
        timers = [h for h in loop._scheduled if not h.cancelled()]  # type: ignore[attr-defined]
        assert timers == []

    asyncio.run(main())


def test_close_fails_every_call_in_flight_with_worker_gone() -> None:
    async def main() -> None:
        conn = _conn()
        calls = [
            asyncio.create_task(conn.call("h", HookContext("session_start"), 5 * _S))
            for _ in range(3)
        ]
        await asyncio.sleep(0)
        assert conn.in_flight == 3
        conn.close("worker 'w1' disconnected")
        for task in calls:
            with pytest.raises(WorkerGone, match="w1' disconnected"):
                await task
        with pytest.raises(WorkerGone):
            await conn.call("h", HookContext("session_start"), 5 * _S)

    asyncio.run(main())


def test_one_timer_serves_every_deadline_and_answered_calls_do_not_pile_up() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        conn = _conn()
        out = conn.outgoing()

        async def answered(n: int) -> None:
            task = asyncio.create_task(conn.call("h", HookContext("session_start"), 60 * _S))
            call = (await _next(out)).call
            assert conn.deliver(_answer(call.call_id, n))
            await task

        for n in range(2000):
            await answered(n)
        live = [h for h in loop._scheduled if not h.cancelled()]  # type: ignore[attr-defined]
        assert len(live) == 1  # one timer for the connection, not one per call
        # Answered calls' deadlines are dropped as they accumulate, not kept for 60 s.
        assert len(conn._deadlines) <= 2 * conn.in_flight + 257
        # A shorter deadline than the armed 60 s one still fires on time.
        began = loop.time()
        with pytest.raises(HookTimedOut, match=r"within 0\.03 s"):
            await conn.call("slow", HookContext("session_start"), 30_000_000)
        assert 0.025 <= loop.time() - began < 5.0
        # A long call in flight keeps its deadline after a short one expired before it.
        long_call = asyncio.create_task(conn.call("h", HookContext("session_start"), 60 * _S))
        short = asyncio.create_task(conn.call("h", HookContext("session_start"), 20_000_000))
        with pytest.raises(HookTimedOut):
            await short
        assert not long_call.done() and conn.in_flight == 1
        conn.close("done")
        with pytest.raises(WorkerGone):
            await long_call
        assert [h for h in loop._scheduled if not h.cancelled()] == []  # type: ignore[attr-defined]

    asyncio.run(main())
