"""Over gRPC: composite children's breakers are read and reset by qualified name
(GetBreakerState / ResetBreaker), and ListHooks carries each hook's honoured result kinds."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hookwire.runtime.composite import Composite
from hookwire.runtime.context import HookContext
from hookwire.runtime.errors import NotFound
from hookwire.runtime.registry import HookSpec
from hookwire.runtime.server.config import ServerConfig
from hookwire.runtime.server.server import HookwireServer, ServerThread
from hookwire.sdk import Client
from hookwire.v1 import hook_pb2


def _flaky(ctx: HookContext) -> None:
    raise RuntimeError("down")


def _setup(server: HookwireServer) -> None:
    child = HookSpec("flaky", "before_tool_execution")
    server.registry.register(
        Composite("SEQUENTIAL", [(child, _flaky)]), name="guard", point="before_tool_execution"
    )
    server.registry.register(lambda ctx: None, name="audit", point="custom:pay", honours=["CANCEL"])


@pytest.fixture
def server() -> Iterator[ServerThread]:
    st = ServerThread(_setup, config=ServerConfig(port=0, shutdown_grace_s=1.0))
    st.start()
    try:
        yield st
    finally:
        st.stop(grace_s=1.0)


def test_child_breaker_by_qualified_name(server: ServerThread) -> None:
    with Client(server.address) as client:
        for _ in range(5):
            client.execute("before_tool_execution", {})
        states = client.breaker_states("guard/flaky", "guard")
        assert states["guard/flaky"].state == "OPEN"
        assert states["guard/flaky"].window_failures == 5
        assert states["guard"].state == "CLOSED"
        assert "guard/flaky" in client.breaker_states()  # listing every breaker
        reset = client.reset_breaker("guard/flaky")
        assert reset.state == "CLOSED" and reset.window_calls == 0
        with pytest.raises(NotFound) as info:
            client.reset_breaker("guard/ghost")
        assert "guard/ghost" in str(info.value)


def test_list_hooks_carries_the_honoured_kinds(server: ServerThread) -> None:
    with Client(server.address) as client:
        hooks = {h.name: list(h.honoured_results) for h in client.list_hooks()}
    assert hook_pb2.HOOK_OUTCOME_REDIRECT in hooks["guard"]  # before_*: every kind
    assert hooks["audit"] == [
        hook_pb2.HOOK_OUTCOME_CONTINUE,
        hook_pb2.HOOK_OUTCOME_CANCEL,
        hook_pb2.HOOK_OUTCOME_SKIPPED,
    ]
