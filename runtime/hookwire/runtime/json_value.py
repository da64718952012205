"""JSON values as plain Python, RFC 7396 merge patch, and lossless hookwire.v1.JsonValue conversion.

A JSON value is `None`, `bool`, `int` (any size), `float` (finite), `decimal.Decimal` (finite,
for numbers a double cannot hold), `str`, `list` (or tuple) of values, or `dict[str, value]`.

Example:
    >>> merge_patch({"a": "b", "c": {"d": "e", "f": "g"}}, {"a": "z", "c": {"f": None}})
    {'a': 'z', 'c': {'d': 'e'}}
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from hookwire.runtime.errors import InvalidArgument
from hookwire.v1 import json_pb2

__all__ = [
    "copy_json",
    "fill_proto_object",
    "from_proto_object",
    "from_proto_value",
    "merge_patch",
    "merge_patch_diff",
    "merge_patch_value",
    "to_proto_object",
    "to_proto_value",
    "validate_json",
    "validate_json_object",
]

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1
# The JSON number grammar (RFC 8259 section 6).
_NUMBER_RE = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?\Z")
_INT_RE = re.compile(r"-?(?:0|[1-9][0-9]*)\Z")


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


class _BadJson(Exception):
    """A non-JSON part found while converting; the path is collected on the way back up, so
    the conversion itself never formats a path (it runs on every hook call)."""

    def __init__(self, reason: str, suffix: str = "") -> None:
        self.reason = reason
        self.parts = [suffix] if suffix else []

    def error(self, field: str) -> InvalidArgument:
        return InvalidArgument(field + "".join(reversed(self.parts)), self.reason)


def validate_json(value: Any, field: str) -> None:
    """Raise InvalidArgument naming the path (e.g. `data.items[2]`) of the first non-JSON part.

    Example:
        >>> validate_json({"a": [1, {2}]}, "data")
        Traceback (most recent call last):
        ...
        hookwire.runtime.errors.InvalidArgument: data.a[1]: is not a JSON value (got set)
    """
    try:
        _check(value)
    except _BadJson as bad:
        raise bad.error(field) from None


def _check(value: Any) -> None:
    t = type(value)
    if t is str or t is int or t is bool or value is None:
        return
    if t is dict:
        for key, item in value.items():
            if type(key) is not str and not isinstance(key, str):
                raise _BadJson(f"object keys must be strings, got {key!r}")
            try:
                _check(item)
            except _BadJson as bad:
                bad.parts.append(f".{key}")
                raise
        return
    if t is list or t is tuple:
        for i, item in enumerate(value):
            try:
                _check(item)
            except _BadJson as bad:
                bad.parts.append(f"[{i}]")
                raise
        return
    if t is float or isinstance(value, float):
        if not math.isfinite(value):
            raise _BadJson(f"must be a finite number, got {value!r}")
        return
    if isinstance(value, (bool, int, str)):
        return
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise _BadJson(f"must be a finite number, got {value!r}")
        return
    if isinstance(value, (list, tuple)):
        _check(list(value))
        return
    if isinstance(value, dict):
        _check(dict(value))
        return
    raise _BadJson(f"is not a JSON value (got {type(value).__name__})")


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


def to_proto_value(value: Any, field: str = "value") -> json_pb2.JsonValue:
    """Convert a plain JSON value to hookwire.v1.JsonValue without losing precision.

    Example:
        >>> to_proto_value(2**70).number_text
        '1180591620717411303424'
    """
    pb = json_pb2.JsonValue()
    try:
        _fill(pb, value)
    except _BadJson as bad:
        raise bad.error(field) from None
    return pb


def _fill(pb: json_pb2.JsonValue, value: Any) -> None:
    # Exact types first (the common case, cheapest test); subclasses fall through to isinstance.
    t = type(value)
    if t is str:
        pb.string_value = value
    elif t is int:
        if _INT64_MIN <= value <= _INT64_MAX:
            pb.int_value = value
        else:
            pb.number_text = str(value)
    elif t is dict:
        obj = pb.object_value
        obj.SetInParent()
        _fill_object(obj, value)
    elif value is None:
        pb.null_value = json_pb2.JSON_NULL
    elif t is bool:
        pb.bool_value = value
    elif t is float:
        if not math.isfinite(value):
            raise _BadJson(f"must be a finite number, got {value!r}")
        pb.double_value = value
    elif t is list or t is tuple:
        arr = pb.array_value
        arr.SetInParent()
        add = arr.values.add
        for i, item in enumerate(value):
            try:
                _fill(add(), item)
            except _BadJson as bad:
                bad.parts.append(f"[{i}]")
                raise
    else:
        _fill_other(pb, value)


def _fill_other(pb: json_pb2.JsonValue, value: Any) -> None:
    """Subclasses of the JSON types, Decimal and other Mappings / sequences, or not JSON."""
    if isinstance(value, bool):
        pb.bool_value = bool(value)
    elif isinstance(value, int):
        _fill(pb, int(value))
    elif isinstance(value, float):
        _fill(pb, float(value))
    elif isinstance(value, str):
        pb.string_value = str(value)
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise _BadJson(f"must be a finite number, got {value!r}")
        pb.number_text = _decimal_text(value)
    elif isinstance(value, (list, tuple)):
        _fill(pb, list(value))
    elif isinstance(value, Mapping):
        obj = pb.object_value
        obj.SetInParent()
        _fill_object(obj, value)
    else:
        raise _BadJson(f"is not a JSON value (got {type(value).__name__})")


def _decimal_text(value: Decimal) -> str:
    # Decimal's str may use forms JSON lacks ("1E+2" is fine, "Infinity" excluded above);
    # normalise an exponent-free integer-like form when str() is not valid JSON.
    text = str(value)
    if _NUMBER_RE.match(text):
        return text
    text = format(value, "f")
    if _NUMBER_RE.match(text):
        return text
    return format(value, "e")


def _fill_object(obj: json_pb2.JsonObject, value: Mapping[Any, Any]) -> None:
    fields = obj.fields
    for key, item in value.items():
        if type(key) is not str and not isinstance(key, str):
            raise _BadJson(f"object keys must be strings, got {key!r}")
        # Strings and small ints inline: most leaves are one of them, and a call per leaf
        # is a good part of the cost of a small context.
        t = type(item)
        try:
            if t is str:
                fields[key].string_value = item
            elif t is int and _INT64_MIN <= item <= _INT64_MAX:
                fields[key].int_value = item
            else:
                _fill(fields[key], item)
        except _BadJson as bad:
            bad.parts.append(f".{key}")
            raise


def to_proto_object(value: Mapping[str, Any], field: str = "value") -> json_pb2.JsonObject:
    """Convert a dict to hookwire.v1.JsonObject.

    Example:
        >>> to_proto_object({"a": 1}).fields["a"].int_value
        1
        >>> to_proto_object({"a": [1, {"b": float("nan")}]}, "data")
        Traceback (most recent call last):
        ...
        hookwire.runtime.errors.InvalidArgument: data.a[1].b: must be a finite number, got nan
    """
    obj = json_pb2.JsonObject()
    fill_proto_object(obj, value, field)
    return obj


def fill_proto_object(obj: json_pb2.JsonObject, value: Mapping[str, Any], field: str) -> None:
    """Like `to_proto_object`, writing into `obj` (e.g. a message's JsonObject field) in place,
    which saves a copy; `obj` is marked present even when `value` is empty."""
    if type(value) is not dict and not isinstance(value, Mapping):
        raise InvalidArgument(field, f"must be a JSON object, got {type(value).__name__}")
    obj.SetInParent()
    try:
        _fill_object(obj, value)
    except _BadJson as bad:
        raise bad.error(field) from None


def from_proto_value(pb: json_pb2.JsonValue, field: str = "value") -> Any:
    """Convert hookwire.v1.JsonValue back to a plain value (number_text: int or Decimal).

    An unset JsonValue (no kind) is read as null.

    Example:
        >>> from_proto_value(to_proto_value([1, 2.5, None, {"x": "y"}]))
        [1, 2.5, None, {'x': 'y'}]
    """
    try:
        return _read(pb)
    except _BadJson as bad:
        raise bad.error(field) from None


def _read(pb: json_pb2.JsonValue) -> Any:
    kind = pb.WhichOneof("kind")
    if kind == "string_value":
        return pb.string_value
    if kind == "int_value":
        return pb.int_value
    if kind == "object_value":
        return _read_object(pb.object_value)
    if kind is None or kind == "null_value":
        return None
    if kind == "bool_value":
        return pb.bool_value
    if kind == "double_value":
        return pb.double_value
    if kind == "array_value":
        out: list[Any] = []
        append = out.append
        for i, v in enumerate(pb.array_value.values):
            try:
                append(_read(v))
            except _BadJson as bad:
                bad.parts.append(f"[{i}]")
                raise
        return out
    text = pb.number_text
    if not _NUMBER_RE.match(text):
        raise _BadJson(f"is not a JSON number: {text!r}", ".number_text")
    if _INT_RE.match(text):
        return int(text)
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the grammar check above excludes this
        raise _BadJson(f"is not a number: {text!r}", ".number_text") from None


def _read_object(pb: json_pb2.JsonObject) -> dict[str, Any]:
    out = {}
    fields = pb.fields
    for k in fields:  # keys then lookups: upb maps' items() is the slower generic ABC one
        try:
            out[k] = _read(fields[k])
        except _BadJson as bad:
            bad.parts.append(f".{k}")
            raise
    return out


def from_proto_object(pb: json_pb2.JsonObject, field: str = "value") -> dict[str, Any]:
    """Convert hookwire.v1.JsonObject to a dict.

    Example:
        >>> from_proto_object(to_proto_object({"n": 2**64}))
        {'n': 18446744073709551616}
    """
    try:
        return _read_object(pb)
    except _BadJson as bad:
        raise bad.error(field) from None
