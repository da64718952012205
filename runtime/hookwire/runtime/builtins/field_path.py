"""Dotted paths into a HookContext, used by built-ins to pick a key or a count out of a context.

A path starts with a root: `data`, `metadata`, `correlation_id`, `point`, `language`,
`component` (`.id`, `.type`, `.name`), or `operation` (`.type`, `.id`, `.parameters`, `.result`,
`.error.code`, `.error.message`); then object members separated by dots.

Example:
    >>> from hookwire.runtime.context import HookContext
    >>> ctx = HookContext("before_tool_execution", {"user": {"id": "u1"}}, correlation_id="c9")
    >>> FieldPath("data.user.id").get(ctx), FieldPath("correlation_id").get(ctx)
    ('u1', 'c9')
    >>> FieldPath("data.nope").get(ctx) is MISSING
    True
"""

from __future__ import annotations

from typing import Any, Final

from hookwire.runtime.context import HookContext
from hookwire.runtime.errors import InvalidArgument

__all__ = ["MISSING", "FieldPath"]


class _Missing:
    """Marker for a path that leads nowhere (distinct from a JSON null)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()

_SCALAR_ROOTS = ("correlation_id", "point", "language")
_ROOTS = ("data", "metadata", "component", "operation", *_SCALAR_ROOTS)


class FieldPath:
    """A validated dotted path into a context; `get(ctx)` returns the value or MISSING.

    Example:
        >>> FieldPath("user_id")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        hookwire.runtime.errors.InvalidArgument: key_path: unknown root 'user_id' in 'user_id' ...
    """

    __slots__ = ("_parts", "text")

    def __init__(self, text: str, field: str = "key_path") -> None:
        if not isinstance(text, str) or not text:
            raise InvalidArgument(field, f"must be a non-empty dotted path, got {text!r}")
        parts = text.split(".")
        if any(not p for p in parts):
            raise InvalidArgument(field, f"empty segment in path {text!r}")
        if parts[0] not in _ROOTS:
            raise InvalidArgument(
                field,
                f"unknown root {parts[0]!r} in {text!r} (expected one of {', '.join(_ROOTS)})",
            )
        if parts[0] in _SCALAR_ROOTS and len(parts) > 1:
            raise InvalidArgument(field, f"{parts[0]!r} is a string and has no members: {text!r}")
        self.text = text
        self._parts = tuple(parts)

    def get(self, ctx: HookContext) -> Any:
        """The value at this path in `ctx`, or MISSING."""
        root, rest = self._parts[0], self._parts[1:]
        value: Any
        if root == "data":
            value = ctx.data
        elif root == "metadata":
            # Metadata keys may themselves contain dots ("hookwire.attempt"): join the rest.
            if not rest:
                return dict(ctx.metadata)
            return ctx.metadata.get(".".join(rest), MISSING)
        elif root == "component" or root == "operation":
            part = getattr(ctx, root)
            if part is None:
                return MISSING
            value = part.to_json()
        else:
            return getattr(ctx, root)
        for part in rest:
            if not isinstance(value, dict) or part not in value:
                return MISSING
            value = value[part]
        return value

    def __repr__(self) -> str:
        return f"FieldPath({self.text!r})"
