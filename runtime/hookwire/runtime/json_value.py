"""JSON values as plain Python, RFC 7396 merge patch, and lossless hookwire.v1.JsonValue conversion.

A JSON value is `None`, `bool`, `int` (any size), `float` (finite), `decimal.Decimal` (finite,
for numbers a double cannot hold), `str`, `list` (or tuple) of values, or `dict[str, value]`,
nested at most `MAX_JSON_DEPTH` containers deep (hookwire.runtime.limits: a scalar has depth 0,
`{}` and `[]` depth 1; every check and conversion here counts the same way and names the path of
the container that goes too deep).

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
from hookwire.runtime.framing import decode_varint
from hookwire.runtime.limits import MAX_JSON_DEPTH
from hookwire.v1 import json_pb2

__all__ = [
    "check_encoded_json",
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


_TOO_DEEP = (
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
    except _BadJson as bad:
        raise bad.error(field) from None


def _check(value: Any, depth: int) -> None:
    """depth: the containers around `value`."""
    t = type(value)
    if t is str or t is int or t is bool or value is None:
        return
    if t is dict:
        if depth >= MAX_JSON_DEPTH:
            raise _BadJson(_TOO_DEEP)
        for key, item in value.items():
            if type(key) is not str and not isinstance(key, str):
                raise _BadJson(f"object keys must be strings, got {key!r}")
            try:
                _check(item, depth + 1)
            except _BadJson as bad:
                bad.parts.append(f".{key}")
                raise
        return
    if t is list or t is tuple:
        if depth >= MAX_JSON_DEPTH:
            raise _BadJson(_TOO_DEEP)
        for i, item in enumerate(value):
            try:
                _check(item, depth + 1)
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
        _check(list(value), depth)
        return
    if isinstance(value, dict):
        _check(dict(value), depth)
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
        _fill(pb, value, 0)
    except _BadJson as bad:
        raise bad.error(field) from None
    return pb


def _fill(pb: json_pb2.JsonValue, value: Any, depth: int) -> None:
    # Exact types first (the common case, cheapest test); subclasses fall through to isinstance.
    # depth: the containers around `value`.
    t = type(value)
    if t is str:
        pb.string_value = value
    elif t is int:
        if _INT64_MIN <= value <= _INT64_MAX:
            pb.int_value = value
        else:
            pb.number_text = str(value)
    elif t is dict:
        if depth >= MAX_JSON_DEPTH:
            raise _BadJson(_TOO_DEEP)
        obj = pb.object_value
        obj.SetInParent()
        _fill_object(obj, value, depth + 1)
    elif value is None:
        pb.null_value = json_pb2.JSON_NULL
    elif t is bool:
        pb.bool_value = value
    elif t is float:
        if not math.isfinite(value):
            raise _BadJson(f"must be a finite number, got {value!r}")
        pb.double_value = value
    elif t is list or t is tuple:
        if depth >= MAX_JSON_DEPTH:
            raise _BadJson(_TOO_DEEP)
        arr = pb.array_value
        arr.SetInParent()
        add = arr.values.add
        for i, item in enumerate(value):
            try:
                _fill(add(), item, depth + 1)
            except _BadJson as bad:
                bad.parts.append(f"[{i}]")
                raise
    else:
        _fill_other(pb, value, depth)


def _fill_other(pb: json_pb2.JsonValue, value: Any, depth: int) -> None:
    """Subclasses of the JSON types, Decimal and other Mappings / sequences, or not JSON."""
    if isinstance(value, bool):
        pb.bool_value = bool(value)
    elif isinstance(value, int):
        _fill(pb, int(value), depth)
    elif isinstance(value, float):
        _fill(pb, float(value), depth)
    elif isinstance(value, str):
        pb.string_value = str(value)
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise _BadJson(f"must be a finite number, got {value!r}")
        pb.number_text = _decimal_text(value)
    elif isinstance(value, (list, tuple)):
        _fill(pb, list(value), depth)
    elif isinstance(value, Mapping):
        if depth >= MAX_JSON_DEPTH:
            raise _BadJson(_TOO_DEEP)
        obj = pb.object_value
        obj.SetInParent()
        _fill_object(obj, value, depth + 1)
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


def _fill_object(obj: json_pb2.JsonObject, value: Mapping[Any, Any], depth: int) -> None:
    """depth: the containers around the members (the object itself included)."""
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
                _fill(fields[key], item, depth)
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
        _fill_object(obj, value, 1)
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
        return _read(pb, 0)
    except _BadJson as bad:
        raise bad.error(field) from None


def _read(pb: json_pb2.JsonValue, depth: int) -> Any:
    """depth: the containers around `pb`."""
    kind = pb.WhichOneof("kind")
    if kind == "string_value":
        return pb.string_value
    if kind == "int_value":
        return pb.int_value
    if kind == "object_value":
        if depth >= MAX_JSON_DEPTH:
            raise _BadJson(_TOO_DEEP)
        return _read_object(pb.object_value, depth + 1)
    if kind is None or kind == "null_value":
        return None
    if kind == "bool_value":
        return pb.bool_value
    if kind == "double_value":
        return pb.double_value
    if kind == "array_value":
        if depth >= MAX_JSON_DEPTH:
            raise _BadJson(_TOO_DEEP)
        out: list[Any] = []
        append = out.append
        for i, v in enumerate(pb.array_value.values):
            try:
                append(_read(v, depth + 1))
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


def _read_object(pb: json_pb2.JsonObject, depth: int) -> dict[str, Any]:
    """depth: the containers around the members (the object itself included)."""
    out = {}
    fields = pb.fields
    for k in fields:  # keys then lookups: upb maps' items() is the slower generic ABC one
        try:
            out[k] = _read(fields[k], depth)
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
        return _read_object(pb, 1)
    except _BadJson as bad:
        raise bad.error(field) from None


# ---------------------------------------------------------------------------------------------
# The depth of an encoded JsonValue, without decoding it (the bus keeps payloads encoded).

# Wire tags: JsonValue.array_value (6) and .object_value (7); JsonArray.values (1) and
# JsonObject.fields (1) entries; an entry's key (1) and value (2).
_ARRAY_TAG = 0x32
_OBJECT_TAG = 0x3A
_ITEM_TAG = 0x0A
_VALUE_TAG = 0x12


def check_encoded_json(raw: bytes, field: str) -> None:
    """Raise InvalidArgument, naming the path, if the encoded hookwire.v1.JsonValue `raw`
    (bytes a protobuf parser has already accepted) nests deeper than MAX_JSON_DEPTH.

    Only values long enough to hold too many levels are walked (every container level takes
    at least four bytes), so small payloads cost one comparison.

    Example:
        >>> check_encoded_json(to_proto_value({"a": [1]}).SerializeToString(), "payload")
        >>> deep = json_pb2.JsonValue(int_value=1)
        >>> for _ in range(31):
        ...     deep = json_pb2.JsonValue(array_value=json_pb2.JsonArray(values=[deep]))
        >>> check_encoded_json(deep.SerializeToString(), "payload")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        hookwire.runtime.errors.InvalidArgument: payload[0][0]...[0]: nested deeper than 30 ...
    """
    if len(raw) < _MIN_TOO_DEEP[0]:
        return
    path = _deep_value(raw, 0, len(raw), 0)
    if path is not None:
        raise InvalidArgument(field + path, _TOO_DEEP)


# _MIN_TOO_DEEP[d]: the fewest bytes of a JsonValue, with d containers around it, that holds a
# container nested too deep (4 bytes per level: tag and length of the value's container and of
# the item or entry holding the next value; 2 for the innermost, empty container).
_MIN_TOO_DEEP = [4 * (MAX_JSON_DEPTH - d) + 2 for d in range(MAX_JSON_DEPTH + 1)]


def _skip_field(b: bytes, pos: int, tag: int) -> int:
    wt = tag & 7
    if wt == 0:
        while b[pos] >= 0x80:
            pos += 1
        return pos + 1
    if wt == 2:
        n, pos = decode_varint(b, pos)
        return pos + n
    return pos + (8 if wt == 1 else 4)  # groups do not occur in a parsed-then-encoded value


def _deep_value(b: bytes, pos: int, end: int, depth: int) -> str | None:
    """The path suffix to the first container too deep in the JsonValue b[pos:end] (`depth`
    containers around it), or None."""
    if end - pos < _MIN_TOO_DEEP[depth]:
        return None
    while pos < end:
        tag, pos = decode_varint(b, pos)
        if tag != _ARRAY_TAG and tag != _OBJECT_TAG:
            pos = _skip_field(b, pos, tag)
            continue
        n, pos = decode_varint(b, pos)
        if depth >= MAX_JSON_DEPTH:
            return ""
        found = (_deep_array if tag == _ARRAY_TAG else _deep_object)(b, pos, pos + n, depth + 1)
        if found is not None:
            return found
        pos += n
    return None


def _deep_array(b: bytes, pos: int, end: int, depth: int) -> str | None:
    index = 0
    while pos < end:
        tag, pos = decode_varint(b, pos)
        if tag != _ITEM_TAG:
            pos = _skip_field(b, pos, tag)
            continue
        n, pos = decode_varint(b, pos)
        found = _deep_value(b, pos, pos + n, depth)
        if found is not None:
            return f"[{index}]{found}"
        index += 1
        pos += n
    return None


def _deep_object(b: bytes, pos: int, end: int, depth: int) -> str | None:
    while pos < end:
        tag, pos = decode_varint(b, pos)
        if tag != _ITEM_TAG:
            pos = _skip_field(b, pos, tag)
            continue
        n, pos = decode_varint(b, pos)
        entry_end = pos + n
        if n >= _MIN_TOO_DEEP[depth]:
            key = b""
            while pos < entry_end:
                tag, pos = decode_varint(b, pos)
                if tag == _ITEM_TAG:
                    k, pos = decode_varint(b, pos)
                    key = b[pos : pos + k]
                    pos += k
                elif tag == _VALUE_TAG:
                    v, pos = decode_varint(b, pos)
                    found = _deep_value(b, pos, pos + v, depth)
                    if found is not None:
                        return f".{key.decode(errors='replace')}{found}"
                    pos += v
                else:
                    pos = _skip_field(b, pos, tag)
        pos = entry_end
    return None
