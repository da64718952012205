"""Scenario behaviours as Lua hook files, and the Python side both Lua drivers share.

`hook_source(hook)` writes the text of a Lua hook file that registers `hook` with
`conformance/lua/behaviours.lua`: each step becomes a table whose `result` builds the step's
result with the SDK helpers (`hookwire.cancel("no")`, `hookwire.modified{...}`, ...), so the
result a scenario expects is made by real Lua code through the SDK. `LuaBehaviourAdapter` wraps
the Lua hook's adapter: it counts the call (`env.log.begin`), lets the Lua hook run (it advances
the virtual clock and ends the Lua way), then does the step's Python-side effects in the README's
order (record, publish, nested execute) and returns or raises what Lua gave.

Example:
    >>> lua_value({"a": [1, None], "b": "x"})
    '{["a"] = hookwire.array{1, hookwire.null}, ["b"] = "x"}'
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from hookwire.conformance.driver import HookEnv
from hookwire.conformance.scenario import CallStep, HookDef
from hookwire.runtime.adapter import HookAdapter, HookFailed, InvalidResult, describe_exception
from hookwire.runtime.context import HookContext
from hookwire.runtime.results import (
    Cache,
    Cancel,
    Continue,
    Fork,
    HookResult,
    Modified,
    Redirect,
    Replace,
    Retry,
    Skipped,
    result_from_json,
)
from hookwire.runtime.trace import Execution

__all__ = ["BEHAVIOURS_DIR", "LuaBehaviourAdapter", "hook_source", "lua_result", "lua_value"]

#: Where behaviours.lua lives (hook files `require("behaviours")` from beside them).
BEHAVIOURS_DIR = Path(__file__).resolve().parents[2] / "lua"
_NS_PER_MS = 1_000_000


def lua_string(text: str) -> str:
    """A Lua string literal holding `text` (UTF-8; bytes outside printable ASCII escaped)."""
    out = ['"']
    for b in text.encode():
        if b in (0x22, 0x5C) or b < 0x20 or b >= 0x7F:
            out.append(f"\\{b:03d}")
        else:
            out.append(chr(b))
    out.append('"')
    return "".join(out)


def lua_value(value: Any) -> str:
    """A Lua expression for a JSON value: objects as tables, arrays marked with
    `hookwire.array`, null as `hookwire.null`."""
    if value is None:
        return "hookwire.null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} is not a JSON number")
        return repr(value)
    if isinstance(value, str):
        return lua_string(value)
    if isinstance(value, list):
        return "hookwire.array{" + ", ".join(lua_value(v) for v in value) + "}"
    if isinstance(value, dict):
        items = ", ".join(f"[{lua_string(k)}] = {lua_value(v)}" for k, v in value.items())
        return "{" + items + "}"
    raise TypeError(f"{type(value).__name__} is not a JSON value")


def _ms(ns: int) -> str:
    return repr(ns / _NS_PER_MS)


def lua_result(result: HookResult) -> str:
    """The SDK call that builds `result` in Lua."""
    if isinstance(result, Continue):
        return "hookwire.continue()"
    if isinstance(result, Modified):
        return f"hookwire.modified({lua_value(result.data)})"
    if isinstance(result, Cancel):
        return f"hookwire.cancel({lua_string(result.reason)})"
    if isinstance(result, Redirect):
        return f"hookwire.redirect({lua_string(result.target)})"
    if isinstance(result, Replace):
        return f"hookwire.replace({lua_value(result.value)})"
    if isinstance(result, Retry):
        return f"hookwire.retry({_ms(result.delay_ns)}, {result.max_attempts})"
    if isinstance(result, Cache):
        return f"hookwire.cache({lua_string(result.key)}, {_ms(result.ttl_ns)})"
    if isinstance(result, Skipped):
        return f"hookwire.skipped({lua_string(result.reason)})"
    if isinstance(result, Fork):
        ops = ", ".join(
            f"{{operation = {lua_string(op.operation)}, parameters = {lua_value(op.parameters)}}}"
            for op in result.operations
        )
        return f"hookwire.fork{{{ops}}}"
    raise TypeError(f"no Lua helper for {type(result).__name__}")


def _step(step: CallStep) -> str:
    parts = []
    if step.advance_ms:
        parts.append(f"advance_ms = {float(step.advance_ms)!r}")
    if step.raises is not None:
        parts.append(f'ends = "raises", message = {lua_string(step.raises)}')
    elif step.returns_invalid:
        parts.append('ends = "invalid"')
    elif step.returns is not None:
        body = lua_result(result_from_json(step.returns))
        parts.append(f'ends = "returns", result = function() return {body} end')
    else:
        parts.append('ends = "nothing"')
    return "{ " + ", ".join(parts) + " }"


def hook_source(hook: HookDef, start: int = 0) -> str:
    """The text of a Lua hook file registering `hook` (its behaviour, counting calls from
    `start`) under its name and point."""
    behaviour = hook.behaviour
    if behaviour is None:
        raise ValueError(f"hook {hook.name!r} has no behaviour")
    steps = ",\n    ".join(_step(s) for s in behaviour.calls)
    cycle = "true" if behaviour.repeat == "cycle" else "false"
    return (
        "-- Generated by hookwire.conformance.lua_behaviour for one scenario hook.\n"
        'local behaviours = require("behaviours")\n'
        f"hookwire.register({lua_string(hook.point)}, behaviours.build({{\n"
        f"  start = {start}, cycle = {cycle},\n"
        f"  calls = {{\n    {steps},\n  }},\n"
        f"}}), {{ name = {lua_string(hook.name)} }})\n"
    )


class LuaBehaviourAdapter:
    """A Lua hook's adapter plus the scenario step's Python-side effects (see the module)."""

    __slots__ = ("env", "hook", "inner", "is_async")
    language = "lua"

    def __init__(self, inner: HookAdapter, env: HookEnv, hook: HookDef) -> None:
        self.inner = inner
        self.env = env
        self.hook = hook
        self.is_async = inner.is_async

    def _step(self) -> CallStep:
        behaviour = self.hook.behaviour
        assert behaviour is not None
        return behaviour.step_for(self.env.log.begin(self.hook.name))

    def _effects(self, step: CallStep, ctx: HookContext) -> None:
        env, name = self.env, self.hook.name
        if step.record:
            env.log.record(name, ctx)
        for event in step.publish:
            try:
                env.publish(name, event, "lua")
            except Exception as exc:  # raised into the hook, as a publishing hook sees it
                raise HookFailed(describe_exception(exc)) from exc

    def call(self, ctx: HookContext, timeout_ns: int) -> HookResult:
        step = self._step()
        try:
            result: HookResult | Exception = self.inner.call(ctx, timeout_ns)
        except (HookFailed, InvalidResult) as exc:
            result = exc
        self._effects(step, ctx)
        if step.execute is not None:
            nested = self.env.context(step.execute.point, step.execute.context)
            try:
                out: Execution | BaseException = self.env.executor.execute(
                    step.execute.point, nested
                )
            except Exception as e:  # reported by the runner, not swallowed
                out = e
            self.env.log.nested(self.hook.name, step.execute, out)
        if isinstance(result, Exception):
            raise result
        return result

    async def acall(self, ctx: HookContext, timeout_ns: int) -> HookResult:
        step = self._step()
        try:
            result: HookResult | Exception = await self.inner.acall(ctx, timeout_ns)
        except (HookFailed, InvalidResult) as exc:
            result = exc
        self._effects(step, ctx)
        if step.execute is not None:
            nested = self.env.context(step.execute.point, step.execute.context)
            try:
                out: Execution | BaseException = await self.env.executor.aexecute(
                    step.execute.point, nested
                )
            except Exception as e:  # reported by the runner, not swallowed
                out = e
            self.env.log.nested(self.hook.name, step.execute, out)
        if isinstance(result, Exception):
            raise result
        return result

    def __repr__(self) -> str:
        return f"LuaBehaviourAdapter({self.hook.name!r}, {self.inner!r})"
