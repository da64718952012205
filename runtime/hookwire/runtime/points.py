"""Hook points in text form: `before_tool_execution` or `custom:<name>`.

The built-in points are the values of hookwire.v1.HookPoint (proto/hookwire/v1/hook.proto),
lower case without `HOOK_POINT_`; their names come from the code generated from that enum
(`hookwire.v1.honoured`, a plain table with no protobuf code). Their wire values are in
hookwire.runtime.wire.enums.

Example:
    >>> parse_point("before_tool_execution")
    'before_tool_execution'
    >>> ALL_POINTS[0], len(ALL_POINTS)
    ('before_agent_init', 43)
"""

from __future__ import annotations

import re

from hookwire.runtime.errors import InvalidArgument
from hookwire.runtime.limits import check_name
from hookwire.v1.honoured import HONOURED

__all__ = ["ALL_POINTS", "CUSTOM_PREFIX", "parse_point"]

CUSTOM_PREFIX = "custom:"
# Custom point names: tokens of letters, digits, '_', '-', '.', ':' and '/' (no spaces).
_CUSTOM_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:/-]*\Z")

#: The built-in points in HookPoint number order (the generated table lists each one).
ALL_POINTS: tuple[str, ...] = tuple(HONOURED)
_BUILT_IN = frozenset(ALL_POINTS)


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
    if text in _BUILT_IN:
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
