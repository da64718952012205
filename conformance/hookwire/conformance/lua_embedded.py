"""The `lua` driver: behaviours become Lua hook files run by the embedded Lua adapter (lupa).

One LuaSandbox per scenario run, on the run's VirtualClock; each hook is a generated hook file
(`lua_behaviour.hook_source`) loaded into it, called through `LuaHookAdapter` and wrapped in
`LuaBehaviourAdapter`. The sandbox's bus is the session's `LuaStepEvents`, so a hook's
`hookwire.publish` lands on the run's bus at the hook's virtual time. A step's `advanceMs` is
taken by the Lua code itself through the sandbox's `advance_clock_ms`, which advances the
VirtualClock while the hook runs, so the executor measures exactly that duration. Executed
with the synchronous `Executor.execute`.

Example:
    >>> LuaEmbeddedDriver().name
    'lua'
"""

from __future__ import annotations

from hookwire.conformance.driver import HookEnv
from hookwire.conformance.lua_behaviour import (
    BEHAVIOURS_DIR,
    LuaBehaviourAdapter,
    LuaStepEvents,
    hook_source,
)
from hookwire.conformance.scenario import HookDef
from hookwire.runtime.context import HookContext
from hookwire.runtime.lua import LuaHookAdapter, LuaSandbox
from hookwire.runtime.trace import Execution

__all__ = ["LuaEmbeddedDriver", "LuaEmbeddedSession"]


class LuaEmbeddedSession:
    """One sandbox and its hooks for one scenario run."""

    def __init__(self, env: HookEnv) -> None:
        self.env = env
        self.events = LuaStepEvents(env)
        self.sandbox = LuaSandbox(clock=env.clock, bus=self.events)
        clock = env.clock
        self.sandbox.expose("advance_clock_ms", lambda ms: clock.advance_ms(ms))

    def language_for(self, hook: HookDef) -> str:
        return "lua"

    def build_hook(self, hook: HookDef) -> LuaBehaviourAdapter:
        start = self.env.log.calls.get(hook.name, 0)
        [reg] = self.sandbox.load_source(
            hook_source(hook, start), f"{hook.name}.lua", BEHAVIOURS_DIR
        )
        return LuaBehaviourAdapter(
            LuaHookAdapter(self.sandbox, reg.fn, name=reg.name), self.env, hook, self.events
        )

    def execute(self, point: str, ctx: HookContext) -> Execution:
        return self.env.executor.execute(point, ctx)

    def close(self) -> None:
        pass


class LuaEmbeddedDriver:
    """Lua hooks in the embedded lupa sandbox, executed with `Executor.execute`."""

    name = "lua"

    def open(self, env: HookEnv) -> LuaEmbeddedSession:
        return LuaEmbeddedSession(env)
