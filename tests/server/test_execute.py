"""Execute, ListHooks, breakers, bad requests, deadlines and distributed context over gRPC."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import grpc
import pytest
from hookwire.runtime.context import HookContext
from hookwire.runtime.errors import DeadlineExceeded, InvalidArgument, NotFound
from hookwire.runtime.registry import FailurePolicy
from hookwire.runtime.results import Cancel, Modified, Outcome
from hookwire.runtime.server.server import HookwireServer, ServerThread
from hookwire.sdk import Client
from hookwire.v1 import executor_service_pb2 as es
from hookwire.v1 import executor_service_pb2_grpc as es_grpc
from hookwire.v1 import hook_pb2

StartServer = Callable[..., ServerThread]
POINT = "before_tool_execution"


def _chain(server: HookwireServer) -> None:
    reg = server.registry
    reg.register(lambda ctx: Modified({"b": ctx.data["a"] + 1}), name="second", point=POINT)
    reg.register(lambda ctx: Modified({"a": 10}), name="first", point=POINT, priority=-100)
    reg.register(
        lambda ctx: Modified({"c": ctx.data["b"] * 2, "a": None}),
        name="third",
        point=POINT,
        priority=100,
    )


def test_execute_runs_local_hooks_in_priority_order(start_server: StartServer) -> None:
    st = start_server(_chain)
    with Client(st.address) as client:
        execution = client.execute(POINT, {"a": 1, "keep": "x"})
    assert [t.hook_name for t in execution.trace] == ["first", "second", "third"]
    assert [t.outcome for t in execution.trace] == [Outcome.MODIFIED] * 3
    assert execution.result == Modified({"keep": "x", "b": 11, "c": 22})
    assert execution.context.data == {"keep": "x", "b": 11, "c": 22}


def test_execute_stopping_result_and_fail_closed(start_server: StartServer) -> None:
    def setup(server: HookwireServer) -> None:
        def boom(ctx: HookContext) -> None:
            raise RuntimeError("kaput")

        server.registry.register(
            boom, name="boom", point="custom:pay", failure_policy=FailurePolicy.FAIL_CLOSED
        )
        server.registry.register(
            lambda ctx: Cancel("never"), name="after", point="custom:pay", priority=5
        )

    st = start_server(setup)
    with Client(st.address) as client:
        execution = client.execute("custom:pay", {})
    assert execution.result == Cancel("hook boom failed: kaput")
    assert [(t.hook_name, t.outcome, t.reason) for t in execution.trace] == [
        ("boom", Outcome.ERROR, "kaput")
    ]


def test_execute_with_no_hooks_is_continue(start_server: StartServer) -> None:
    st = start_server()
    with Client(st.address) as client:
        execution = client.execute("session_start", {"x": 1})
    assert execution.result.kind == "CONTINUE"
    assert execution.trace == []


def _raw_stub(address: str) -> tuple[grpc.Channel, es_grpc.ExecutorServiceStub]:
    channel = grpc.insecure_channel(address)
    return channel, es_grpc.ExecutorServiceStub(channel)


def test_bad_requests_name_the_field_and_server_stays_up(start_server: StartServer) -> None:
    st = start_server(_chain)
    channel, stub = _raw_stub(st.address)
    with channel:
        cases: list[tuple[es.ExecuteRequest, str]] = []
        cases.append((es.ExecuteRequest(), "context: is required"))
        cases.append((es.ExecuteRequest(context=hook_pb2.HookContext(point=999)), "context.point"))  # type: ignore[arg-type]
        unspecified = es.ExecuteRequest(context=hook_pb2.HookContext())
        cases.append((unspecified, "context.point"))
        bad_custom = es.ExecuteRequest(
            context=hook_pb2.HookContext(point=hook_pb2.HOOK_POINT_CUSTOM, custom_point="a b")
        )
        cases.append((bad_custom, "custom_point"))
        bad_data = es.ExecuteRequest(
            context=hook_pb2.HookContext(point=hook_pb2.HOOK_POINT_SESSION_START)
        )
        bad_data.context.data.fields["n"].number_text = "12abc"
        cases.append((bad_data, "context.data"))
        for request, needle in cases:
            with pytest.raises(grpc.RpcError) as info:
                stub.Execute(request, timeout=5)
            assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT, request
            assert needle in (info.value.details() or ""), info.value.details()
        # Still serving.
        ok = stub.Execute(
            es.ExecuteRequest(
                context=hook_pb2.HookContext(
                    point=hook_pb2.HOOK_POINT_BEFORE_TOOL_EXECUTION, data=_obj({"a": 1})
                )
            ),
            timeout=5,
        )
        assert len(ok.execution.trace) == 3


def _obj(data: dict[str, Any]) -> Any:
    from hookwire.runtime.wire.json import to_proto_object

    return to_proto_object(data)


def test_deadline_exceeded_on_slow_chain(start_server: StartServer) -> None:
    def setup(server: HookwireServer) -> None:
        async def slow(ctx: HookContext) -> None:
            await asyncio.sleep(3)

        server.registry.register(slow, name="slow", point=POINT, timeout_ms=10_000)

    st = start_server(setup)
    with Client(st.address) as client:
        began = time.monotonic()
        with pytest.raises(DeadlineExceeded):
            client.execute(POINT, {}, timeout=0.3)
        assert time.monotonic() - began < 2.0
        # The server is still fine afterwards.
        assert client.list_hooks(POINT)[0].name == "slow"


def test_correlation_id_and_traceparent_from_metadata(start_server: StartServer) -> None:
    seen: list[HookContext] = []

    def setup(server: HookwireServer) -> None:
        server.registry.register(seen.append, name="spy", point=POINT)

    st = start_server(setup)
    tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    with Client(st.address, correlation_id="run-42", traceparent=tp) as client:
        client.execute(POINT, {})
        # A correlation id set in the message wins over metadata.
        client.execute(POINT, HookContext(POINT, correlation_id="explicit"))
    assert seen[0].correlation_id == "run-42"
    assert seen[0].distributed is not None and seen[0].distributed.traceparent == tp
    assert seen[1].correlation_id == "explicit"
    with (
        Client(st.address, traceparent="00-zz-bad-01") as client,
        pytest.raises(InvalidArgument) as info,
    ):
        client.execute(POINT, {})
    assert info.value.field == "metadata.traceparent"


def test_list_hooks_breakers_and_reset(start_server: StartServer) -> None:
    def setup(server: HookwireServer) -> None:
        _chain(server)
        server.registry.register(
            lambda ctx: None, name="tagged", point="session_start", tags=("audit", "x")
        )

        def failing(ctx: HookContext) -> None:
            raise ValueError("no")

        server.registry.register(failing, name="failing", point="session_end")

    st = start_server(setup)
    with Client(st.address) as client:
        assert [h.name for h in client.list_hooks(POINT)] == ["first", "second", "third"]
        assert {h.name for h in client.list_hooks()} == {
            "first",
            "second",
            "third",
            "tagged",
            "failing",
        }
        for _ in range(5):
            client.execute("session_end", {})
        states = client.breaker_states("failing")
        assert states["failing"].state == "OPEN"
        assert states["failing"].window_failures == 5
        reset = client.reset_breaker("failing")
        assert reset.state == "CLOSED" and reset.window_calls == 0
        assert len(client.breaker_states()) == 5
        with pytest.raises(NotFound) as info:
            client.reset_breaker("nope")
        assert info.value.field == "hook_name"
        with pytest.raises(NotFound) as info2:
            client.breaker_states("first", "ghost")
        assert info2.value.field == "hook_names[1]"
    channel, stub = _raw_stub(st.address)
    with channel:
        resp = stub.ListHooks(es.ListHooksRequest(tags=["audit"]))
        assert [h.name for h in resp.hooks] == ["tagged"]
