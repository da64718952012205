"""UniversalEvent <-> CloudEvents 1.0, in the JSON format and the protobuf format, lossless.

The mapping (docs/cloudevents.md has the full table):
- id, source, type, time: the CloudEvents attributes of the same name (time in RFC 3339 with
  up to nine fractional digits: nanoseconds survive); specversion is "1.0".
- payload: `data` with datacontenttype `application/json`. No payload = no `data` at all;
  a JSON null payload = `"data": null` (protobuf format: text_data "null").
- Extensions: `sequence` (20-digit zero-padded decimal string, so 64-bit values survive every
  JSON reader), `sourcelanguage`, `correlationid`, `causationid`, `ttl` (proto3 JSON duration,
  e.g. "1.5s"), `traceparent`, `tracestate` (the CloudEvents Distributed Tracing extension),
  `metadata` (the string map as a JSON object text, keys sorted). Empty values are omitted.
- Anything else on the way in (unknown extensions, subject, dataschema, a non-JSON
  datacontenttype, text/binary/protobuf data) is kept in `metadata` under reserved keys
  `cloudevents.attr.<name>` ("<type>:<value>") and `cloudevents.data.*`, and written back out
  from there, so CloudEvent -> UniversalEvent -> CloudEvent is lossless too.
- An empty hookwire `source` is written as the reserved URI `urn:hookwire:no-source`
  (CloudEvents requires a non-empty source) and read back as "".

Example:
    >>> from hookwire.runtime.bus.event import Event
    >>> t = 1_700_000_000_123_456_789
    >>> ev = Event("tool.invoked", {"n": 2**64}, id="e1", sequence=7, time_ns=t)
    >>> text = to_json(ev)
    >>> text
    '{"specversion":"1.0","id":"e1","source":"urn:hookwire:no-source","type":"tool.invoked","time":"2023-11-14T22:13:20.123456789Z","sequence":"00000000000000000007","datacontenttype":"application/json","data":{"n":18446744073709551616}}'
    >>> from_json(text) == ev
    True
"""

from __future__ import annotations

import base64
import calendar
import json
import math
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final

from google.protobuf import any_pb2, duration_pb2, timestamp_pb2
from hookwire.cloudevents.v1 import cloudevents_pb2
from hookwire.runtime.bus.event import NO_DATA, Event
from hookwire.runtime.errors import InvalidArgument
from hookwire.runtime.json_value import validate_json
from hookwire.runtime.language import check_language
from hookwire.runtime.wire.event import event_from_proto
from hookwire.v1 import event_pb2

__all__ = [
    "NO_SOURCE",
    "from_dict",
    "from_json",
    "from_proto",
    "to_dict",
    "to_json",
    "to_proto",
]

SPECVERSION: Final = "1.0"
NO_SOURCE: Final = "urn:hookwire:no-source"
JSON_TYPE: Final = "application/json"
ATTR_PREFIX: Final = "cloudevents.attr."
# "text" | "binary" | "proto" | "untyped-json" (JSON data without a datacontenttype)
DATA_MODE: Final = "cloudevents.data.mode"
DATA_TYPEURL: Final = "cloudevents.data.typeurl"
NS_PER_S: Final = 1_000_000_000

_CORE = frozenset({"specversion", "id", "source", "type", "time", "datacontenttype"})
_OURS = frozenset(
    {
        "sequence",
        "sourcelanguage",
        "correlationid",
        "causationid",
        "ttl",
        "traceparent",
        "tracestate",
        "metadata",
    }
)
_JSON_CT = re.compile(r"^(application|text)/([a-zA-Z0-9\-.]+\+)?json(;.*)?$")
_TIME_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})\Z"
)
_SEQ_RE = re.compile(r"\d{20}\Z")
_EXT_NAME = re.compile(r"[a-z0-9]+\Z")
_NUMBER_RE = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?\Z")
_TYPES = ("boolean", "integer", "string", "binary", "uri", "urireference", "timestamp")
# The CloudAttributeValue field of each attribute type, and back (the protobuf format).
_PROTO_FIELD: Final = {
    "boolean": "ce_boolean",
    "integer": "ce_integer",
    "string": "ce_string",
    "binary": "ce_bytes",
    "uri": "ce_uri",
    "urireference": "ce_uri_ref",
    "timestamp": "ce_timestamp",
}
_CE_TYPE: Final = {field: ce_type for ce_type, field in _PROTO_FIELD.items()}
# CloudEvents Integer: a signed 32-bit value.
_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1


