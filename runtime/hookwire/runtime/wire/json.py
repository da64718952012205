"""hookwire.v1.JsonValue / JsonObject <-> plain JSON values, losslessly.

Plain JSON values are hookwire.runtime.json_value's: `None`, bool, int (any size), float
(finite), `decimal.Decimal`, str, list (or tuple), dict[str, ...]. Ints in the int64 range
become `int_value`, other ints and Decimals `number_text` (read back as int or Decimal), floats
`double_value`. Every conversion refuses values nested deeper than MAX_JSON_DEPTH and names the
path of the offending part after `field`.

Example:
    >>> from_proto_value(to_proto_value([1, 2.5, None, {"x": "y"}]))
    [1, 2.5, None, {'x': 'y'}]
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from decimal import Decimal, InvalidOperation
from math import isfinite
from typing import Any

from hookwire.runtime.errors import InvalidArgument
from hookwire.runtime.framing import decode_varint
from hookwire.runtime.json_value import JSON_INTEGER, JSON_NUMBER, TOO_DEEP, NotJson
from hookwire.runtime.limits import INT64_MAX, INT64_MIN, MAX_JSON_DEPTH
from hookwire.runtime.wire.tags import field_key
from hookwire.v1 import json_pb2

__all__ = [
    "check_encoded_json",
    "fill_proto_object",
    "from_proto_object",
    "from_proto_value",
    "to_proto_object",
    "to_proto_value",
]


def to_proto_value(value: Any, field: str = "value") -> json_pb2.JsonValue:
    """Convert a plain JSON value to hookwire.v1.JsonValue without losing precision.

    Example:
        >>> to_proto_value(2**70).number_text
        '1180591620717411303424'
    """
    pb = json_pb2.JsonValue()
    try:
        _fill(pb, value, 0)
    except NotJson as bad:
        raise bad.error(field) from None
    return pb


def _fill(pb: json_pb2.JsonValue, value: Any, depth: int) -> None:
    # Exact types first (the common case, cheapest test); subclasses fall through to isinstance.
    # depth: the containers around `value`.
    t = type(value)
    if t is str:
        pb.string_value = value
    elif t is int:
        if INT64_MIN <= value <= INT64_MAX:
            pb.int_value = value
        else:
            pb.number_text = str(value)
    elif t is dict:
        if depth >= MAX_JSON_DEPTH:
            raise NotJson(TOO_DEEP)
        obj = pb.object_value
        obj.SetInParent()
        _fill_object(obj, value, depth + 1)
    elif value is None:
        pb.null_value = json_pb2.JSON_NULL
    elif t is bool:
        pb.bool_value = value
    elif t is float:
        if not isfinite(value):
            raise NotJson(f"must be a finite number, got {value!r}")
        pb.double_value = value
    elif t is list or t is tuple:
        if depth >= MAX_JSON_DEPTH:
            raise NotJson(TOO_DEEP)
        arr = pb.array_value
        arr.SetInParent()
        add = arr.values.add
        for i, item in enumerate(value):
            try:
                _fill(add(), item, depth + 1)
            except NotJson as bad:
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
            raise NotJson(f"must be a finite number, got {value!r}")
        pb.number_text = _decimal_text(value)
    elif isinstance(value, (list, tuple)):
        _fill(pb, list(value), depth)
    elif isinstance(value, Mapping):
        if depth >= MAX_JSON_DEPTH:
            raise NotJson(TOO_DEEP)
        obj = pb.object_value
        obj.SetInParent()
        _fill_object(obj, value, depth + 1)
    else:
        raise NotJson(f"is not a JSON value (got {type(value).__name__})")


def _decimal_text(value: Decimal) -> str:
    # Decimal's str may use forms JSON lacks ("1E+2" is fine, "Infinity" excluded above);
    # normalise an exponent-free integer-like form when str() is not valid JSON.
    text = str(value)
    if JSON_NUMBER.match(text):
        return text
    text = format(value, "f")
    if JSON_NUMBER.match(text):
        return text
    return format(value, "e")


def _fill_object(obj: json_pb2.JsonObject, value: Mapping[Any, Any], depth: int) -> None:
    """depth: the containers around the members (the object itself included)."""
    fields = obj.fields
    for key, item in value.items():
        if type(key) is not str and not isinstance(key, str):
            raise NotJson(f"object keys must be strings, got {key!r}")
        # Strings and small ints inline: most leaves are one of them, and a call per leaf
        # is a good part of the cost of a small context.
        t = type(item)
        try:
            if t is str:
                fields[key].string_value = item
            elif t is int and INT64_MIN <= item <= INT64_MAX:
                fields[key].int_value = item
            else:
                _fill(fields[key], item, depth)
        except NotJson as bad:
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
    except NotJson as bad:
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
    except NotJson as bad:
        raise bad.error(field) from None


def _read(pb: json_pb2.JsonValue, depth: int) -> Any:
    """depth: the containers around `pb`."""
    kind = pb.WhichOneof("kind")
    if kind == "string_value":
        return pb.string_value
    if kind == "int_value":
        return pb.int_value
    if kind == "object_value" or kind == "array_value":
        if depth >= MAX_JSON_DEPTH:
            raise NotJson(TOO_DEEP)
        if kind == "object_value":
            return _read_object(pb.object_value, depth + 1)
        return _read_array(pb.array_value, depth + 1)
    if kind is None or kind == "null_value":
        return None
    if kind == "bool_value":
        return pb.bool_value
    if kind == "double_value":
        return pb.double_value
    text = pb.number_text
    if not JSON_NUMBER.match(text):
        raise NotJson(f"is not a JSON number: {text!r}", ".number_text")
    if JSON_INTEGER.match(text):
        return int(text)
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the grammar check above excludes this
        raise NotJson(f"is not a number: {text!r}", ".number_text") from None


def _read_array(pb: json_pb2.JsonArray, depth: int) -> list[Any]:
    """depth: the containers around the items (the array itself included)."""
    out: list[Any] = []
    append = out.append
    for i, v in enumerate(pb.values):
        try:
            append(_read(v, depth))
        except NotJson as bad:
            bad.parts.append(f"[{i}]")
            raise
    return out


def _read_object(pb: json_pb2.JsonObject, depth: int) -> dict[str, Any]:
    """depth: the containers around the members (the object itself included)."""
    out = {}
    fields = pb.fields
    for k in fields:  # keys then lookups: upb maps' items() is the slower generic ABC one
        try:
            out[k] = _read(fields[k], depth)
        except NotJson as bad:
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
    except NotJson as bad:
        raise bad.error(field) from None


# ---------------------------------------------------------------------------------------------
# The depth of an encoded JsonValue, without decoding it (the bus keeps payloads encoded).

# Field tags, from the descriptors: JsonValue.array_value and .object_value; an item of
# JsonArray.values, an entry of JsonObject.fields, and an entry's key and value.
_ARRAY_TAG = field_key(json_pb2.JsonValue, "array_value")
_OBJECT_TAG = field_key(json_pb2.JsonValue, "object_value")
_ITEM_TAG = field_key(json_pb2.JsonArray, "values")
_FIELD_TAG = field_key(json_pb2.JsonObject, "fields")
_ENTRY = json_pb2.JsonObject.FieldsEntry
_KEY_TAG = field_key(_ENTRY, "key")
_VALUE_TAG = field_key(_ENTRY, "value")


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
        raise InvalidArgument(field + path, TOO_DEEP)


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


def _fields(b: bytes, pos: int, end: int, wanted: int) -> Iterator[tuple[int, int]]:
    """`(start, end)` of the value of each length-delimited field tagged `wanted` in
    b[pos:end]; other fields are skipped."""
    while pos < end:
        tag, pos = decode_varint(b, pos)
        if tag != wanted:
            pos = _skip_field(b, pos, tag)
            continue
        n, pos = decode_varint(b, pos)
        yield pos, pos + n
        pos += n


def _deep_array(b: bytes, pos: int, end: int, depth: int) -> str | None:
    for index, (start, stop) in enumerate(_fields(b, pos, end, _ITEM_TAG)):
        found = _deep_value(b, start, stop, depth)
        if found is not None:
            return f"[{index}]{found}"
    return None


def _deep_object(b: bytes, pos: int, end: int, depth: int) -> str | None:
    for entry, entry_end in _fields(b, pos, end, _FIELD_TAG):
        if entry_end - entry < _MIN_TOO_DEEP[depth]:
            continue
        key = b""
        pos = entry
        while pos < entry_end:
            tag, pos = decode_varint(b, pos)
            if tag == _KEY_TAG:
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
    return None
