"""LuaHookAdapter: calls one Lua function in a LuaSandbox and maps Lua conventions to results.

SEMANTICS.md section 4 for Lua: `return nil` is CONTINUE; a table built by the SDK helpers
(`hookwire.cancel("why")`, `hookwire.modified{...}`, ...) is that result; anything else is
ERROR `invalid_result`; `error(...)` is ERROR with the Lua message and "file:line" (for
`error{...}` with a table: its `message` field, or a dump of the table). A hook still running
at its deadline (real time, see sandbox.py) is stopped and raises HookTimedOut.

Example:
    >>> from hookwire.runtime.context import HookContext
    >>> from hookwire.runtime.lua.sandbox import LuaSandbox
    >>> sb = LuaSandbox()
    >>> [reg] = sb.load_source(
    ...     'hookwire.register("session_start", function(ctx) '
    ...     'return hookwire.cancel("no " .. ctx.data.user) end)', "deny.lua")
    >>> LuaHookAdapter(sb, reg.fn, name=reg.name).call(
    ...     HookContext("session_start", {"user": "bob"}), 100_000_000)
    Cancel(reason='no bob')
"""

from __future__ import annotations

import time
from typing import Any

from hookwire.runtime.adapter import HookFailed, HookTimedOut, InvalidResult
from hookwire.runtime.context import HookContext
from hookwire.runtime.errors import InvalidArgument
from hookwire.runtime.lua.convert import ConversionError
from hookwire.runtime.lua.sandbox import LuaSandbox
from hookwire.runtime.results import (
    CONTINUE,
    Cache,
    Cancel,
    Fork,
    ForkOperation,
    HookResult,
    Modified,
    Redirect,
    Replace,
    Retry,
    Skipped,
)

__all__ = ["LuaHookAdapter"]

_NS_PER_MS = 1_000_000
_perf = time.perf_counter


class LuaHookAdapter:
    """A Lua function as a hook (a HookAdapter; register it like any hook).

    Example:
        >>> from hookwire.runtime.registry import Registry
        >>> sb = LuaSandbox()
        >>> fn = sb.lua.eval("function(ctx) return nil end")
        >>> spec = Registry().register(LuaHookAdapter(sb, fn), name="noop", point="session_start")
        >>> spec.language
        'lua'
    """

    __slots__ = ("_conv", "_invoke", "fn", "name", "sandbox")
    language = "lua"
    is_async = False

    def __init__(self, sandbox: LuaSandbox, fn: Any, *, name: str = "") -> None:
        if not isinstance(sandbox, LuaSandbox):
            raise InvalidArgument("sandbox", f"must be a LuaSandbox, got {type(sandbox).__name__}")
        if sandbox.lua.eval("type")(fn) != b"function":
            raise InvalidArgument("fn", f"must be a Lua function of this sandbox, got {fn!r:.60}")
        self.sandbox = sandbox
        self.fn = fn
        self.name = name
        self._invoke = sandbox.invoke
        self._conv = sandbox.converter

    def call(self, ctx: HookContext, timeout_ns: int) -> HookResult:
        """Run the hook with `ctx`; stop it after `timeout_ns` of real time."""
        conv = self._conv
        objs = conv.objects
        if len(objs) >= conv.sweep_at:
            conv.maybe_sweep()
        # Handles for the data and the context (inlined Converter.handle: the hot path).
        h = conv.next_handle
        conv.next_handle = h + 2
        objs[h] = ctx.data
        objs[h + 1] = ctx
        try:
            r = self._invoke(self.fn, _perf() + timeout_ns / 1e9, h, h + 1)
        except Exception as exc:  # lupa.LuaMemoryError / LuaError outside the protected call
            if "not enough memory" in str(exc) or type(exc).__name__ == "LuaMemoryError":
                self.sandbox.collect_garbage()
                raise HookFailed(
                    f"memory limit of {self.sandbox.memory_limit} bytes exceeded"
                ) from None
            raise HookFailed(f"Lua: {exc}") from None
        if r is None or r == 0:
            return CONTINUE
        code = r[0]
        if code == 1:
            return self._result(r)
        if code == 2:
            raise HookFailed(r[1].decode(errors="replace"))
        if code == 3:
            raise HookTimedOut("timeout")
        if code == 4:
            raise HookFailed(f"memory limit of {self.sandbox.memory_limit} bytes exceeded")
        raise InvalidResult(r[1].decode(errors="replace"))

    async def acall(self, ctx: HookContext, timeout_ns: int) -> HookResult:
        """The same as `call`: an embedded Lua call is synchronous, stopped by its budget."""
        return self.call(ctx, timeout_ns)

    def _result(self, r: tuple[Any, ...]) -> HookResult:
        kind = r[1]
        try:
            if kind == b"modified":
                data = self.sandbox.from_lua(r[2], r[3:], "modified.data")
                if not isinstance(data, dict):
                    raise InvalidResult("modified.data: must be a JSON object")
                return Modified(data)
            if kind == b"cancel":
                return Cancel(_text(r[2], "cancel.reason"))
            if kind == b"skipped":
                return Skipped(_text(r[2], "skipped.reason"))
            if kind == b"redirect":
                return Redirect(_text(r[2], "redirect.target"))
            if kind == b"replace":
                return Replace(self.sandbox.from_lua(r[2], r[3:], "replace.value"))
            if kind == b"retry":
                return Retry(round(r[2] * _NS_PER_MS), r[3])
            if kind == b"cache":
                return Cache(_text(r[2], "cache.key"), round(r[3] * _NS_PER_MS))
            if kind == b"fork":
                ops = self.sandbox.from_lua(r[2], r[3:], "fork.operations")
                return Fork(tuple(ForkOperation(op["operation"], op["parameters"]) for op in ops))
            if kind == b"continue":
                return CONTINUE
        except ConversionError as exc:
            raise InvalidResult(str(exc)) from None
        raise InvalidResult(f"unknown result kind {kind!r}")

    def __repr__(self) -> str:
        return f"LuaHookAdapter({self.name or self.fn!r})"


def _text(b: Any, field: str) -> str:
    try:
        return bytes(b).decode()
    except (UnicodeDecodeError, TypeError):
        raise InvalidResult(f"{field}: must be a UTF-8 string, got {b!r:.60}") from None
