"""The embedded Lua 5.4 state hooks run in (lupa), and its sandbox.

Hook code gets a fresh environment per file: the base functions, copies of `string` (without
`dump`), `table`, `math`, `utf8`, `coroutine`, a safe `os` (`time`, `clock`, `date`,
`difftime`, reading the runtime's clock), `print` (to the `hookwire.lua` logger), `load` of
text chunks only, `require` of "hookwire" and of `.lua` files beside the hook file, and
`collectgarbage("count")`. There is no `io`, `debug`, `package`, `dofile`, `loadfile`,
`string.dump`, binary chunk, C module or `python` bridge, and Python objects are opaque.

Limits:
- memory: lupa's `max_memory` for the whole state (default 64 MiB); a hook that exceeds it
  fails with "memory limit ... exceeded".
- time: while a hook runs, a count hook (`debug.sethook`, installed before `debug` is hidden,
  also on every coroutine hook code creates) checks the *real* monotonic clock every
  `check_every` VM instructions and stops the hook at its deadline. The deadline is real time
  on purpose: a runaway loop never advances a VirtualClock, so only real time can stop it; the
  adapter then raises HookTimedOut and the executor classifies the call TIMEOUT. The stop is
  sticky: no protected call (pcall, load with a reader, coroutine.close, ...) can swallow it,
  and the hook's result is checked inside the same budget.
- C functions: the count hook cannot stop code running inside one C function, so the library
  functions whose work is not bounded by their arguments' size are bounded by sandbox.lua
  (pattern step estimates, windowed plain search, chunked string and table work).
- results are known by identity (only the SDK's helpers make them); `pairs`/`next` never
  expose the converter's private keys; `hookwire.null` is read-only. See docs/security.md.
- `__gc` metamethods are refused (a finalizer would run outside any time budget).

Example:
    >>> sb = LuaSandbox()
    >>> regs = sb.load_source('hookwire.register("session_start", function(ctx) end)', "a.lua")
    >>> regs[0].name, regs[0].point
    ('a.lua:1', 'session_start')
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import lupa.lua54 as lupa
from hookwire.runtime.bus.event import NO_DATA
from hookwire.runtime.clock import Clock, SystemClock
from hookwire.runtime.errors import InvalidArgument
from hookwire.runtime.events import EventSink
from hookwire.runtime.hook_call import current_hook_call
from hookwire.runtime.lua.convert import Converter
from hookwire.runtime.share import lua_dir

__all__ = [
    "DEFAULT_MEMORY_LIMIT",
    "LuaBus",
    "LuaLoadError",
    "LuaRegistration",
    "LuaSandbox",
    "default_sdk_path",
]

DEFAULT_MEMORY_LIMIT = 64 * 1024 * 1024
_IDENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_log = logging.getLogger("hookwire.lua")


def default_sdk_path() -> Path:
    """The Lua SDK, `hookwire.lua`, in the host Lua sources (`hookwire.runtime.share.lua_dir`)."""
    return lua_dir() / "hookwire.lua"


class LuaLoadError(InvalidArgument):
    """A hook file that does not load: syntax error, error at top level, bad registration,
    timeout or memory limit while loading. The message starts with "file:line:" when known."""


class LuaBus(Protocol):
    """What `hookwire.publish` / `hookwire.subscribe` need from the event bus."""

    def publish(
        self,
        type: str,
        payload: Any = ...,
        *,
        source_language: str = "",
        correlation_id: str = "",
        causation_id: str = "",
        traceparent: str = "",
        tracestate: str = "",
    ) -> int: ...

    def subscribe(self, *patterns: str, callback: Callable[[Any], object] | None = None) -> Any: ...


@dataclass(frozen=True, slots=True)
class LuaRegistration:
    """One `hookwire.register(point, fn, opts)` call made while a file loaded."""

    name: str
    point: str
    fn: Any  # the Lua function (lupa LuaFunction)
    where: str  # "file:line" of the register() call
    priority: int = 0
    timeout_ms: float | None = None
    failure_policy: str = "FAIL_OPEN"
    tags: tuple[str, ...] = field(default=())
    feature: str | None = None
    enabled: bool = True


def _deny_attributes(obj: Any, name: Any, is_setting: bool) -> Any:
    # Defense in depth: no Python object is handed to hook code, and if one ever were, it
    # would stay opaque (no `obj.__class__.__subclasses__()` walk out of the sandbox).
    raise AttributeError("Python objects are not accessible from hookwire Lua code")


# What every sandbox's Lua state is, beside its memory limit: Lua strings stay bytes (decoded
# where a value is converted, never implicitly), neither Python's eval nor its builtins are
# reachable from Lua, a tuple returned to Lua by a Python helper is several Lua values, and
# Python objects stay opaque.
_LUPA_OPTIONS: dict[str, Any] = {
    "encoding": None,
    "register_eval": False,
    "register_builtins": False,
    "unpack_returned_tuples": True,
    "attribute_filter": _deny_attributes,
}


class LuaSandbox:
    """One Lua state with the SDK loaded, shared by the hooks loaded into it.

    Not thread-safe: calls into one sandbox must not run concurrently (lupa serialises them
    with a lock; one hook blocks the others of the same sandbox while it runs).
    """

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        memory_limit: int = DEFAULT_MEMORY_LIMIT,
        check_every: int = 1000,
        load_timeout_ms: float = 1000.0,
        subscriber_timeout_ms: float = 100.0,
        events: EventSink | None = None,
        bus: LuaBus | None = None,
        sdk_path: Path | None = None,
    ) -> None:
        if (
            not isinstance(memory_limit, int)
            or isinstance(memory_limit, bool)
            or memory_limit < (1 << 20)
        ):
            raise InvalidArgument("memory_limit", f"must be an int >= 1 MiB, got {memory_limit!r}")
        if not isinstance(check_every, int) or isinstance(check_every, bool) or check_every < 1:
            raise InvalidArgument("check_every", f"must be a positive int, got {check_every!r}")
        for name, v in (
            ("load_timeout_ms", load_timeout_ms),
            ("subscriber_timeout_ms", subscriber_timeout_ms),
        ):
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not 0 < v < 1e12:
                raise InvalidArgument(name, f"must be a positive number, got {v!r}")
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.memory_limit = memory_limit
        self.load_timeout_ms = float(load_timeout_ms)
        self.subscriber_timeout_ms = float(subscriber_timeout_ms)
        self.events = events
        self.bus = bus
        self.subscriptions: list[Any] = []
        sdk_file = sdk_path if sdk_path is not None else default_sdk_path()
        try:
            sdk_code = sdk_file.read_bytes()
        except OSError as exc:
            raise InvalidArgument(
                "sdk_path", f"cannot read the Lua SDK {sdk_file}: {exc}"
            ) from None

        self.lua = lupa.LuaRuntime(max_memory=memory_limit, **_LUPA_OPTIONS)
        lua = self.lua
        load = lua.eval("load")

        def chunk(code: bytes, name: str) -> Any:
            r = load(code, b"=" + name.encode(), b"t")
            if type(r) is tuple:  # (nil, message): a bug in our own Lua files
                raise RuntimeError(f"{name}: {r[1].decode()}")
            return r

        sdk = chunk(sdk_code, "hookwire.lua")()
        internal = sdk[b"_internal"]
        new_table = lua.eval("function() return {} end")
        self.converter = Converter(sdk[b"null"], new_table(), new_table(), new_table())
        c = self.converter
        convert_deps = lua.table_from(
            {
                b"NULL": c.null,
                b"ARRAY_MT": internal[b"ARRAY_MT"],
                b"OBJECT_MT": internal[b"OBJECT_MT"],
                b"DICT_TAG": c.dict_tag,
                b"LIST_TAG": c.list_tag,
                b"ERR_TAG": c.err_tag,
                b"py_lookup": c.lookup,
                b"py_items": c.items,
                b"py_context_field": c.context_field,
                b"setmetatable": lua.eval("debug.setmetatable"),
                b"getmetatable": lua.eval("debug.getmetatable"),
            }
        )
        convert = chunk((lua_dir() / "convert.lua").read_bytes(), "convert.lua")(convert_deps)
        c.live_handles = convert[b"live_sources"]
        self.compile_filler = convert[b"compile_filler"]
        clock_ref = self.clock
        sandbox_deps = lua.table_from(
            {
                b"convert": convert,
                b"sdk": sdk,
                b"now": time.perf_counter,
                b"clock_wall": lambda: clock_ref.time_ns() // 1_000_000_000,
                b"clock_mono": lambda: clock_ref.monotonic_ns() / 1e9,
                b"py_print": _lua_print,
                b"read_source": _read_source,
                b"publish": self._publish,
                b"subscribe": self._subscribe,
                b"check_every": check_every,
                b"memory_limit": memory_limit,
            }
        )
        api = chunk((lua_dir() / "sandbox.lua").read_bytes(), "sandbox.lua")(sandbox_deps)
        self.call_hook = api[b"call_hook"]
        self.deliver = api[b"deliver"]
        self._load_file = api[b"load_file"]
        self._unpack = api[b"unpack"]
        self._expose = api[b"expose"]
        self._recover = api[b"recover"]
        # Nothing below is reachable from hook environments; removed all the same.
        lua.execute(
            b"python = nil; package.loaded.python = nil; package.loadlib = nil; "
            b"package.cpath = ''; package.searchers[3] = nil; package.searchers[4] = nil"
        )

    def expose(self, name: str, fn: Callable[..., Any]) -> None:
        """Make `fn` a global function `name` in hook files loaded after this call.

        For hosts and test drivers (e.g. a conformance driver advancing a VirtualClock).
        `fn` gets lupa values (strings as bytes, numbers, booleans, Lua tables) and must return
        None or a scalar (str, int, float, bool); an exception becomes a Lua error in the hook.

        Example:
            >>> sb = LuaSandbox()
            >>> sb.expose("double", lambda x: x * 2)
            >>> [r] = sb.load_source(
            ...     'hookwire.register("session_start", function() '
            ...     'return hookwire.replace(double(21)) end)', "d.lua")
            >>> from hookwire.runtime.context import HookContext
            >>> from hookwire.runtime.lua.adapter import LuaHookAdapter
            >>> LuaHookAdapter(sb, r.fn).call(HookContext("session_start"), 10**8)
            Replace(value=42)
        """
        if not isinstance(name, str) or not _IDENT_RE.match(name):
            raise InvalidArgument("name", f"must be a Lua identifier, got {name!r}")
        if not callable(fn):
            raise InvalidArgument("fn", f"must be callable, got {type(fn).__name__}")

        def call(*args: Any) -> tuple[bool, Any]:
            try:
                r = fn(*args)
            except Exception as exc:
                return False, f"{name}: {exc}".encode()
            if r is None or type(r) in (bool, int, float):
                return True, r
            if type(r) is str:
                return True, r.encode()
            return False, f"{name}: returned {type(r).__name__}, expected a scalar".encode()

        self._expose(name.encode(), call)

    # -- tokens -----------------------------------------------------------------------------

    def tokens(self, n: int, rest: tuple[Any, ...]) -> tuple[Any, ...] | list[Any]:
        """The `n` tokens a Lua call returned after its count: inline, or a table for large
        values, read in chunks."""
        if len(rest) == n:
            return rest
        table = rest[0]
        out: list[Any] = []
        step = 4000
        for i in range(1, n + 1, step):
            out.extend(self._unpack(table, i, min(i + step - 1, n)))
        return out

    def from_lua(self, n: int, rest: tuple[Any, ...], root: str) -> Any:
        """Rebuild a flattened Lua value (see convert.lua)."""
        return self.converter.from_tokens(self.tokens(n, rest), root)

    # -- loading -----------------------------------------------------------------------------

    def load_source(
        self, code: str | bytes, chunkname: str, directory: Path | None = None
    ) -> list[LuaRegistration]:
        """Run one hook file's text; return the registrations it made.

        `chunkname` is how messages name the file ("hooks/audit.lua:3: ..."); `directory` is
        where `require` finds sibling modules (None: only "hookwire").
        """
        raw = code.encode() if isinstance(code, str) else code
        deadline = time.perf_counter() + self.load_timeout_ms / 1000.0
        dir_arg = str(directory).encode() if directory is not None else b""
        status, *rest = _as_tuple(
            self._call_lua(self._load_file, raw, chunkname.encode(), dir_arg, deadline)
        )
        if status != 1:
            raise LuaLoadError(chunkname, _failure_text(status, rest, self.memory_limit))
        regs: list[LuaRegistration] = []
        table = rest[0]
        for i in range(1, len(table) + 1):
            regs.append(_registration(table[i], chunkname))
        return regs

    def load_file(self, path: Path, chunkname: str | None = None) -> list[LuaRegistration]:
        """Load a hook file from disk; see `load_source`."""
        try:
            code = path.read_bytes()
        except OSError as exc:
            raise LuaLoadError("path", f"cannot read {path}: {exc}") from None
        return self.load_source(code, chunkname or path.name, path.resolve().parent)

    def _call_lua(self, fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except lupa.LuaMemoryError:
            self.recover()
            self.collect_garbage()
            return (4, b"not enough memory")
        except lupa.LuaError as exc:
            self.recover()
            return (2, str(exc).encode())

    def recover(self) -> None:
        """After a Lua error escaped an entry point (an allocation failing outside the hook's
        protected call): end the runs no longer on the stack (their count hook, deadline)."""
        with contextlib.suppress(lupa.LuaError):
            self._recover()

    # -- callbacks from Lua (they return (ok, value | message); they never raise) -------------

    def _publish(self, event_type: bytes, n: int, *rest: Any) -> tuple[bool, Any]:
        try:
            # n == 0: `hookwire.publish(type)` without a payload (no data, not `{}`).
            payload: Any = self.from_lua(n, rest, "payload") if n else NO_DATA
            etype = event_type.decode()
            if self.bus is not None:
                call = current_hook_call()
                if call is None:
                    return True, self.bus.publish(etype, payload, source_language="lua")
                f = call.event_fields()
                return True, self.bus.publish(
                    etype,
                    payload,
                    source_language="lua",
                    correlation_id=f["correlation_id"],
                    causation_id=f["causation_id"],
                    traceparent=f["traceparent"],
                    tracestate=f["tracestate"],
                )
            if self.events is not None:
                self.events.emit(etype, payload)
                return True, None
            return False, b"hookwire.publish: no event bus or sink is bound to this Lua sandbox"
        except Exception as exc:  # InvalidArgument, RateLimited, ConversionError, ...
            return False, f"hookwire.publish: {exc}".encode()

    def _subscribe(self, pattern: bytes, fn: Any) -> tuple[bool, Any]:
        if self.bus is None:
            return False, b"hookwire.subscribe: no event bus is bound to this Lua sandbox"
        try:
            sub = self.bus.subscribe(pattern.decode(), callback=self._subscriber(fn))
        except Exception as exc:
            return False, f"hookwire.subscribe: {exc}".encode()
        self.subscriptions.append(sub)
        return True, None

    def _subscriber(self, fn: Any) -> Callable[[Any], None]:
        def deliver(event: Any) -> None:
            self.deliver_event(fn, event)

        return deliver

    def deliver_event(self, fn: Any, event: Any) -> None:
        """Call a Lua subscriber with an event (an object with type/payload/... or a dict).

        Failures are logged on the `hookwire.lua` logger, never raised into the publisher.
        """
        if isinstance(event, dict):
            view = event
        else:
            view = {
                "type": getattr(event, "type", ""),
                "payload": getattr(event, "payload", None),
                "sequence": getattr(event, "sequence", 0),
                "id": getattr(event, "id", ""),
                "source": getattr(event, "source", ""),
                "source_language": getattr(event, "source_language", ""),
                "correlation_id": getattr(event, "correlation_id", ""),
            }
        deadline = time.perf_counter() + self.subscriber_timeout_ms / 1000.0
        conv = self.converter
        conv.maybe_sweep()
        outer = conv.recorder
        conv.recorder = None  # a subscriber's reads teach no hook's read-ahead
        try:
            status, *rest = _as_tuple(self._call_lua(self.deliver, fn, deadline, conv.handle(view)))
        finally:
            conv.recorder = outer
        if status != 0:
            _log.warning(
                "Lua subscriber failed on %s: %s",
                view.get("type"),
                _failure_text(status, rest, self.memory_limit),
            )

    def collect_garbage(self) -> None:
        """Run a full Lua collection (after a memory failure outside a protected call)."""
        with contextlib.suppress(lupa.LuaError):
            self.lua.execute(b"collectgarbage()")

    def memory_used(self) -> int:
        """Bytes the Lua state holds now."""
        used: int = self.lua.get_memory_used()
        return used


def _as_tuple(r: Any) -> tuple[Any, ...]:
    return r if type(r) is tuple else (r,)


def _failure_text(status: int, rest: list[Any], memory_limit: int) -> str:
    if status == 3:
        return "timeout (stopped by the instruction budget)"
    if status == 4:
        return f"memory limit of {memory_limit} bytes exceeded"
    msg = rest[0] if rest else b""
    return msg.decode(errors="replace") if isinstance(msg, bytes) else str(msg)


def _lua_print(text: bytes) -> None:
    _log.info("%s", text.decode(errors="replace"))


def _read_source(directory: bytes, rel: bytes) -> tuple[bytes | None, bytes | None]:
    """For sandbox.lua's `require`: the bytes of `rel` (a path it built from a checked module
    name) inside `directory` as (code, None); (None, None) when no such file lies inside it
    (symbolic links leading out included); (None, message) when it cannot be read."""
    root = Path(os.fsdecode(directory)).resolve()
    path = (root / os.fsdecode(rel)).resolve()
    if not (path.is_relative_to(root) and path.is_file()):
        return None, None
    try:
        return path.read_bytes(), None
    except OSError as exc:
        return None, f"require: cannot read {path}: {exc}".encode()


_POLICIES = {b"fail_open": "FAIL_OPEN", b"fail_closed": "FAIL_CLOSED"}


def _registration(reg: Any, chunkname: str) -> LuaRegistration:
    where_raw = reg[b"where"]
    where = where_raw.decode(errors="replace") if where_raw is not None else chunkname
    opts = reg[b"opts"]

    def opt(key: str) -> Any:
        return opts[key.encode()]

    name = opt("name")
    tags = opt("tags")
    policy = opt("failure_policy")
    timeout = opt("timeout_ms")
    feature = opt("feature")
    enabled = opt("enabled")
    priority = opt("priority")
    return LuaRegistration(
        name=name.decode() if name is not None else where,
        point=reg[b"point"].decode(),
        fn=reg[b"fn"],
        where=where,
        priority=priority if priority is not None else 0,
        timeout_ms=float(timeout) if timeout is not None else None,
        failure_policy=_POLICIES[policy] if policy is not None else "FAIL_OPEN",
        tags=tuple(tags[i].decode() for i in range(1, len(tags) + 1)) if tags is not None else (),
        feature=feature.decode() if feature is not None else None,
        enabled=enabled if enabled is not None else True,
    )
