"""JSON values as plain Python: validation, copies and RFC 7396 merge patch.

A JSON value is `None`, `bool`, `int` (any size), `float` (finite), `decimal.Decimal` (finite,
for numbers a double cannot hold), `str`, `list` (or tuple) of values, or `dict[str, value]`,
nested at most `MAX_JSON_DEPTH` containers deep (hookwire.runtime.limits: a scalar has depth 0,
`{}` and `[]` depth 1; every check here, and every conversion in hookwire.runtime.wire.json,
counts the same way and names the path of the container that goes too deep).

Example:
    >>> merge_patch({"a": "b", "c": {"d": "e", "f": "g"}}, {"a": "z", "c": {"f": None}})
    {'a': 'z', 'c': {'d': 'e'}}
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any

from hookwire.runtime.errors import InvalidArgument
from hookwire.runtime.limits import MAX_JSON_DEPTH

__all__ = [
    "JSON_INTEGER",
    "JSON_NUMBER",
    "TOO_DEEP",
    "NotJson",
    "copy_json",
    "merge_patch",
    "merge_patch_diff",
    "merge_patch_value",
    "validate_json",
    "validate_json_object",
]

#: The JSON number grammar (RFC 8259 section 6), and its integers.
JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?\Z")
JSON_INTEGER = re.compile(r"-?(?:0|[1-9][0-9]*)\Z")


def merge_patch_value(target: Any, patch: Any) -> Any:
    """RFC 7396 MergePatch(target, patch) on any JSON values; returns new containers.

    Example:
        >>> merge_patch_value([1, 2], {"a": None, "b": 1})
        {'b': 1}
    """
    if not isinstance(patch, dict):
        return patch
    result: dict[str, Any] = dict(target) if isinstance(target, dict) else {}
    for name, value in patch.items():
        if value is None:
            result.pop(name, None)
        elif isinstance(value, dict):
            result[name] = merge_patch_value(result.get(name), value)
        else:
            result[name] = value
    return result


def merge_patch(target: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """Apply a JSON Merge Patch object to a JSON object; the inputs are never mutated.

    `null` members delete keys, objects merge recursively, anything else replaces.

    Example:
        >>> merge_patch({"title": "Hello", "tags": ["x"]}, {"tags": None, "n": 1})
        {'title': 'Hello', 'n': 1}
    """
    merged: dict[str, Any] = merge_patch_value(target, patch)
    return merged


def merge_patch_diff(source: dict[str, Any], target: dict[str, Any]) -> dict[str, Any]:
    """A merge patch that turns `source` into `target`: `merge_patch(source, diff) == target`.

    Exact whenever `target` holds no null member that `source` lacks at the same place
    (always so when `target` came from `source` through merge patches, which cannot create
    null members).

    Example:
        >>> merge_patch_diff({"a": 1, "b": {"c": 2, "d": 3}}, {"b": {"c": 2, "d": 4}, "e": 5})
        {'a': None, 'b': {'d': 4}, 'e': 5}
    """
    patch: dict[str, Any] = {}
    for key in source:
        if key not in target:
            patch[key] = None
    for key, value in target.items():
        if key not in source:
            patch[key] = value
            continue
        old = source[key]
        if old is value:
            continue
        if isinstance(old, dict) and isinstance(value, dict):
            sub = merge_patch_diff(old, value)
            if sub:
                patch[key] = sub
        elif old != value or type(old) is not type(value):
            patch[key] = value
    return patch


def copy_json(value: Any) -> Any:
    """A deep copy of a JSON value (dicts and lists copied, scalars shared).

    Example:
        >>> a = {"x": [1, {"y": 2}]}
        >>> b = copy_json(a)
        >>> b["x"][1]["y"] = 3
        >>> a
        {'x': [1, {'y': 2}]}
    """
    if isinstance(value, dict):
        return {k: copy_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [copy_json(v) for v in value]
    return value


class NotJson(Exception):
    """A non-JSON part found while walking a value (here, or while converting it in
    hookwire.runtime.wire.json); the path is collected on the way back up (`parts`, innermost
    first), so a walk never formats a path (conversions run on every hook call)."""

    def __init__(self, reason: str, suffix: str = "") -> None:
        self.reason = reason
        self.parts = [suffix] if suffix else []

    def error(self, field: str) -> InvalidArgument:
        return InvalidArgument(field + "".join(reversed(self.parts)), self.reason)


TOO_DEEP = (
    f"nested deeper than {MAX_JSON_DEPTH} (the limit on objects and arrays around a JSON value)"
)


def validate_json(value: Any, field: str) -> None:
    """Raise InvalidArgument naming the path (e.g. `data.items[2]`) of the first non-JSON part,
    or of the first container nested deeper than MAX_JSON_DEPTH.

    Example:
        >>> validate_json({"a": [1, {2}]}, "data")
        Traceback (most recent call last):
        ...
        hookwire.runtime.errors.InvalidArgument: data.a[1]: is not a JSON value (got set)
    """
    try:
        _check(value, 0)
    except NotJson as bad:
        raise bad.error(field) from None


def _check(value: Any, depth: int) -> None:
    """depth: the containers around `value`."""
    t = type(value)
    if t is str or t is int or t is bool or value is None:
        return
    if t is dict:
        if depth >= MAX_JSON_DEPTH:
            raise NotJson(TOO_DEEP)
        for key, item in value.items():
            if type(key) is not str and not isinstance(key, str):
                raise NotJson(f"object keys must be strings, got {key!r}")
            try:
                _check(item, depth + 1)
            except NotJson as bad:
                bad.parts.append(f".{key}")
                raise
        return
    if t is list or t is tuple:
        if depth >= MAX_JSON_DEPTH:
            raise NotJson(TOO_DEEP)
        for i, item in enumerate(value):
            try:
                _check(item, depth + 1)
            except NotJson as bad:
                bad.parts.append(f"[{i}]")
                raise
        return
    if t is float or isinstance(value, float):
        if not math.isfinite(value):
            raise NotJson(f"must be a finite number, got {value!r}")
        return
    if isinstance(value, (bool, int, str)):
        return
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise NotJson(f"must be a finite number, got {value!r}")
        return
    if isinstance(value, (list, tuple)):
        _check(list(value), depth)
        return
    if isinstance(value, dict):
        _check(dict(value), depth)
        return
    raise NotJson(f"is not a JSON value (got {type(value).__name__})")


def validate_json_object(value: Any, field: str) -> dict[str, Any]:
    """Check that `value` is a JSON object (a dict) and return it.

    Example:
        >>> validate_json_object([1], "patch")
        Traceback (most recent call last):
        ...
        hookwire.runtime.errors.InvalidArgument: patch: must be a JSON object, got list
    """
    if not isinstance(value, dict):
        raise InvalidArgument(field, f"must be a JSON object, got {type(value).__name__}")
    validate_json(value, field)
    return value