def _check_name(name: str, field: str) -> None:
    """CloudEvents attribute names are lower-case ASCII letters and digits."""
    if not _EXT_NAME.match(name):
        raise InvalidArgument(
            field, "attribute names must be lower-case letters a-z and digits 0-9 (CloudEvents)"
        )


def _check_int(value: int, field: str) -> int:
    if not _INT_MIN <= value <= _INT_MAX:
        raise InvalidArgument(
            field, f"CloudEvents integers are 32-bit (-2^31 .. 2^31-1), got {value}"
        )
    return value


def _b64decode(text: str, field: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:  # binascii.Error
        raise InvalidArgument(field, "is not valid base64") from None


# -- time, duration, numbers -------------------------------------------------------------------


def format_time(time_ns: int) -> str:
    """RFC 3339 UTC with 0, 3, 6 or 9 fractional digits (the proto3 JSON Timestamp form)."""
    seconds, nanos = divmod(time_ns, NS_PER_S)
    return str(timestamp_pb2.Timestamp(seconds=seconds, nanos=nanos).ToJsonString())


def parse_time(text: object, field: str = "time") -> int:
    """RFC 3339 to Unix nanoseconds; any offset is folded into UTC, at most 9 digits kept."""
    if not isinstance(text, str):
        raise InvalidArgument(field, f"must be an RFC 3339 string, got {type(text).__name__}")
    m = _TIME_RE.match(text)
    if not m:
        raise InvalidArgument(field, f"is not an RFC 3339 timestamp: {text!r}")
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    fraction, offset = m.group(7) or "", m.group(8)
    if len(fraction) > 9:
        raise InvalidArgument(field, f"has more than nanosecond precision: {text!r}")
    try:
        seconds = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
        if not (1 <= month <= 12 and 1 <= day <= calendar.monthrange(year, month)[1]):
            raise ValueError
        if hour > 23 or minute > 59 or second > 60:
            raise ValueError
    except ValueError:
        raise InvalidArgument(field, f"is not a valid date and time: {text!r}") from None
    if offset not in ("Z", "z"):
        sign = 1 if offset[0] == "+" else -1
        seconds -= sign * (int(offset[1:3]) * 3600 + int(offset[4:6]) * 60)
    return seconds * NS_PER_S + int(fraction.ljust(9, "0") or "0")


def _format_duration(ns: int) -> str:
    seconds, nanos = divmod(ns, NS_PER_S)
    return str(duration_pb2.Duration(seconds=seconds, nanos=nanos).ToJsonString())


def _parse_duration(text: str) -> int:
    d = duration_pb2.Duration()
    d.FromJsonString(text)  # raises ValueError on a malformed duration
    ns = d.seconds * NS_PER_S + d.nanos
    if ns < 0:
        raise ValueError("negative ttl")
    return ns


def _parse_float(text: str) -> float | Decimal:
    # A double when it reproduces the text exactly, else the exact decimal (lossless).
    f = float(text)
    if math.isfinite(f) and repr(f) == text:
        return f
    return Decimal(text)


def _dump(value: Any) -> str:
    """Compact JSON text of a JSON value, numbers exactly (Decimal as its text, big ints)."""
    if isinstance(value, Decimal):
        text = str(value)
        if not _NUMBER_RE.match(text):
            text = format(value, "f")
        return text
    if isinstance(value, dict):
        return (
            "{"
            + ",".join(f"{json.dumps(k, ensure_ascii=False)}:{_dump(v)}" for k, v in value.items())
            + "}"
        )
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_dump(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def _load(text: str | bytes, field: str) -> Any:
    try:
        return json.loads(text, parse_float=_parse_float)
    except ValueError as exc:
        raise InvalidArgument(field, f"is not valid JSON: {exc}") from None


# -- the format-neutral model: attributes (name -> (type, value)) and data --------------------

Attr = tuple[str, Any]  # (CloudEvents type name, Python value)


def _kept(name: str, ce_type: str, value: Any) -> str:
    """A kept attribute as a metadata value: '<type>:<canonical string>'."""
    if ce_type == "boolean":
        text = "true" if value else "false"
    elif ce_type == "integer":
        text = str(value)
    elif ce_type == "binary":
        text = base64.b64encode(value).decode("ascii")
    elif ce_type == "timestamp":
        text = value if isinstance(value, str) else format_time(value)
    else:
        text = value
    return f"{ce_type}:{text}"


def _unkept(name: str, text: str) -> Attr:
    ce_type, sep, raw = text.partition(":")
    if not sep or ce_type not in _TYPES:
        raise InvalidArgument(
            f"metadata[{ATTR_PREFIX}{name}]", f"must be '<type>:<value>', got {text!r}"
        )
    field = f"metadata[{ATTR_PREFIX}{name}]"
    if ce_type == "boolean":
        if raw not in ("true", "false"):
            raise InvalidArgument(field, f"a boolean must be 'true' or 'false', got {raw!r}")
        return ce_type, raw == "true"
    if ce_type == "integer":
        try:
            value = int(raw)
        except ValueError:
            raise InvalidArgument(field, f"is not an integer: {raw!r}") from None
        return ce_type, _check_int(value, field)
    if ce_type == "binary":
        return ce_type, _b64decode(raw, field)
    return ce_type, raw


def _split(ev: Event) -> tuple[dict[str, Attr], Any, str, str | None]:
    """Event -> (attributes, data, data mode, proto type url)."""
    if not ev.id:
        raise InvalidArgument(
            "id", "CloudEvents requires a non-empty id; publish the event first or set one"
        )
    if not ev.type:
        raise InvalidArgument("type", "CloudEvents requires a non-empty type")
    attrs: dict[str, Attr] = {
        "id": ("string", ev.id),
        "source": ("urireference", ev.source or NO_SOURCE),
        "type": ("string", ev.type),
    }
    if ev.time_ns is not None:
        attrs["time"] = ("timestamp", ev.time_ns)
    if ev.sequence:
        attrs["sequence"] = ("string", f"{ev.sequence:020d}")
    if ev.source_language:
        attrs["sourcelanguage"] = ("string", ev.source_language)
    if ev.correlation_id:
        attrs["correlationid"] = ("string", ev.correlation_id)
    if ev.causation_id:
        attrs["causationid"] = ("string", ev.causation_id)
    if ev.ttl_ns is not None:
        attrs["ttl"] = ("string", _format_duration(ev.ttl_ns))
    if ev.traceparent:
        attrs["traceparent"] = ("string", ev.traceparent)
    if ev.tracestate:
        attrs["tracestate"] = ("string", ev.tracestate)
    plain: dict[str, str] = {}
    mode = "json"
    typeurl = None
    for key, value in ev.metadata.items():
        if key.startswith(ATTR_PREFIX):
            name = key[len(ATTR_PREFIX) :]
            _check_name(name, f"metadata[{key}]")
            if name in attrs or name in ("specversion", "data", "data_base64"):
                raise InvalidArgument(f"metadata[{key}]", f"clashes with the {name!r} attribute")
            attrs[name] = _unkept(name, value)
        elif key == DATA_MODE:
            mode = value
        elif key == DATA_TYPEURL:
            typeurl = value
        else:
            plain[key] = value
    if plain:
        attrs["metadata"] = (
            "string",
            json.dumps(plain, sort_keys=True, separators=(",", ":"), ensure_ascii=False),
        )
    if ev.payload is not NO_DATA and "datacontenttype" not in attrs and mode == "json":
        attrs["datacontenttype"] = ("string", JSON_TYPE)
    if mode not in ("json", "untyped-json", "text", "binary", "proto"):
        raise InvalidArgument(f"metadata[{DATA_MODE}]", f"unknown data mode {mode!r}")
    if mode in ("text", "binary", "proto") and not isinstance(ev.payload, str):
        raise InvalidArgument("payload", f"must be a string for data mode {mode!r}")
    return attrs, ev.payload, mode, typeurl


def _join(attrs: dict[str, Attr], data: Any, mode: str, typeurl: str | None, where: str) -> Event:
    """(attributes, data) read from either format -> Event."""
    spec = attrs.pop("specversion", ("string", None))[1]
    if spec != SPECVERSION:
        raise InvalidArgument(f"{where}specversion", f"must be {SPECVERSION!r}, got {spec!r}")
    fields: dict[str, Any] = {}
    for name in ("id", "source", "type"):
        value = attrs.pop(name, ("string", None))[1]
        if not isinstance(value, str) or not value:
            raise InvalidArgument(f"{where}{name}", "is required and must be a non-empty string")
        fields[name] = value
    source = "" if fields["source"] == NO_SOURCE else fields["source"]
    metadata: dict[str, str] = {}
    time_ns = None
    if "time" in attrs:
        t_type, t_value = attrs.pop("time")
        time_ns = (
            t_value
            if t_type == "timestamp" and isinstance(t_value, int)
            else parse_time(t_value, f"{where}time")
        )
    kw: dict[str, Any] = {}
    for name in list(attrs):
        if name not in _OURS:
            continue
        ce_type, value = attrs[name]
        ok = ce_type == "string" and isinstance(value, str)
        if ok and name == "sequence":
            ok = bool(_SEQ_RE.match(value)) and int(value) < 2**64
            if ok:
                kw["sequence"] = int(value)
        elif ok and name == "sourcelanguage":
            try:
                kw["source_language"] = check_language(value, "sourcelanguage", allow_empty=False)
            except InvalidArgument:
                ok = False
        elif ok and name == "ttl":
            try:
                kw["ttl_ns"] = _parse_duration(value)
            except ValueError:
                ok = False
        elif ok and name == "metadata":
            try:
                extra = json.loads(value)
            except ValueError:
                extra = None
            ok = isinstance(extra, dict) and all(isinstance(v, str) for v in extra.values())
            if ok:
                assert isinstance(extra, dict)
                metadata.update(extra)
        elif ok:
            kw[
                {"correlationid": "correlation_id", "causationid": "causation_id"}.get(name, name)
            ] = value
        if ok:
            del attrs[name]
        # else: a value we cannot read as ours stays, and is kept like any unknown extension
    content_type = attrs.get("datacontenttype", ("string", None))[1]
    if content_type == JSON_TYPE and mode == "json" and data is not NO_DATA:
        del attrs["datacontenttype"]
    for name, (ce_type, value) in attrs.items():
        metadata[f"{ATTR_PREFIX}{name}"] = _kept(name, ce_type, value)
    if mode != "json":
        metadata[DATA_MODE] = mode
    if typeurl is not None:
        metadata[DATA_TYPEURL] = typeurl
    return Event(
        fields["type"],
        data,
        id=fields["id"],
        source=source,
        time_ns=time_ns,
        metadata=metadata,
        **kw,
    )


def _as_event(event: Event | event_pb2.UniversalEvent) -> Event:
    if isinstance(event, event_pb2.UniversalEvent):
        return event_from_proto(event)
    if not isinstance(event, Event):
        raise InvalidArgument(
            "event", f"must be an Event or a UniversalEvent, got {type(event).__name__}"
        )
    return event


# -- JSON format ------------------------------------------------------------------------------


def to_dict(event: Event | event_pb2.UniversalEvent) -> dict[str, Any]:
    """The JSON-format object (attributes and `data`/`data_base64` as plain JSON values)."""
    ev = _as_event(event)
    attrs, data, mode, _ = _split(ev)
    out: dict[str, Any] = {"specversion": SPECVERSION}
    for name, (ce_type, value) in attrs.items():
        if ce_type == "timestamp" and isinstance(value, int):
            out[name] = format_time(value)
        elif ce_type == "binary":
            out[name] = base64.b64encode(value).decode("ascii")
        else:
            out[name] = value
    if data is not NO_DATA:
        if mode == "binary" or mode == "proto":
            out["data_base64"] = data
        else:  # json, untyped-json, text
            out["data"] = data
    return out


def to_json(event: Event | event_pb2.UniversalEvent) -> str:
    """The CloudEvents JSON format text (`application/cloudevents+json`), numbers exact."""
    d = to_dict(event)
    return "{" + ",".join(f"{json.dumps(k)}:{_dump(v)}" for k, v in d.items()) + "}"


def from_dict(obj: Mapping[str, Any]) -> Event:
    """Read a JSON-format object (as parsed by a JSON reader)."""
    if not isinstance(obj, Mapping):
        raise InvalidArgument("cloudevent", f"must be a JSON object, got {type(obj).__name__}")
    attrs: dict[str, Attr] = {}
    data: Any = NO_DATA
    mode = "json"
    for name, value in obj.items():
        if name == "data":
            data = value
            continue
        if name == "data_base64":
            if not isinstance(value, str):
                raise InvalidArgument("data_base64", "must be a base64 string")
            _b64decode(value, "data_base64")
            data, mode = value, "binary"
            continue
        _check_name(name, name)
        if isinstance(value, bool):
            attrs[name] = ("boolean", value)
        elif isinstance(value, int):
            attrs[name] = ("integer", _check_int(value, name))
        elif isinstance(value, str):
            attrs[name] = ("string", value)
        else:
            raise InvalidArgument(
                name, f"attribute values must be strings, integers or booleans, got {value!r}"
            )
    if "data" in obj and "data_base64" in obj:
        raise InvalidArgument("data", "data and data_base64 are mutually exclusive")
    content_type = attrs.get("datacontenttype", ("string", None))[1]
    if (
        mode == "json"
        and data is not NO_DATA
        and isinstance(content_type, str)
        and not _JSON_CT.match(content_type)
        and isinstance(data, str)
    ):
        mode = "text"
    elif mode == "json" and data is not NO_DATA and content_type is None:
        mode = "untyped-json"  # written back without a datacontenttype, as it came
    if data is not NO_DATA:
        validate_json(data, "data")
    return _join(attrs, data, mode, None, "")


def from_json(text: str | bytes) -> Event:
    """Read the CloudEvents JSON format (numbers exact: big ints, decimals as Decimal)."""
    obj = _load(text, "cloudevent")
    return from_dict(obj)


# -- protobuf format --------------------------------------------------------------------------


def to_proto(event: Event | event_pb2.UniversalEvent) -> cloudevents_pb2.CloudEvent:
    """The CloudEvents protobuf format message (JSON data as text_data)."""
    ev = _as_event(event)
    attrs, data, mode, typeurl = _split(ev)
    pb = cloudevents_pb2.CloudEvent(spec_version=SPECVERSION)
    pb.id = attrs.pop("id")[1]
    pb.source = attrs.pop("source")[1]
    pb.type = attrs.pop("type")[1]
    for name, (ce_type, value) in attrs.items():
        v = pb.attributes[name]
        if ce_type == "timestamp":
            ns = value if isinstance(value, int) else parse_time(value, name)
            s, n = divmod(ns, NS_PER_S)
            v.ce_timestamp.CopyFrom(timestamp_pb2.Timestamp(seconds=s, nanos=n))
        else:
            setattr(v, _PROTO_FIELD.get(ce_type, "ce_string"), value)
    if data is not NO_DATA:
        if mode in ("json", "untyped-json"):
            pb.text_data = _dump(data)
        elif mode == "text":
            pb.text_data = data
        elif mode == "binary":
            pb.binary_data = _b64decode(data, "payload")
        else:
            pb.proto_data.CopyFrom(
                any_pb2.Any(type_url=typeurl or "", value=_b64decode(data, "payload"))
            )
    return pb


def from_proto(pb: cloudevents_pb2.CloudEvent) -> Event:
    """Read the CloudEvents protobuf format."""
    attrs: dict[str, Attr] = {
        "specversion": ("string", pb.spec_version),
        "id": ("string", pb.id),
        "source": ("urireference", pb.source),
        "type": ("string", pb.type),
    }
    for name, v in pb.attributes.items():
        _check_name(name, f"attributes[{name}]")
        if name in attrs or name in ("specversion", "data", "data_base64"):
            raise InvalidArgument(f"attributes[{name}]", "has a field of its own in this format")
        kind = v.WhichOneof("attr")
        if kind == "ce_timestamp":
            attrs[name] = ("timestamp", v.ce_timestamp.seconds * NS_PER_S + v.ce_timestamp.nanos)
        elif kind is not None:
            attrs[name] = (_CE_TYPE[kind], getattr(v, kind))
        else:
            raise InvalidArgument(f"attributes[{name}]", "has no value")
    data_kind = pb.WhichOneof("data")
    data: Any = NO_DATA
    mode = "json"
    typeurl = None
    content_type = attrs.get("datacontenttype", ("string", None))[1]
    if data_kind == "text_data":
        text = pb.text_data
        json_ct = content_type is None or (
            isinstance(content_type, str) and bool(_JSON_CT.match(content_type))
        )
        try:
            parsed = json.loads(text, parse_float=_parse_float) if json_ct else NO_DATA
        except ValueError:
            parsed = NO_DATA
        if parsed is NO_DATA:
            data, mode = text, "text"  # not JSON: kept as text
        elif content_type is None:
            # JSON without a content type: JSON only if our writer reproduces the text exactly.
            data, mode = (parsed, "untyped-json") if _dump(parsed) == text else (text, "text")
        else:
            data = parsed
    elif data_kind == "binary_data":
        data, mode = base64.b64encode(pb.binary_data).decode("ascii"), "binary"
    elif data_kind == "proto_data":
        data, mode = base64.b64encode(pb.proto_data.value).decode("ascii"), "proto"
        typeurl = pb.proto_data.type_url
    return _join(attrs, data, mode, typeurl, "")
