"""Distributed context across hosts: an execution on host A (a server on the JetStream bus) whose
hooks publish, an embedded Lua hook and a Python worker's hook; a subscriber on host B (another
bus on the same stream) gets each event with the execution's correlation id, the hook call as
causation id and the hook's traceparent, so it can tie the event to the execution."""

from __future__ import annotations

import asyncio
from typing import Any

from hookwire.runtime.context import HookContext
from hookwire.runtime.lua import LuaHookAdapter, LuaSandbox
from hookwire.runtime.server.config import ServerConfig
from hookwire.runtime.server.server import HookwireServer
from hookwire.sdk import AsyncClient, Worker

from tests.nats.support import poll_events

POINT = "before_tool_execution"
TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def test_a_subscriber_on_another_host_ties_hook_events_to_the_execution(host_bus: Any) -> None:
    seen = host_bus().subscribe("hooked.>")

    async def main() -> None:
        bus_a = host_bus()
        server = HookwireServer(config=ServerConfig(port=0, shutdown_grace_s=2.0), bus=bus_a)
        sandbox = LuaSandbox(bus=bus_a)
        [reg] = sandbox.load_source(
            'hookwire.register("before_tool_execution", function(ctx) '
            'hookwire.publish("hooked.lua", {tool = ctx.data.tool}) end, {name = "lua-audit"})',
            "audit.lua",
        )
        server.registry.register(
            LuaHookAdapter(sandbox, reg.fn, name=reg.name), name=reg.name, point=POINT, priority=1
        )
        await server.start()
        worker = Worker(server.address, worker_id="py")

        @worker.hook(POINT, name="py-audit", priority=2)
        async def audit(ctx: HookContext) -> None:
            worker.publish("hooked.python", {"tool": ctx.data["tool"]})

        try:
            async with (
                worker,
                AsyncClient(server.address, correlation_id="run-42", traceparent=TRACEPARENT) as c,
            ):
                ex = await c.execute(POINT, {"tool": "search"})
                assert [t.hook_name for t in ex.trace] == ["lua-audit", "py-audit"]
        finally:
            await server.stop()
            bus_a.close()

    asyncio.run(main())
    events = poll_events(seen, 2)
    got = {
        ev.type: (
            ev.payload,
            ev.correlation_id,
            ev.causation_id,
            ev.traceparent,
            ev.source_language,
        )
        for ev in events
    }
    assert got == {
        "hooked.lua": (
            {"tool": "search"},
            "run-42",
            f"{POINT}/lua-audit",
            TRACEPARENT,
            "lua",
        ),
        "hooked.python": (
            {"tool": "search"},
            "run-42",
            f"{POINT}/py-audit",
            TRACEPARENT,
            "python",
        ),
    }
