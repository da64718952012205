"""LuaHookAdapter: calls one Lua function in a LuaSandbox and maps Lua conventions to results.

docs/semantics.md section 4 for Lua: `return nil` is CONTINUE; a table built by the SDK helpers
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
from collections.abc import Callable
from typing import Any

from hookwire.runtime import results
from hookwire.runtime.adapter import HookFailed, HookTimedOut, InvalidResult
from hookwire.runtime.context import HookContext
from hookwire.runtime.errors import InvalidArgument
from hookwire.runtime.limits import INT64_MAX, INT64_MIN, MAX_DURATION_MS
from hookwire.runtime.lua.convert import ConversionError
from hookwire.runtime.lua.sandbox import LuaSandbox

__all__ = ["LuaHookAdapter"]

_NS_PER_MS = 1_000_000
_MISSING: Any = object()


def _no_read_ahead(data: Any) -> tuple[()]:
    return ()


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
        "_plan_len",
        "_reader",
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
        self._reader: Callable[[Any], Any] = _no_read_ahead
        self._plan_len = 0

    def call(self, ctx: HookContext, timeout_ns: int) -> results.HookResult:
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
            return results.CONTINUE
        return self._finish(r)

    def _lua_failure(self, exc: Exception) -> HookFailed:
        self.sandbox.recover()
        if "not enough memory" in str(exc) or type(exc).__name__ == "LuaMemoryError":
            self.sandbox.collect_garbage()
            return HookFailed(f"memory limit of {self.sandbox.memory_limit} bytes exceeded")
        return HookFailed(f"Lua: {exc}")

    def _finish(self, r: tuple[Any, ...]) -> results.HookResult:
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
        """Compile the learned paths into a reader (Python) and a filler (Lua), both
        straight-line code: `_read_ahead(data)` returns [filler, value1, source1, ...] with
        this call's values (see convert.lua `compile_filler`)."""
        group: dict[tuple[str, ...], int] = {(): 0}
        entries: list[tuple[int, str, tuple[str, ...]]] = []
        for path in self._paths:
            parent = group.get(path[:-1])
            if parent is None:  # not learned (the table was full): nor are its children
                continue
            entries.append((parent, path[-1], path))
            group[path] = len(entries)
        spec: list[Any] = []
        for parent, key, _ in entries:
            spec += (parent, key.encode())
        filler = self.sandbox.compile_filler(*spec)
        conv = self._conv
        lines = [
            "def read(data):",
            "    if type(data) is not dict:",
            "        return ()",
            f"    out = [filler] + [None] * {2 * len(entries)}",
            "    n0 = data",
        ]
        for j, (parent, _, _) in enumerate(entries, 1):
            i = 2 * j - 1  # the value's index in `out`
            pad = "    " if parent == 0 else "        "
            if parent != 0:
                lines.append(f"    n{j} = None")
                lines.append(f"    if n{parent} is not None:")
            else:
                lines.append(f"    n{j} = None")
            lines += [
                f"{pad}v = n{parent}.get(K[{j}], M)",
                f"{pad}t = type(v)",
                f"{pad}if t is str:",
                f"{pad}    out[{i}] = v.encode()",
                f"{pad}elif t is int:",
                f"{pad}    if {INT64_MIN} <= v <= {INT64_MAX}:",
                f"{pad}        out[{i}] = v",
                f"{pad}elif t is bool or t is float:",
                f"{pad}    out[{i}] = v",
                f"{pad}elif t is dict:",
                f"{pad}    h = conv.next_handle",
                f"{pad}    conv.next_handle = h + 1",
                f"{pad}    objs[h] = v",
                f"{pad}    hp[h] = P[{j}]",
                f"{pad}    out[{i}] = DICT",
                f"{pad}    out[{i + 1}] = h",
                f"{pad}    n{j} = v",
                f"{pad}elif v is None:",
                f"{pad}    out[{i}] = NULL",
                f"{pad}elif t is list:",
                f"{pad}    out[{i}] = LIST",
                f"{pad}    out[{i + 1}] = conv.handle(v)",
            ]
        lines.append("    return out")
        env: dict[str, Any] = {
            "filler": filler,
            "K": (None, *(key for _, key, _ in entries)),
            "P": (None, *(path for _, _, path in entries)),
            "M": _MISSING,
            "conv": conv,
            "objs": conv.objects,
            "hp": conv.handle_paths,
            "DICT": conv.dict_tag,
            "LIST": conv.list_tag,
            "NULL": conv.null,
        }
        exec("\n".join(lines), env)  # our own code: names and indexes only, keys in K
        self._reader = env["read"]
        self._plan_len = len(self._paths)

    def _read_ahead(self, data: Any) -> Any:
        """[filler, value1, source1, ...] for this call's data (empty: nothing to read
        ahead, e.g. data that is not a dict). A missing key, a parent that is not an object
        now or a value that would fail to convert is left nil, to the lazy lookup."""
        if len(self._paths) != self._plan_len:
            self._compile()
        return self._reader(data)

    async def acall(self, ctx: HookContext, timeout_ns: int) -> results.HookResult:
        """The same as `call`: an embedded Lua call is synchronous, stopped by its budget."""
        return self.call(ctx, timeout_ns)

    def _result(self, r: tuple[Any, ...]) -> results.HookResult:
        kind = r[1]
        try:
            if kind == b"modified":
                data = self.sandbox.from_lua(r[2], r[3:], "modified.data")
                if not isinstance(data, dict):
                    raise InvalidResult("modified.data: must be a JSON object")
                return results.Modified(data)
            if kind == b"cancel":
                return results.Cancel(_text(r[2], "cancel.reason"))
            if kind == b"skipped":
                return results.Skipped(_text(r[2], "skipped.reason"))
            if kind == b"redirect":
                return results.Redirect(_text(r[2], "redirect.target"))
            if kind == b"replace":
                return results.Replace(self.sandbox.from_lua(r[2], r[3:], "replace.value"))
            if kind == b"retry":
                return results.Retry(_ns(r[2], "retry.delay_ms"), r[3])
            if kind == b"cache":
                return results.Cache(_text(r[2], "cache.key"), _ns(r[3], "cache.ttl_ms"))
            if kind == b"fork":
                ops = self.sandbox.from_lua(r[2], r[3:], "fork.operations")
                return results.Fork(
                    tuple(results.ForkOperation(op["operation"], op["parameters"]) for op in ops)
                )
            if kind == b"continue":
                return results.CONTINUE
        except (ConversionError, OverflowError, ValueError, TypeError) as exc:
            raise InvalidResult(str(exc)) from None
        raise InvalidResult(f"unknown result kind {kind!r}")

    def __repr__(self) -> str:
        return f"LuaHookAdapter({self.name or self.fn!r})"


def _ns(ms: Any, field: str) -> int:
    """Milliseconds from a result table (which hook code may have changed after the helper
    checked it) as nanoseconds: a finite number in [0, MAX_DURATION_MS], else InvalidResult."""
    if type(ms) not in (int, float) or not 0 <= ms <= MAX_DURATION_MS:
        raise InvalidResult(
            f"{field}: must be a number of milliseconds in [0, {MAX_DURATION_MS}], got {ms!r:.60}"
        )
    return round(float(ms) * _NS_PER_MS)


def _text(b: Any, field: str) -> str:
    # Only a Lua string (bytes) is text: `bytes(n)` of a number would allocate n bytes.
    if type(b) is bytes:
        try:
            return b.decode()
        except UnicodeDecodeError:
            pass
    raise InvalidResult(f"{field}: must be a UTF-8 string, got {b!r:.60}")
