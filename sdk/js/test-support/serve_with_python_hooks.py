"""A hookwire server with Python hooks registered in-process, for the JS SDK's node tests.

`hookwire serve` has no option to load Python hooks, so the chain test (a JS worker hook and a
Python hook at one point) starts this instead. It prints the same first line as the CLI and
stops gracefully on SIGTERM.

    python sdk/js/test-support/serve_with_python_hooks.py [--token T]
"""

from __future__ import annotations

import argparse
import asyncio
import signal

from hookwire.runtime.context import HookContext
from hookwire.runtime.results import Modified
from hookwire.runtime.server import HookwireServer, ServerConfig


def py_append(ctx: HookContext) -> Modified:
    """Appends "py" to data.order: shows where in the chain the Python hook ran."""
    order = list(ctx.data.get("order", []))
    return Modified({"order": [*order, "py"], "py_saw_js": "js" in order})


async def main(token: str | None) -> None:
    server = HookwireServer(config=ServerConfig(port=0, token=token))
    server.registry.register(py_append, name="py_append", point="custom:chain", priority=0)
    address = await server.start()
    print(f"hookwire serving on {address} (insecure, python hooks)", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.stop(2.0)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--token", default=None)
    asyncio.run(main(parser.parse_args().token))
