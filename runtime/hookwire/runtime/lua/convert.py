"""JSON values between Python and the embedded Lua state (the Python half; see convert.lua).

Python -> Lua is lazy: a dict or list crosses as a proxy table that asks `lookup` for one key,
or `items` for everything, the first time Lua code needs it, so a hook that reads two fields of
a large context pays for two fields. Strings cross as UTF-8 bytes (the runtime uses
`encoding=None`), `None` as `hookwire.null`, ints must fit a Lua integer (64-bit).

Containers cross as integer *handles* into `Converter.objects`, never as Python objects: lupa
wraps every Python object it hands to Lua in a new userdata (measured: about 0.3 us each), and
a handle is a plain Lua integer. A handle stays valid while its Lua proxy lives (hook code may
keep a context table or an event payload): convert.lua records each proxy in a weak table, and
`sweep` (run when the handle table has doubled) keeps only the objects of proxies still alive.

Read-ahead (adapter.py): while a hook runs, `lookup` records the data paths it reads into the
adapter's `recorder`; later calls pass those paths' current values with the call (convert.lua
`prefill`), so a hook reading the same fields each time makes no per-field crossing.

Lua -> Python is eager: convert.lua flattens a value into tokens and `from_tokens` rebuilds it.
An empty table is an object (`{}`) unless marked with `hookwire.array`; tables that came from a
Python list keep their array mark, so `[]` and `{}` both round-trip.

Example:
    >>> from hookwire.runtime.lua.sandbox import LuaSandbox
    >>> sb = LuaSandbox()
    >>> c = sb.converter
    >>> c.from_tokens((None, 1, 2, b"a", 1, b"b", None, 2, 0), "value")
    {'a': 1, 'b': []}
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

from hookwire.runtime.context import HookContext
from hookwire.runtime.limits import INT64_MAX, INT64_MIN

__all__ = ["ConversionError", "Converter"]

# Items handed to Lua per call: a Lua call receives its values on the C stack (about 1M slots).
ITEMS_PER_CALL = 2000


class ConversionError(ValueError):
    """A value that cannot cross between Lua and Python; the message names the path."""


class Converter:
    """Python callbacks for convert.lua and the rebuilder of its tokens.

    `null`, `dict_tag`, `list_tag` and `err_tag` are private Lua tables created by the sandbox;
    Lua compares them by identity, so no data value can be mistaken for them.
    """

    __slots__ = (
        "dict_tag",
        "err_tag",
        "handle_paths",
        "list_tag",
        "live_handles",
        "lookup",
        "next_handle",
        "null",
        "objects",
        "recorder",
        "root",
        "sweep_at",
        "sweep_min",
    )

    def __init__(self, null: Any, dict_tag: Any, list_tag: Any, err_tag: Any) -> None:
        self.null = null
        self.dict_tag = dict_tag
        self.list_tag = list_tag
        self.err_tag = err_tag
        # handle -> the Python object behind a Lua proxy (see the module doc).
        self.objects: dict[int, Any] = {}
        self.next_handle = 1
        # Fewest handles a sweep waits for (tests lower it to sweep often).
        self.sweep_min = _SWEEP_MIN
        self.sweep_at = _SWEEP_MIN
        # Set by the sandbox: the handles of the proxies alive in Lua (convert.lua `live`).
        self.live_handles: Callable[[], Any] | None = None
        # Read-ahead learning (see adapter.py): while a hook runs, `recorder` collects the
        # data paths it looks up; `root` is the handle of the running hook's ctx.data and
        # `handle_paths` the path of each handle below it (a handle's path never changes).
        self.recorder: dict[tuple[str, ...], None] | None = None
        self.root = 0
        self.handle_paths: dict[int, tuple[str, ...]] = {}
        self.lookup = self._make_lookup()

    # -- handles -------------------------------------------------------------------------------

    def handle(self, obj: Any) -> int:
        """A handle Lua code passes back for `obj` (valid while a proxy holds it)."""
        h = self.next_handle
        self.next_handle = h + 1
        self.objects[h] = obj
        return h

    def maybe_sweep(self) -> None:
        """Drop the objects of collected or materialized proxies once the table has doubled
        since the last sweep (amortized O(1) per handle). Call only between conversions: a
        handle given to Lua must have its proxy by then."""
        if len(self.objects) >= self.sweep_at and self.live_handles is not None:
            objs = self.objects
            alive = map(int, self.live_handles().split())
            keep = {h: objs[h] for h in alive if h in objs}
            objs.clear()
            objs.update(keep)
            hp = self.handle_paths
            paths = {h: hp[h] for h in keep if h in hp}
            hp.clear()
            hp.update(paths)
            self.sweep_at = max(self.sweep_min, 2 * len(objs))

    def resolve(self, h: Any) -> Any:
        """The object behind handle `h` (ConversionError for an unknown one)."""
        try:
            return self.objects[h]
        except (KeyError, TypeError):
            raise ConversionError(f"unknown context handle {h!r}") from None

    # -- Python -> Lua (called from convert.lua) -------------------------------------------

    def value(self, v: Any, key: str | int) -> Any:
        """One Python value as Lua receives it: a scalar, `null`, or (tag, container/message).

        `key` (a dict key or list index) only names the value in an error message.
        """
        t = type(v)
        if t is str:
            return v.encode()
        if t is bool or t is float:
            return v
        if t is int:
            if INT64_MIN <= v <= INT64_MAX:
                return v
            return (
                self.err_tag,
                f"{_where(key)}: the integer {v} does not fit a Lua integer (64-bit)".encode(),
            )
        if v is None:
            return self.null
        if t is dict:
            return (self.dict_tag, self.handle(v))
        if t is list or t is tuple:
            return (self.list_tag, self.handle(v))
        if t is Decimal and v.is_finite():
            if v == v.to_integral_value() and INT64_MIN <= v <= INT64_MAX:
                return int(v)
            if Decimal(float(v)) == v:
                return float(v)
            return (
                self.err_tag,
                f"{_where(key)}: the number {v} has no exact Lua representation".encode(),
            )
        return (self.err_tag, f"{_where(key)}: {t.__name__} is not a JSON value".encode())

    def _make_lookup(self) -> Callable[[int, bytes], Any]:
        """`lookup(h, key)`: `objects[h][key]` for a proxy's `__index`; nil (None) for a
        missing key. A closure over locals: it runs once per field a hook reads."""
        objs = self.objects
        paths = self.handle_paths
        dict_tag, err_tag, value = self.dict_tag, self.err_tag, self.value
        conv = self

        def lookup(h: int, key: bytes) -> Any:
            src = objs.get(h)
            if src is None:
                return (err_tag, b"unknown context handle")
            try:
                k = key.decode()
                v = src[k]
            except (KeyError, UnicodeDecodeError):
                return None
            path = None
            rec = conv.recorder
            if rec is not None:
                path = () if h == conv.root else paths.get(h)
                if path is not None:
                    path = (*path, k)
                    if len(rec) < MAX_READ_AHEAD:
                        rec[path] = None
            t = type(v)
            if t is str:
                return v.encode()
            if t is float or t is bool or (t is int and INT64_MIN <= v <= INT64_MAX):
                return v
            if t is dict:
                n = conv.next_handle
                conv.next_handle = n + 1
                objs[n] = v
                if path is not None:
                    paths[n] = path
                return (dict_tag, n)
            return value(v, k)

        return lookup

    def context_field(self, h: int, key: bytes) -> Any:
        """One field of a hook's `ctx` table, read lazily (the names are `_CONTEXT_FIELDS`)."""
        name = key.decode(errors="replace")
        if name in _CONTEXT_FIELDS:
            v = _context_field(self.resolve(h), name)
            if v is not None:
                return self.value(v, name)
        return None

    def items(self, h: int, offset: int) -> tuple[Any, ...]:
        """(next offset or 0, items...) of a dict (key, value pairs) or list, one chunk."""
        src = self.resolve(h)
        out: list[Any] = [0]
        add = out.append
        value = self.value
        if type(src) is HookContext:
            src = _context_dict(src)
        if type(src) is dict:
            if offset == 0 and len(src) <= ITEMS_PER_CALL:
                chunk: Any = src.items()
            else:
                chunk = list(src.items())[offset : offset + ITEMS_PER_CALL]
            for k, v in chunk:
                add(k.encode())
                r = value(v, k)
                if type(r) is tuple:
                    out.extend(r)
                else:
                    add(r)
        else:
            for i, v in enumerate(src[offset : offset + ITEMS_PER_CALL], offset):
                r = value(v, i)
                if type(r) is tuple:
                    out.extend(r)
                else:
                    add(r)
        if offset + ITEMS_PER_CALL < len(src):
            out[0] = offset + ITEMS_PER_CALL
        return tuple(out)

    # -- Lua -> Python ------------------------------------------------------------------------

    def from_tokens(self, tokens: tuple[Any, ...] | list[Any], root: str) -> Any:
        """Rebuild the value convert.lua's `flatten` emitted (it has checked the UTF-8 and
        named paths in its errors already)."""
        it = iter(tokens)
        try:
            return _build(it, self.resolve)
        except (StopIteration, UnicodeDecodeError) as exc:
            raise ConversionError(f"{root}: malformed value from Lua ({exc!r})") from None


