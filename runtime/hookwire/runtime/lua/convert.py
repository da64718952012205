"""JSON values between Python and the embedded Lua state (the Python half; see convert.lua).

Python -> Lua is lazy: a dict or list crosses as a proxy table that asks `lookup` for one key,
or `items` for everything, the first time Lua code needs it, so a hook that reads two fields of
a large context pays for two fields. Strings cross as UTF-8 bytes (the runtime uses
`encoding=None`), `None` as `hookwire.null`, ints must fit a Lua integer (64-bit).

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

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from hookwire.runtime.context import HookContext

__all__ = ["ConversionError", "Converter"]

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1
# Items handed to Lua per call: a Lua call receives its values on the C stack (about 1M slots).
ITEMS_PER_CALL = 2000


class ConversionError(ValueError):
    """A value that cannot cross between Lua and Python; the message names the path."""


class Converter:
    """Python callbacks for convert.lua and the rebuilder of its tokens.

    `null`, `dict_tag`, `list_tag` and `err_tag` are private Lua tables created by the sandbox;
    Lua compares them by identity, so no data value can be mistaken for them.
    """

    __slots__ = ("dict_tag", "err_tag", "list_tag", "null")

    def __init__(self, null: Any, dict_tag: Any, list_tag: Any, err_tag: Any) -> None:
        self.null = null
        self.dict_tag = dict_tag
        self.list_tag = list_tag
        self.err_tag = err_tag

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
            if _INT64_MIN <= v <= _INT64_MAX:
                return v
            return (
                self.err_tag,
                f"{_where(key)}: the integer {v} does not fit a Lua integer (64-bit)".encode(),
            )
        if v is None:
            return self.null
        if t is dict:
            return (self.dict_tag, v)
        if t is list or t is tuple:
            return (self.list_tag, v)
        if t is Decimal and v.is_finite():
            if v == v.to_integral_value() and _INT64_MIN <= v <= _INT64_MAX:
                return int(v)
            if Decimal(float(v)) == v:
                return float(v)
            return (
                self.err_tag,
                f"{_where(key)}: the number {v} has no exact Lua representation".encode(),
            )
        return (self.err_tag, f"{_where(key)}: {t.__name__} is not a JSON value".encode())

    def lookup(self, src: Any, key: bytes) -> Any:
        """`src[key]` for a proxy's `__index`; nil (None) for a missing key."""
        try:
            v = src[key.decode()]
        except (KeyError, UnicodeDecodeError):
            return None
        # The common scalars inline: this runs once per field a hook reads.
        t = type(v)
        if t is str:
            return v.encode()
        if t is float or t is bool or (t is int and _INT64_MIN <= v <= _INT64_MAX):
            return v
        if t is dict:
            return (self.dict_tag, v)
        return self.value(v, key.decode())

    def context_field(self, ctx: HookContext, key: bytes) -> Any:
        """One field of a hook's `ctx` table, read lazily (the names are `_CONTEXT_FIELDS`)."""
        name = key.decode(errors="replace")
        if name in _CONTEXT_FIELDS:
            v = _context_field(ctx, name)
            if v is not None:
                return self.value(v, name)
        return None

    def items(self, src: Any, offset: int) -> tuple[Any, ...]:
        """(next offset or 0, items...) of a dict (key, value pairs) or list, one chunk."""
        out: list[Any] = [0]
        add = out.append
        value = self.value
        if type(src) is HookContext:
            src = {k: v for k in _CONTEXT_FIELDS if (v := _context_field(src, k)) is not None}
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
            return _build(it)
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
)


def _context_field(ctx: HookContext, name: str) -> Any:
    if name == "component":
        c = ctx.component
        return None if c is None else {"id": c.id, "type": c.type, "name": c.name}
    if name == "operation":
        op = ctx.operation
        if op is None:
            return None
        out: dict[str, Any] = {"type": op.type, "id": op.id}
        if op.parameters is not None:
            out["parameters"] = op.parameters
        if op.result is not None:
            out["result"] = op.result
        if op.error is not None:
            out["error"] = {"code": op.error.code, "message": op.error.message}
        return out
    return getattr(ctx, name)


def _where(key: str | int) -> str:
    return f"[{key}]" if isinstance(key, int) else f"context value {key!r}"


def _build(it: Iterator[Any]) -> Any:
    tok = next(it)
    if tok is None:
        code = next(it)
        if code == 1:
            return {next(it).decode(): _build(it) for _ in range(next(it))}
        if code == 2:
            return [_build(it) for _ in range(next(it))]
        if code == 0:
            return None
        return next(it)  # code 3: an untouched context container, the Python object itself
    if type(tok) is bytes:
        return tok.decode()
    return tok
