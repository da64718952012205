"""The `py-async` driver: behaviours become `async def` hooks, run with `Executor.aexecute`.

So that both of the executor's async paths are exercised, a hook suspends when its step takes
time (`await clock.asleep(...)`, which also yields to the loop) or runs a nested execution, and
on every second call (`await asyncio.sleep(0)`); other calls complete without suspending.

Example:
    >>> PyAsyncDriver().name
    'py-async'
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from hookwire.conformance.driver import HookEnv, publish_or_refusal
from hookwire.conformance.py_sync import native_return
from hookwire.conformance.scenario import HookDef
from hookwire.runtime.context import HookContext
from hookwire.runtime.trace import Execution

__all__ = ["PyAsyncDriver"]

_NS_PER_S = 1_000_000_000


class PyAsyncSession:
    """Async Python hooks and one event loop for one scenario run."""

    def __init__(self, env: HookEnv) -> None:
        self.env = env
        self._loop = asyncio.new_event_loop()

    def language_for(self, hook: HookDef) -> str:
        return "python"

    def build_hook(self, hook: HookDef) -> Callable[[HookContext], Coroutine[Any, Any, Any]]:
        env, name, behaviour = self.env, hook.name, hook.behaviour
        assert behaviour is not None

        async def call(ctx: HookContext) -> Any:
            n = env.log.begin(name)
            step = behaviour.step_for(n)
            if step.advance_ms:
                await env.clock.asleep(step.advance_ms / 1000)
            elif n % 2 == 1:
                await asyncio.sleep(0)
            if step.record:
                env.log.record(name, ctx)
            for event in step.publish:
                publish_or_refusal(env, name, event)
            if step.execute is not None:
                await env.arun_nested(name, step.execute)
            return native_return(step)

        call.__name__ = f"hook_{name}"
        return call

    def execute(self, point: str, ctx: HookContext) -> Execution:
        return self._loop.run_until_complete(self.env.executor.aexecute(point, ctx))

    def execute_concurrently(self, calls: list[tuple[str, HookContext]]) -> list[Execution]:
        """Start every execution at once on the loop (`asyncio.gather`): a hook that suspends
        (takes time, nests, or yields) is still in flight when the next execution starts."""

        async def together() -> list[Execution]:
            return list(await asyncio.gather(*(self.env.executor.aexecute(p, c) for p, c in calls)))

        return self._loop.run_until_complete(together())

    def close(self) -> None:
        self._loop.close()


class PyAsyncDriver:
    """`async def` hooks, executed with `Executor.aexecute` on a private event loop."""

    name = "py-async"

    def open(self, env: HookEnv) -> PyAsyncSession:
        return PyAsyncSession(env)
