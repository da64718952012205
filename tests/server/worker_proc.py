"""A remote Python worker in its own process, for tests that kill it mid-call.

Usage: python worker_proc.py ADDRESS FAIL_OPEN|FAIL_CLOSED
Prints READY once registered and CALLED when its hook starts (then hangs in the hook).
"""

from __future__ import annotations

import asyncio
import sys

from hookwire.runtime.breaker import BreakerConfig
from hookwire.runtime.context import HookContext
from hookwire.sdk import Worker


async def main(address: str, policy: str) -> None:
    worker = Worker(address, worker_id="victim-worker", reconnect=False)

    # A one-call window: the breaker opens on the first failure, which the trace then shows.
    @worker.hook(
        "before_tool_execution",
        name="victim",
        failure_policy=policy,
        timeout_ms=30_000,
        breaker=BreakerConfig(window_size=1, minimum_calls=1),
    )
    async def victim(ctx: HookContext) -> None:
        print("CALLED", flush=True)
        await asyncio.sleep(60)

    await worker.start()
    print("READY", flush=True)
    await asyncio.sleep(120)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
