"""Hook points in text form: `before_tool_execution` or `custom:<name>`.

Example:
    >>> parse_point("before_tool_execution")
    'before_tool_execution'
    >>> point_to_proto("custom:audit")
    (100, 'audit')
"""

from __future__ import annotations

import re

from hookwire.runtime.errors import InvalidArgument
from hookwire.runtime.limits import check_name
from hookwire.v1 import hook_pb2

__all__ = ["ALL_POINTS", "CUSTOM_PREFIX", "parse_point", "point_from_proto", "point_to_proto"]

CUSTOM_PREFIX = "custom:"
_PREFIX = "HOOK_POINT_"
_SPECIAL = {"HOOK_POINT_UNSPECIFIED", "HOOK_POINT_CUSTOM"}
# Custom point names: tokens of letters, digits, '_', '-', '.', ':' and '/' (no spaces).
_CUSTOM_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:/-]*\Z")

_NAME_TO_ENUM: dict[str, int] = {
    name[len(_PREFIX) :].lower(): number
    for name, number in hook_pb2.HookPoint.items()
    if name not in _SPECIAL
}
_ENUM_TO_NAME: dict[int, str] = {v: k for k, v in _NAME_TO_ENUM.items()}

ALL_POINTS: tuple[str, ...] = tuple(sorted(_NAME_TO_ENUM, key=_NAME_TO_ENUM.__getitem__))


def parse_point(text: str, field: str = "point") -> str:
    """Validate a point's text form and return it.

    Example:
        >>> parse_point("before_tool_exec")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        hookwire.runtime.errors.InvalidArgument: point: unknown hook point 'before_tool_exec' ...
    """
    if not isinstance(text, str):
        raise InvalidArgument(field, f"must be a string, got {type(text).__name__}")
    if text in _NAME_TO_ENUM:
        return text
    if text.startswith(CUSTOM_PREFIX):
        name = text[len(CUSTOM_PREFIX) :]
        check_name(name, field)
        if not _CUSTOM_RE.match(name):
            raise InvalidArgument(
                field,
                f"invalid custom point name {name!r} in {text!r} (letters, digits, '_', '-', "
                "'.', ':', '/'; not empty)",
            )
        return text
    raise InvalidArgument(
        field,
        f"unknown hook point {text!r} (expected one of the 43 points such as "
        "'before_tool_execution', or 'custom:<name>')",
    )


# Points already converted: every remote call encodes its point, and programs use few points.
# Bounded (cleared when full) since custom point names come from callers.
_TO_PROTO: dict[str, tuple[int, str]] = {}
_TO_PROTO_MAX = 4096


def point_to_proto(text: str, field: str = "point") -> tuple[int, str]:
    """Return `(HookPoint enum value, custom_point)` for a point's text form."""
    known = _TO_PROTO.get(text) if type(text) is str else None
    if known is not None:
        return known
    text = parse_point(text, field)
    number = _NAME_TO_ENUM.get(text)
    if number is not None:
        pair = (number, "")
    else:
        pair = (hook_pb2.HOOK_POINT_CUSTOM, text[len(CUSTOM_PREFIX) :])
    if len(_TO_PROTO) >= _TO_PROTO_MAX:
        _TO_PROTO.clear()
    _TO_PROTO[text] = pair
    return pair


def point_from_proto(enum_value: int, custom_name: str = "", field: str = "point") -> str:
    """Return the text form of a `(HookPoint, custom_point)` pair.

    Example:
        >>> point_from_proto(10)
        'before_tool_execution'
    """
    if enum_value == hook_pb2.HOOK_POINT_CUSTOM:
        return parse_point(CUSTOM_PREFIX + custom_name, "custom_point")
    name = _ENUM_TO_NAME.get(enum_value)
    if name is None:
        raise InvalidArgument(field, f"unknown or unspecified HookPoint value {enum_value}")
    if custom_name:
        raise InvalidArgument(
            "custom_point", f"must be empty unless point is CUSTOM, got {custom_name!r}"
        )
    return name
