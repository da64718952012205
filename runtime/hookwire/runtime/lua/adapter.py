"""LuaHookAdapter: calls one Lua function in a LuaSandbox and maps Lua conventions to results.

SEMANTICS.md section 4 for Lua: `return nil` is CONTINUE; a table built by the SDK helpers
(`hookwire.cancel("why")`, `hookwire.modified{...}`, ...) is that result; anything else is
ERROR `invalid_result`; `error(...)` is ERROR with the Lua message and "file:line" (for
`error{...}` with a table: its `message` field, or a dump of the table). A hook still running
at its deadline (real time, see sandbox.py) is stopped and raises HookTimedOut.

Cost: the context crosses as handles (convert.py). Each adapter learns which `ctx.data` paths
its hook looks up (up to MAX_READ_AHEAD) and, from the next call on, passes the current values
of those paths with the call (`_read_ahead`), so a hook that reads the same fields every time
makes no Lua -> Python crossing per field. Nothing is cached between calls: the values are
read from each call's own data.

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
_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1
_MISSING: Any = object()
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

    __slots__ = (
        "_call",
        "_conv",
        "_paths",
        "_plan",
        "_plan_len",
        "_template",
        "fn",
        "name",
        "sandbox",
    )
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
        self._call = sandbox.call_hook
        self._conv = sandbox.converter
        # Read-ahead: the data paths this hook looked up on earlier calls (in the order first
        # read, so a parent comes before its children) and the plan compiled from them.
        self._paths: dict[tuple[str, ...], None] = {}
        self._plan: tuple[tuple[int, int, int, str, tuple[str, ...]], ...] = ()
        self._template: list[Any] = []
        self._plan_len = 0

    def call(self, ctx: HookContext, timeout_ns: int) -> HookResult:
        """Run the hook with `ctx`; stop it after `timeout_ns` of real time."""
        conv = self._conv
        objs = conv.objects
        if len(objs) >= conv.sweep_at:
            conv.maybe_sweep()
        # Handles for the data (h) and the context (h + 1): Converter.handle, inlined.
        h = conv.next_handle
        conv.next_handle = h + 2
        data = objs[h] = ctx.data
        objs[h + 1] = ctx
        conv.root = h
        outer = conv.recorder
        paths = conv.recorder = self._paths
        try:
            if paths:
                r = self._call(self.fn, _perf() + timeout_ns * 1e-9, h, *self._read_ahead(data))
            else:
                r = self._call(self.fn, _perf() + timeout_ns * 1e-9, h)
        except Exception as exc:  # lupa.LuaMemoryError / LuaError outside the protection
            raise self._lua_failure(exc) from None
        finally:
            conv.recorder = outer
        if r is None or r == 0:
            return CONTINUE
        return self._finish(r)

    def _lua_failure(self, exc: Exception) -> HookFailed:
        if "not enough memory" in str(exc) or type(exc).__name__ == "LuaMemoryError":
            self.sandbox.collect_garbage()
            return HookFailed(f"memory limit of {self.sandbox.memory_limit} bytes exceeded")
        return HookFailed(f"Lua: {exc}")

    def _finish(self, r: tuple[Any, ...]) -> HookResult:
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

    def _compile(self) -> None:
        """The read-ahead plan from the learned paths: per path (value slot in the groups,
        group of its parent or 0 for ctx.data, its group, key, path), and the groups'
        template (parent, key, value, source) with the values still nil."""
        group: dict[tuple[str, ...], int] = {(): 0}
        plan: list[tuple[int, int, int, str, tuple[str, ...]]] = []
        template: list[Any] = []
        for path in self._paths:
            parent = group.get(path[:-1])
            if parent is None:  # not learned (the table was full): nor are its children
                continue
            g = len(plan) + 1
            plan.append((len(template) + 2, parent, g, path[-1], path))
            template += (parent, path[-1].encode(), None, None)
            group[path] = g
        self._plan = tuple(plan)
        self._template = template
        self._plan_len = len(self._paths)

    def _read_ahead(self, data: Any) -> list[Any]:
        """Groups for convert.lua `prefill`: the learned paths' values, read from this call's
        data now. A missing key, a parent that is not an object now or a value that would
        fail to convert is left nil (to the lazy lookup, which reports it)."""
        if len(self._paths) != self._plan_len:
            self._compile()
        out = self._template.copy()
        if type(data) is not dict:
            return []
        conv = self._conv
        nodes: list[Any] = [None] * (len(self._plan) + 1)
        nodes[0] = data
        for slot, parent_group, g, key, path in self._plan:
            parent = nodes[parent_group]
            if parent is None:
                continue
            v = parent.get(key, _MISSING)
            t = type(v)
            if t is str:
                out[slot] = v.encode()
            elif t is int:
                if _INT64_MIN <= v <= _INT64_MAX:
                    out[slot] = v
            elif t is bool or t is float:
                out[slot] = v
            elif t is dict:
                n = conv.next_handle
                conv.next_handle = n + 1
                conv.objects[n] = v
                conv.handle_paths[n] = path
                out[slot] = conv.dict_tag
                out[slot + 1] = n
                nodes[g] = v
            elif v is None:
                out[slot] = conv.null
            elif t is list:
                out[slot] = conv.list_tag
                out[slot + 1] = conv.handle(v)
        return out

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
