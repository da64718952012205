"""Over NATS JetStream the executor's `hookwire.hook.executed` events are committed right after
each execution (other hosts read the stream, so deferring them could be told): a subscriber on
another host gets them while the executing host's bus is never read."""

from __future__ import annotations

from typing import Any

from hookwire.runtime.context import HookContext
from hookwire.runtime.executor import Executor
from hookwire.runtime.registry import Registry

from tests.nats.support import poll_events

POINT = "before_tool_execution"


def test_another_host_sees_each_execution_without_any_read_here(host_bus: Any) -> None:
    seen = host_bus().subscribe("hookwire.hook.executed")
    host_a = host_bus()
    reg = Registry()
    reg.register(lambda ctx: None, name="a", point=POINT, priority=1)
    reg.register(lambda ctx: None, name="b", point=POINT, priority=2)
    ex = Executor(reg, events=host_a)
    ex.execute(POINT, HookContext(POINT))
    events = poll_events(seen, 2)
    assert [e.payload["hook"] for e in events] == ["a", "b"]
