"""Over NATS JetStream the executor's `hookwire.hook.executed` events are committed right after
each execution (other hosts read the stream, so deferring them could be told): a subscriber on
another host gets them while the executing host's bus is never read."""

from __future__ import annotations

import time
from typing import Any

from hookwire.runtime.context import HookContext
from hookwire.runtime.executor import Executor
from hookwire.runtime.registry import Registry

POINT = "before_tool_execution"


def test_another_host_sees_each_execution_without_any_read_here(host_bus: Any) -> None:
    seen = host_bus().subscribe("hookwire.hook.executed")
    host_a = host_bus()
    reg = Registry()
    reg.register(lambda ctx: None, name="a", point=POINT, priority=1)
    reg.register(lambda ctx: None, name="b", point=POINT, priority=2)
    ex = Executor(reg, events=host_a)
    ex.execute(POINT, HookContext(POINT))
    deadline = time.monotonic() + 15
    events: list[Any] = []
    while len(events) < 2:
        assert time.monotonic() < deadline, f"host B got only {events}"
        events.extend(seen.poll())
        time.sleep(0.01)
    assert [e.payload["hook"] for e in events] == ["a", "b"]