# What a Lua hook's `ctx` holds (absent when None): see sdk/lua/README.md.
_CONTEXT_FIELDS = (
    "point",
    "data",
    "metadata",
    "language",
    "correlation_id",
    "timestamp_ns",
    "operation",
    "component",
    "parent",
    "distributed",
)


def _context_dict(ctx: HookContext) -> dict[str, Any]:
    """A whole context as the JSON-like dict a Lua hook sees (for `ctx.parent`)."""
    return {k: v for k in _CONTEXT_FIELDS if (v := _context_field(ctx, k)) is not None}


def _context_field(ctx: HookContext, name: str) -> Any:
    if name == "parent":
        p = ctx.parent
        return None if p is None else _context_dict(p)
    if name == "distributed":
        d = ctx.distributed
        if d is None:
            return None
        return {
            "remote_agent_id": d.remote_agent_id,
            "propagate_to_remote": d.propagate_to_remote,
            "propagate_events": d.propagate_events,
            "propagate_baggage": d.propagate_baggage,
            "traceparent": d.traceparent,
            "tracestate": d.tracestate,
        }
    if name == "component":
        c = ctx.component
        return None if c is None else c.to_json()
    if name == "operation":
        op = ctx.operation
        return None if op is None else op.to_json()
    return getattr(ctx, name)


