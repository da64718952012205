"""The `lua-process` driver: behaviours become Lua hook files served by a `lua5.4` worker
process (sdk/lua/worker.lua) under a `LuaProcessWorker`, on the run's VirtualClock.

Each hook is a generated hook file in the session's temporary directory (beside a copy of
behaviours.lua). The worker starts at the first execution with every file built so far; a hook built
later (a `register` step of a hook declared unregistered) restarts it with the new set, each
hook's Lua call counter continuing from the calls made so far. Calls carry the VirtualClock's
time, the Lua hook advances the worker's virtual clock by the step's `advanceMs`, and the
adapter advances the scenario's clock by the answer's `clock_advance`, so the executor
measures exactly that duration. A hook's `hookwire.publish` is a publish frame the supervisor
hands, before the call's answer, to the session's `LuaStepEvents`, which publishes it on the
run's bus with the hook's virtual time. Executed with `Executor.aexecute` on a private loop.

Example:
    >>> LuaProcessDriver().name
    'lua-process'
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path

from hookwire.conformance.driver import HookEnv
from hookwire.conformance.lua_behaviour import (
    BEHAVIOURS_DIR,
    LuaBehaviourAdapter,
    LuaStepEvents,
    hook_source,
)
from hookwire.conformance.scenario import HookDef
from hookwire.runtime.adapter import HookFailed
from hookwire.runtime.context import HookContext
from hookwire.runtime.errors import HookwireError
from hookwire.runtime.lua_process import LuaProcessHookAdapter, LuaProcessWorker
from hookwire.runtime.points import parse_point
from hookwire.runtime.results import HookResult
from hookwire.runtime.trace import Execution

__all__ = ["LuaProcessDriver", "LuaProcessSession"]


class _Hook:
    """Finds the session's current worker at call time (it is replaced when hooks are added)."""

    __slots__ = ("name", "session")
    language = "lua"
    is_async = True

    def __init__(self, session: LuaProcessSession, name: str) -> None:
        self.session = session
        self.name = name

    def call(self, ctx: HookContext, timeout_ns: int) -> HookResult:
        return self.session.adapter(self.name).call(ctx, timeout_ns)

    async def acall(self, ctx: HookContext, timeout_ns: int) -> HookResult:
        return await self.session.adapter(self.name).acall(ctx, timeout_ns)


class LuaProcessSession:
    """A worker process and its hook files for one scenario run."""

    def __init__(self, env: HookEnv) -> None:
        self.env = env
        self.dir = Path(tempfile.mkdtemp(prefix="hookwire-lua-process-"))
        shutil.copy(BEHAVIOURS_DIR / "behaviours.lua", self.dir / "behaviours.lua")
        self.hooks: dict[str, HookDef] = {}
        self.worker: LuaProcessWorker | None = None
        self._loop = asyncio.new_event_loop()
        self.events = LuaStepEvents(env)

    def language_for(self, hook: HookDef) -> str:
        return "lua"

    def build_hook(self, hook: HookDef) -> LuaBehaviourAdapter:
        try:
            parse_point(hook.point)
        except HookwireError:
            # The registry refuses this hook (a scenario may test that); keep it out of the
            # worker, which would refuse to load its file.
            return LuaBehaviourAdapter(_Hook(self, hook.name), self.env, hook, self.events)
        if hook.name not in self.hooks:
            self.hooks[hook.name] = hook
            if self.worker is not None:
                self.worker.stop()
                self.worker = None
        return LuaBehaviourAdapter(_Hook(self, hook.name), self.env, hook, self.events)

    def _ensure_worker(self) -> LuaProcessWorker:
        # Started between executions only, when no call is in progress, so every hook's call
        # count so far is exactly where its Lua counter must start.
        if self.worker is None:
            files = []
            for i, hook in enumerate(self.hooks.values()):
                path = self.dir / f"hook{i}.lua"
                path.write_text(hook_source(hook, self.env.log.calls.get(hook.name, 0)))
                files.append(path)
            self.worker = LuaProcessWorker(
                files,
                clock=self.env.clock,
                virtual_clock=True,
                worker_id="conformance",
                bus=self.events,
            )
            self.worker.start()
        return self.worker

    def adapter(self, name: str) -> LuaProcessHookAdapter:
        if self.worker is None:
            raise HookFailed(f"Lua hook {name!r} called outside an execution of this session")
        adapter: LuaProcessHookAdapter = self.worker.adapter(name)
        return adapter

    def execute(self, point: str, ctx: HookContext) -> Execution:
        self._ensure_worker()
        return self._loop.run_until_complete(self.env.executor.aexecute(point, ctx))

    def execute_concurrently(self, calls: list[tuple[str, HookContext]]) -> list[Execution]:
        """Start every execution at once on the loop (`asyncio.gather`): a hook that suspends
        (takes time, nests, or yields) is still in flight when the next execution starts."""
        self._ensure_worker()

        async def together() -> list[Execution]:
            return list(await asyncio.gather(*(self.env.executor.aexecute(p, c) for p, c in calls)))

        return self._loop.run_until_complete(together())

    def close(self) -> None:
        if self.worker is not None:
            self.worker.stop()
        self._loop.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class LuaProcessDriver:
    """Lua hooks in a supervised `lua5.4` worker process, executed with `Executor.aexecute`."""

    name = "lua-process"

    def open(self, env: HookEnv) -> LuaProcessSession:
        return LuaProcessSession(env)
