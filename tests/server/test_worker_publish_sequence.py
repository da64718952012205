"""A worker's publish returns the event's sequence, as an in-process publish does: the Python
SDK's `worker.publish` is a future of it (the executor answers a SequencedPublish with a
PublishAck), and a refusal by the bus reaches the hook; old-style publish frames still work."""

from __future__ import annotations

import asyncio
from typing import Any

from hookwire.runtime.bus import EventBus
from hookwire.runtime.context import HookContext
from hookwire.runtime.errors import HookwireError
from hookwire.runtime.server.config import ServerConfig
from hookwire.runtime.server.server import HookwireServer
from hookwire.sdk import AsyncClient, Worker

POINT = "before_tool_execution"


def test_worker_publish_returns_the_sequence_and_reports_a_refusal() -> None:
    bus = EventBus(rate_limit=(1e-9, 3))
    got: dict[str, Any] = {}

    async def main() -> None:
        server = HookwireServer(config=ServerConfig(port=0, shutdown_grace_s=2.0), bus=bus)
        await server.start()
        worker = Worker(server.address, worker_id="py")

        @worker.hook(POINT, name="pub")
        async def pub(ctx: HookContext) -> None:
            got["sequences"] = [
                await worker.publish("app.one", 1),
                await worker.publish("app.two"),
            ]
            try:
                await worker.publish("app.three")  # the burst of 3 is spent
            except HookwireError as exc:
                got["refused"] = (exc.code, str(exc))

        try:
            bus.publish("app.before")
            async with worker, AsyncClient(server.address) as client:
                ex = await client.execute(POINT, {})
                assert ex.trace[0].outcome.value == "CONTINUE", ex.trace[0].reason
        finally:
            await server.stop()

    asyncio.run(main())
    assert got["sequences"] == [2, 3]
    code, message = got["refused"]
    assert code == "RESOURCE_EXHAUSTED" and "rate limit" in message