def _where(key: str | int) -> str:
    return f"[{key}]" if isinstance(key, int) else f"context value {key!r}"


# Most data paths one hook's read-ahead learns (adapter.py).
MAX_READ_AHEAD = 32
# Fewest handles a sweep waits for (a sweep walks the live proxies once).
_SWEEP_MIN = 16384


def _build(it: Iterator[Any], resolve: Callable[[Any], Any]) -> Any:
    tok = next(it)
    if tok is None:
        return _container(it, resolve)
    if type(tok) is bytes:
        return tok.decode()
    return tok


def _container(it: Iterator[Any], resolve: Callable[[Any], Any]) -> Any:
    """The value after a nil marker. Scalar items are decoded inline (no call per item)."""
    code = next(it)
    if code == 1:
        out: dict[str, Any] = {}
        for _ in range(next(it)):
            k = next(it).decode()
            v = next(it)
            if v is None:
                v = _container(it, resolve)
            elif type(v) is bytes:
                v = v.decode()
            out[k] = v
        return out
    if code == 2:
        items: list[Any] = []
        add = items.append
        for _ in range(next(it)):
            v = next(it)
            if v is None:
                v = _container(it, resolve)
            elif type(v) is bytes:
                v = v.decode()
            add(v)
        return items
    if code == 0:
        return None
    # code 3: an untouched context container: the Python object itself (by its handle)
    return resolve(next(it))
