"""The Python testee of the conformance suite: the testee protocol (conformance/README.md) on
the Python SDK's `Worker`, the way `conformance/js/driver_worker.mjs` does it on the JS SDK.
`py-remote` runs it as `python -m hookwire.conformance.py_worker {address}`.

It connects to the run's hookwire server as a worker on the executor's virtual clock, and turns
each scenario hook's behaviour (a `define` JSON line on stdin) into an `async def` hook
registered with `Worker.register_now`. The hooks advance the call's virtual clock
(`worker.clock.advance_ms`), record what they received, publish with `Worker.publish` (a
publish frame on the worker stream, ahead of the answer), ask the runner for nested
executions, and end the Python way. Their lines go to stdout before the answer goes out.

    python -m hookwire.conformance.py_worker HOST:PORT
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import sys
from typing import Any

from hookwire.runtime.bus.event import NO_DATA
from hookwire.runtime.context import HookContext
from hookwire.runtime.errors import HookwireError
from hookwire.runtime.results import result_from_json
from hookwire.sdk.worker import Worker

# A value that is not a result: a string spelling a kind must be refused (no magic strings).
INVALID_VALUE = "continue"
_WORKER_TIMEOUT_MS = 3_600_000


def emit(msg: dict[str, Any]) -> None:
    """One JSON line on stdout, flushed before the hook's answer can go out."""
    sys.stdout.write(json.dumps(msg, allow_nan=False) + "\n")
    sys.stdout.flush()


def step_for(behaviour: dict[str, Any], n: int) -> dict[str, Any]:
    steps: list[dict[str, Any]] = behaviour["calls"]
    if n < len(steps):
        return steps[n]
    return steps[n % len(steps)] if behaviour.get("repeat") == "cycle" else steps[-1]


class Testee:
    def __init__(self, address: str) -> None:
        self.worker = Worker(
            address, worker_id=f"conformance-py-{os.getpid()}", virtual_clock=True, reconnect=False
        )
        self.calls: dict[tuple[int, str], int] = {}
        self.answers: dict[int, asyncio.Future[None]] = {}
        self.ids = itertools.count(1)

    def build(self, run: int, hook: str, behaviour: dict[str, Any]) -> Any:
        worker = self.worker

        async def call(ctx: HookContext) -> Any:
            n = self.calls.get((run, hook), 0)
            self.calls[(run, hook)] = n + 1
            step = step_for(behaviour, n)
            if step.get("advanceMs"):
                worker.clock.advance_ms(step["advanceMs"])
            if step.get("record"):
                seen = {
                    "point": ctx.point,
                    "data": ctx.data,
                    "metadata": dict(ctx.metadata),
                    "correlationId": ctx.correlation_id,
                }
                emit({"ev": "seen", "run": run, "hook": hook, "ctx": seen})
            for event in step.get("publish", ()):
                try:
                    published = worker.publish(
                        event["type"],
                        event.get("payload", NO_DATA),
                        source=event.get("source", ""),
                        correlation_id=event.get("correlationId", ""),
                        metadata=event.get("metadata"),
                        ttl_ms=event.get("ttlMs"),
                    )
                    if "sequence" in event:
                        # publish returns (a future of) the event's sequence.
                        seq = await published
                        if seq != event["sequence"]:
                            problem = (
                                f"publish of {event['type']!r} returned {seq}, "
                                f"expected {event['sequence']}"
                            )
                            emit({"ev": "problem", "run": run, "hook": hook, "message": problem})
                except HookwireError as exc:
                    if "refused" not in event:
                        emit({"ev": "done", "run": run, "hook": hook, "n": n})
                        raise
                    refusal = {"type": event["type"], "code": exc.code, "message": str(exc)}
                    emit({"ev": "refused", "run": run, "hook": hook, **refusal})
            if "execute" in step:
                rid = next(self.ids)
                answered = asyncio.get_running_loop().create_future()
                self.answers[rid] = answered
                emit({"ev": "nested", "run": run, "hook": hook, "n": n, "id": rid})
                await answered
            emit({"ev": "done", "run": run, "hook": hook, "n": n})
            if "raises" in step:
                raise RuntimeError(step["raises"])
            if step.get("returnsInvalid"):
                return INVALID_VALUE
            if "returns" in step:
                return result_from_json(step["returns"])
            return None

        call.__name__ = f"hook_{hook}"
        return call

    async def handle(self, msg: dict[str, Any]) -> None:
        op = msg.get("op")
        if op == "define":
            try:
                hook = self.build(msg["run"], msg["hook"], msg["behaviour"])
                await self.worker.register_now(
                    hook,
                    name=msg["key"],
                    point="custom:conformance.python",
                    timeout_ms=_WORKER_TIMEOUT_MS,
                )
                emit({"ev": "defined", "id": msg["id"]})
            except Exception as exc:  # reported to the runner, which fails the run
                emit({"ev": "defined", "id": msg["id"], "error": str(exc)})
        elif op == "undefine":
            for key in msg["keys"]:
                with contextlib.suppress(HookwireError):  # already gone
                    await self.worker.unregister(key)
            for k in [k for k in self.calls if k[0] == msg["run"]]:
                del self.calls[k]
        elif op == "answer":
            answered = self.answers.pop(msg["id"], None)
            if answered is not None and not answered.done():
                answered.set_result(None)
        else:
            print(f"py_worker: unknown op {op!r}", file=sys.stderr)

    async def main(self) -> None:
        await self.worker.start()
        emit({"ev": "ready", "language": "python", "connectionId": self.worker.connection_id})
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        tasks: set[asyncio.Task[None]] = set()
        while line := await reader.readline():
            if line.strip():
                task = asyncio.create_task(self.handle(json.loads(line)))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
        await self.worker.stop()  # the runner went away: leave cleanly


if __name__ == "__main__":
    address = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("HOOKWIRE_ADDRESS", "")
    if not address:
        sys.exit("usage: python -m hookwire.conformance.py_worker HOST:PORT")
    asyncio.run(Testee(address).main())
