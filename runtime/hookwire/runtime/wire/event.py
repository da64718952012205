"""Where an Event becomes bytes: Event <-> hookwire.v1.UniversalEvent, as messages and as bytes.

The reference conversion is `event_to_proto` / `event_from_proto` (the generated messages).
`event_to_bytes` / `events_from_bytes` are the same conversion written straight to and read
straight from the wire format, for the common shapes (an event is converted on every stream
publish and delivery, and the generated messages cost ~5 us per event in Python): they write
the bytes `event_to_proto(ev).SerializeToString()` would parse back to, and read exactly what
`event_from_proto` reads, or hand the message to the reference when it holds anything else
(pinned by tests/bus/test_wire_event.py). Field tags come from the generated descriptors.

`WireEvents` reads batches of received UniversalEvent messages (the server's publish path).

Example:
    >>> from hookwire.runtime.bus.event import Event
    >>> ev = Event("tool.invoked", {"tool": "shell"}, source="hookwire://demo")
    >>> event_to_proto(ev).payload.object_value.fields["tool"].string_value
    'shell'
    >>> event_from_proto(event_to_proto(ev)) == ev
    True
    >>> [back] = events_from_bytes([event_to_bytes(ev)], [7])
    >>> back.payload, back.sequence, back.source
    ({'tool': 'shell'}, 7, 'hookwire://demo')
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from google.protobuf import timestamp_pb2
from hookwire.runtime.bus.event import (
    NO_ATTRS,
    NO_DATA,
    NS_PER_S,
    Event,
    EventAttrs,
)
from hookwire.runtime.errors import InvalidArgument
from hookwire.runtime.framing import decode_varint, encode_varint
from hookwire.runtime.json_value import validate_json
from hookwire.runtime.limits import MAX_JSON_DEPTH
from hookwire.runtime.wire.duration import (
    duration_from_proto,
    duration_to_proto,
    timestamp_from_proto,
    timestamp_to_proto,
)
from hookwire.runtime.wire.enums import language_from_proto, language_to_proto
from hookwire.runtime.wire.json import check_encoded_json, from_proto_value, to_proto_value
from hookwire.runtime.wire.tags import field_key
from hookwire.v1 import common_pb2, event_pb2, json_pb2

__all__ = [
    "EVENT_TAGS",
    "LazyEvent",
    "WireEvents",
    "attrs_from_key",
    "event_from_proto",
    "event_to_bytes",
    "event_to_proto",
    "event_with_payload",
    "events_from_bytes",
]


# -- the reference conversion -------------------------------------------------------------------


def event_to_proto(ev: Event) -> event_pb2.UniversalEvent:
    """The hookwire.v1.UniversalEvent form of an event (lossless)."""
    attrs = ev.attrs
    pb = event_pb2.UniversalEvent(
        id=ev.id,
        type=ev.type,
        sequence=ev.sequence,
        source=attrs.source,
        source_language=language_to_proto(attrs.source_language, "source_language"),  # type: ignore[arg-type]
        correlation_id=attrs.correlation_id,
        causation_id=attrs.causation_id,
        metadata=attrs.metadata,
    )
    if ev.time_ns is not None:
        timestamp_to_proto(ev.time_ns, pb.time)
    if ev.payload is not NO_DATA:
        pb.payload.CopyFrom(to_proto_value(ev.payload, "payload"))
    if ev.ttl_ns is not None:
        duration_to_proto(ev.ttl_ns, pb.ttl)
    if attrs.traceparent or attrs.tracestate:
        pb.trace_context.CopyFrom(
            common_pb2.TraceContext(traceparent=attrs.traceparent, tracestate=attrs.tracestate)
        )
    return pb


def event_from_proto(pb: event_pb2.UniversalEvent) -> Event:
    """Read a hookwire.v1.UniversalEvent; InvalidArgument names a field that cannot be read."""
    time_ns = None
    if pb.HasField("time"):
        time_ns = timestamp_from_proto(pb.time)
    ttl_ns = None
    if pb.HasField("ttl"):
        ttl_ns = duration_from_proto(pb.ttl)
        if ttl_ns < 0:
            raise InvalidArgument("ttl", f"must not be negative, got {ttl_ns} ns")
    payload = from_proto_value(pb.payload, "payload") if pb.HasField("payload") else NO_DATA
    return Event(
        pb.type,
        payload,
        id=pb.id,
        time_ns=time_ns,
        sequence=pb.sequence,
        ttl_ns=ttl_ns,
        source=pb.source,
        source_language=language_from_proto(pb.source_language, "source_language"),
        correlation_id=pb.correlation_id,
        causation_id=pb.causation_id,
        metadata=dict(pb.metadata),
        traceparent=pb.trace_context.traceparent,
        tracestate=pb.trace_context.tracestate,
    )


# -- received messages, payloads read on first use -----------------------------------------------

# The payload slot of Event, for the lazily decoding subclass below.
_PAYLOAD_SLOT: Any = Event.__dict__["payload"]


class LazyEvent(Event):
    """An Event received as a UniversalEvent whose payload is decoded on first read.

    Only made by `event_with_payload`, for payloads known to be valid, so reading never
    fails.
    """

    __slots__ = ("_wire",)

    # The serialized hookwire.v1.JsonValue.
    _wire: bytes | None

    @property
    def payload(self) -> Any:
        wire = self._wire
        if wire is not None:
            value = json_pb2.JsonValue.FromString(wire)
            _PAYLOAD_SLOT.__set__(self, from_proto_value(value, "payload"))
            self._wire = None
        return _PAYLOAD_SLOT.__get__(self, Event)

    @payload.setter
    def payload(self, value: Any) -> None:
        self._wire = None
        _PAYLOAD_SLOT.__set__(self, value)


# JsonValue tags that can carry a value that is not JSON: double_value may be NaN or infinite,
# number_text may not be a number. A serialized payload without either byte holds neither
# field, at any depth, so it is valid without being read.
_J = json_pb2.JsonValue
_DOUBLE_BYTE: Final = bytes((field_key(_J, "double_value"),))
_NUMBER_TEXT_BYTE: Final = bytes((field_key(_J, "number_text"),))


def event_with_payload(raw: bytes) -> Event:
    """An unstamped Event (its other fields unset) whose payload is the serialized JsonValue
    `raw` (a parsed message's): read and checked now when it may hold a number that is not
    JSON (NaN, inf, a malformed number text), else decoded on first read (its depth checked
    now: it cannot hold anything else that is not JSON). InvalidArgument names `payload`."""
    if _DOUBLE_BYTE in raw or _NUMBER_TEXT_BYTE in raw:
        payload = from_proto_value(json_pb2.JsonValue.FromString(raw), "payload")
        validate_json(payload, "payload")
        ev: Event = _new_event(Event)
        ev.payload = payload
        return ev
    check_encoded_json(raw, "payload")
    lazy: LazyEvent = _new_event(LazyEvent)
    lazy._wire = raw
    return lazy


class WireEvents:
    """Reads batches of UniversalEvent messages into unsequenced Events for publishing.

    Faster than `event_from_proto` + validation per event: attributes are shared by the
    events of a batch that have the same ones, and a payload is only checked on the wire
    (decoded when someone reads it) unless it may hold a number that needs a closer look.

    Example:
        >>> from hookwire.runtime.bus.event import Event
        >>> pb = event_to_proto(Event("a.b", {"x": [1, "y"]}, source="s"))
        >>> [ev] = WireEvents().read([pb])
        >>> ev.payload, ev.source, ev.sequence
        ({'x': [1, 'y']}, 's', 0)
    """

    __slots__ = ()

    def read(self, pbs: Sequence[event_pb2.UniversalEvent]) -> list[Event]:
        """The events of `pbs`; InvalidArgument names `events[i].<field>` of the first bad one.

        The event type is not checked here (the bus does that).
        """
        out: list[Event] = []
        attrs_by_key: dict[tuple[Any, ...], EventAttrs] = {}
        new: Any = Event.__new__
        append = out.append
        i = 0
        try:
            # One loop, no call per event: this is the server's publish hot path.
            for i, pb in enumerate(pbs):  # noqa: B007 - `i` names the event in errors
                ev: Event
                if pb.HasField("payload"):
                    ev = event_with_payload(pb.payload.SerializeToString())
                else:
                    ev = new(Event)
                    ev.payload = NO_DATA
                ev.type = pb.type
                ev.id = pb.id
                ev.sequence = 0
                if pb.HasField("time"):
                    time_ns = pb.time.seconds * NS_PER_S + pb.time.nanos
                    if time_ns < 0:
                        raise InvalidArgument(
                            "time_ns", f"must be a non-negative int or None, got {time_ns!r}"
                        )
                    ev.time_ns = time_ns
                else:
                    ev.time_ns = None
                if pb.HasField("ttl"):
                    ttl_ns = pb.ttl.seconds * NS_PER_S + pb.ttl.nanos
                    if ttl_ns < 0:
                        raise InvalidArgument("ttl", f"must not be negative, got {ttl_ns} ns")
                    ev.ttl_ns = ttl_ns
                else:
                    ev.ttl_ns = None
                has_trace = pb.HasField("trace_context")
                key = (
                    pb.source,
                    pb.source_language,
                    pb.correlation_id,
                    pb.causation_id,
                    pb.trace_context.traceparent if has_trace else "",
                    pb.trace_context.tracestate if has_trace else "",
                )
                if pb.metadata:
                    ev.attrs = attrs_from_key(key, dict(pb.metadata))
                else:
                    attrs = attrs_by_key.get(key)
                    if attrs is None:
                        attrs = attrs_by_key[key] = attrs_from_key(key, None)
                    ev.attrs = attrs
                append(ev)
        except InvalidArgument as exc:
            raise InvalidArgument(f"events[{i}].{exc.field}", exc.reason) from None
        return out


def attrs_from_key(key: tuple[Any, ...], metadata: dict[str, str] | None) -> EventAttrs:
    """EventAttrs of (source, source_language (proto value), correlation_id, causation_id,
    traceparent, tracestate) and metadata; the shared NO_ATTRS when all are empty."""
    if not any(key) and not metadata:
        return NO_ATTRS
    fields: dict[str, Any] = dict(zip(_KEY_FIELDS, key, strict=True))
    fields["source_language"] = language_from_proto(key[1], "source_language")
    return EventAttrs(**fields, metadata=metadata)


# The attributes of an `attrs_from_key` key, in its order.
_KEY_FIELDS: Final = (
    "source",
    "source_language",
    "correlation_id",
    "causation_id",
    "traceparent",
    "tracestate",
)


# -- the same conversion on bytes ---------------------------------------------------------------

_U = event_pb2.UniversalEvent
#: The tag of each UniversalEvent field, by name (from the descriptor).
EVENT_TAGS: Final = {f.name: field_key(_U, f.name) for f in _U.DESCRIPTOR.fields}
# The tags the codec reads and writes, by field.
(_ID, _TIME, _TYPE, _SOURCE, _LANGUAGE, _PAYLOAD, _SEQUENCE, _CORRELATION, _CAUSATION,
 _METADATA, _TTL, _TRACE) = (
    EVENT_TAGS[name]
    for name in (
        "id", "time", "type", "source", "source_language", "payload", "sequence",
        "correlation_id", "causation_id", "metadata", "ttl", "trace_context",
    )
)  # fmt: skip
_TRACEPARENT: Final = field_key(common_pb2.TraceContext, "traceparent")
_TRACESTATE: Final = field_key(common_pb2.TraceContext, "tracestate")
_SECONDS: Final = field_key(timestamp_pb2.Timestamp, "seconds")
_NANOS: Final = field_key(timestamp_pb2.Timestamp, "nanos")
_MAP_KEY: Final = field_key(_U.MetadataEntry, "key")
_MAP_VALUE: Final = field_key(_U.MetadataEntry, "value")
_NULL: Final = field_key(_J, "null_value")
_BOOL: Final = field_key(_J, "bool_value")
_INT: Final = field_key(_J, "int_value")
_STRING: Final = field_key(_J, "string_value")
_ARRAY: Final = field_key(_J, "array_value")
_OBJECT: Final = field_key(_J, "object_value")
_ARRAY_ITEM: Final = field_key(json_pb2.JsonArray, "values")
_OBJECT_ENTRY: Final = field_key(json_pb2.JsonObject, "fields")
_OBJECT_KEY: Final = field_key(json_pb2.JsonObject.FieldsEntry, "key")
_OBJECT_VALUE: Final = field_key(json_pb2.JsonObject.FieldsEntry, "value")

# The tag bytes the writer puts before each field (every tag here is below 0x80: one byte).
_B = [bytes((t,)) for t in range(0x80)]
_B_NULL: Final = _B[_NULL] + b"\x00"
_B_TRUE: Final = _B[_BOOL] + b"\x01"
_B_FALSE: Final = _B[_BOOL] + b"\x00"
(_B_OBJECT, _B_ARRAY, _B_STRING, _B_INT, _B_ENTRY, _B_ITEM, _B_KEY, _B_VALUE, _B_ID, _B_TIME,
 _B_TTL, _B_PAYLOAD, _B_SECONDS, _B_NANOS) = (
    _B[t]
    for t in (
        _OBJECT, _ARRAY, _STRING, _INT, _OBJECT_ENTRY, _ARRAY_ITEM, _OBJECT_KEY, _OBJECT_VALUE,
        _ID, _TIME, _TTL, _PAYLOAD, _SECONDS, _NANOS,
    )
)  # fmt: skip

_INT64: Final = 1 << 63
# Memo tables of the writer and reader (cleared when they reach this size): event types,
# object keys and attribute sets repeat across events.
_MEMO_MAX: Final = 4096


def event_to_bytes(ev: Event) -> bytes:
    """`event_to_proto(ev).SerializeToString()` written directly: the same message (fields
    may come in another order, which protobuf allows). `ev` must be valid (a published or
    validated event); a payload value the writer does not know is converted by the reference.

    Example:
        >>> from hookwire.runtime.bus.event import Event
        >>> ev = Event("a.b", [1, "x"], id="e1", time_ns=1_700_000_000_000_000_001)
        >>> event_pb2.UniversalEvent.FromString(event_to_bytes(ev)) == event_to_proto(ev)
        True
    """
    out = _type_bytes.get(ev.type)
    if out is None:
        out = _remember(_type_bytes, ev.type, _field(_TYPE, ev.type.encode()))
    attrs = ev.attrs
    if attrs is not NO_ATTRS:
        out += _attrs_by_value(attrs)
    raw = ev.id_bytes()
    if raw:
        n = len(raw)
        out += b"%b%b%b" % (_B_ID, _B[n] if n < 0x80 else _varint(n), raw)
    t = ev.time_ns
    if t is not None:
        out += _B_TIME + _timestamp(t)
    if ev.sequence:
        out += _B[_SEQUENCE] + _varint(ev.sequence)
    t = ev.ttl_ns
    if t is not None:
        out += _B_TTL + _timestamp(t)
    p = ev.payload
    if p is not NO_DATA:
        body = _object(p) if type(p) is dict else _json(p)
        n = len(body)
        out += b"%b%b%b" % (_B_PAYLOAD, _B[n] if n < 0x80 else _varint(n), body)
    return out


_varint = encode_varint
_type_bytes: dict[str, bytes] = {}
# Keyed by the attribute values: events of one source, run and trace share them.
_attrs_value_bytes: dict[tuple[str, ...], bytes] = {}
_key_bytes: dict[str, bytes] = {}
_string_bytes: dict[str, bytes] = {}
# zigzag varints of the small ints (-64 <= i < 64: one byte), by value + 64.
_SMALL_INTS: Final = [_B_INT + _B[(i << 1) ^ (i >> 63)] for i in range(-64, 64)]
# The seconds of the last time written and their field (events of one run share them); one
# tuple, replaced whole, so that threads writing at once never mix two.
_last_seconds: list[tuple[int, bytes]] = [(-1, b"")]


def _remember(memo: dict[Any, bytes], key: Any, value: bytes) -> bytes:
    if len(memo) >= _MEMO_MAX:
        memo.clear()
    memo[key] = value
    return value


def _attrs_by_value(attrs: EventAttrs) -> bytes:
    if attrs.metadata:
        return _write_attrs(attrs)
    key = (
        attrs.source,
        attrs.source_language,
        attrs.correlation_id,
        attrs.causation_id,
        attrs.traceparent,
        attrs.tracestate,
    )
    out = _attrs_value_bytes.get(key)
    if out is None:
        out = _remember(_attrs_value_bytes, key, _write_attrs(attrs))
    return out


def _field(tag: int, body: bytes) -> bytes:
    return _B[tag] + encode_varint(len(body)) + body


def _timestamp(ns: int) -> bytes:
    """The length and body of a Timestamp or Duration message of an ns count."""
    seconds, nanos = divmod(ns, NS_PER_S)
    if seconds < 0:  # before 1970 (a test clock): the reference writes the 10-byte varint
        body = timestamp_pb2.Timestamp(seconds=seconds, nanos=nanos).SerializeToString()
        return _B[len(body)] + body
    last_seconds, s = _last_seconds[0]
    if seconds != last_seconds:
        s = _B_SECONDS + _varint(seconds) if seconds else b""
        _last_seconds[0] = (seconds, s)
    if nanos:
        if nanos < 0x200000:
            s += _B_NANOS + _varint(nanos)
        else:  # most times: 4 or 5 bytes
            s += _B_NANOS + bytes((
                nanos & 0x7F | 0x80, nanos >> 7 & 0x7F | 0x80, nanos >> 14 & 0x7F | 0x80,
                nanos >> 21 & 0x7F | 0x80, nanos >> 28,
            ) if nanos >= 0x10000000 else (
                nanos & 0x7F | 0x80, nanos >> 7 & 0x7F | 0x80, nanos >> 14 & 0x7F | 0x80,
                nanos >> 21,
            ))  # fmt: skip
    return _B[len(s)] + s  # at most 22 bytes


def _write_attrs(attrs: EventAttrs) -> bytes:
    parts: list[bytes] = []
    for tag, text in (
        (_SOURCE, attrs.source),
        (_CORRELATION, attrs.correlation_id),
        (_CAUSATION, attrs.causation_id),
    ):
        if text:
            parts.append(_field(tag, text.encode()))
    if attrs.source_language:
        code = language_to_proto(attrs.source_language, "source_language")
        parts += (_B[_LANGUAGE], encode_varint(code))
    for key, value in attrs.metadata.items():
        entry = _field(_MAP_KEY, key.encode()) + _field(_MAP_VALUE, value.encode())
        parts.append(_field(_METADATA, entry))
    if attrs.traceparent or attrs.tracestate:
        tc = b""
        if attrs.traceparent:
            tc += _field(_TRACEPARENT, attrs.traceparent.encode())
        if attrs.tracestate:
            tc += _field(_TRACESTATE, attrs.tracestate.encode())
        parts.append(_field(_TRACE, tc))
    return b"".join(parts)


def _json(value: Any) -> bytes:
    """A hookwire.v1.JsonValue message: strings, ints, bools, null, dicts and lists written
    here; anything else (floats, big ints, subclasses, ...) through `to_proto_value`."""
    t = type(value)
    if t is str:
        raw: bytes = value.encode()
        return _B_STRING + _varint(len(raw)) + raw
    if t is dict:
        return _object(value)
    if t is int:
        if -64 <= value < 64:
            small: bytes = _SMALL_INTS[value + 64]
            return small
        if -_INT64 <= value < _INT64:
            return _B_INT + _varint((value << 1) ^ (value >> 63))
    elif value is None:
        return _B_NULL
    elif t is bool:
        return _B_TRUE if value else _B_FALSE
    elif t is list:
        items: list[bytes] = []
        for item in value:
            v = _json(item)
            items += (_B_ITEM, _varint(len(v)), v)
        arr = b"".join(items)
        return _B_ARRAY + _varint(len(arr)) + arr
    return to_proto_value(value, "payload").SerializeToString()


def _object(value: dict[Any, Any]) -> bytes:
    """The JsonValue of a dict (`_json`), members written inline."""
    out = b""
    keys = _key_bytes
    strings = _string_bytes
    for key, item in value.items():
        k = keys.get(key)
        if k is None:
            if type(key) is not str:
                return to_proto_value(value, "payload").SerializeToString()
            k = _remember(keys, key, _field(_OBJECT_KEY, key.encode()))
        tv = type(item)
        if tv is str:
            v = strings.get(item)
            if v is None:
                raw = item.encode()
                v = _B_STRING + _varint(len(raw)) + raw
                if len(raw) <= 32:  # short strings (names, kinds) repeat
                    _remember(strings, item, v)
        elif tv is int:
            if -64 <= item < 64:
                v = _SMALL_INTS[item + 64]
            elif -_INT64 <= item < _INT64:
                v = _B_INT + _varint((item << 1) ^ (item >> 63))
            else:
                v = _json(item)
        elif tv is bool:
            v = _B_TRUE if item else _B_FALSE
        else:
            v = _json(item)
        n = len(v)
        m = len(k) + n + 2
        if m < 0x80:
            out += b"%b%b%b%b%b%b" % (_B_ENTRY, _B[m], k, _B_VALUE, _B[n], v)
        else:
            entry = b"%b%b%b%b" % (k, _B_VALUE, _varint(n), v)
            out += _B_ENTRY + _varint(len(entry)) + entry
    n = len(out)
    return b"%b%b%b" % (_B_OBJECT, _B[n] if n < 0x80 else _varint(n), out)


class _Other(Exception):
    """The bytes hold something the direct reader leaves to the reference (an unknown or
    repeated field, a double or number text, a malformed or truncated part, ...)."""


def events_from_bytes(datas: Sequence[bytes], sequences: Sequence[int]) -> list[Event]:
    """The events of serialized UniversalEvents, with the given sequences (a stream's).

    Reads exactly what `event_from_proto` reads and checks what the bus checks at publish
    (the payload is JSON within the depth limit; the type is not checked). InvalidArgument
    names `events[i].<field>` of the first message that is not a valid event.
    """
    out: list[Event] = []
    append = out.append
    for data, sequence in zip(datas, sequences, strict=True):
        try:
            ev = _read_event(data, sequence)
        except (_Other, IndexError, UnicodeDecodeError):
            try:
                ev = _reference(data)
            except InvalidArgument as exc:
                raise InvalidArgument(f"events[{len(out)}].{exc.field}", exc.reason) from None
            ev.sequence = sequence
        append(ev)
    return out


def _reference(data: bytes) -> Event:
    """The reference reading of one message (the direct reader's fallback)."""
    from google.protobuf.message import DecodeError

    try:
        pb = event_pb2.UniversalEvent.FromString(data)
    except DecodeError as exc:
        raise InvalidArgument("event", f"is not a hookwire.v1.UniversalEvent: {exc}") from None
    ev = event_from_proto(pb)
    ev.validate()
    return ev


_attrs_of_bytes: dict[bytes, EventAttrs] = {}
_new_event: Any = Event.__new__
_ATTR_TAGS: Final = frozenset((_SOURCE, _CORRELATION, _CAUSATION, _METADATA, _TRACE))
# The type and attribute fields that began the last message read, when the writer put them
# first (as `event_to_bytes` does): [bytes, type, attrs]. The events of a stream mostly
# share them, so the next message starting with the same bytes skips reading them.
# One tuple, replaced whole: threads reading at once never mix two heads.
_last_head: list[tuple[bytes, str, EventAttrs]] = [(b"\xff", "", NO_ATTRS)]


def _read_event(b: bytes, sequence: int) -> Event:
    """One UniversalEvent read from its bytes; _Other (or IndexError, UnicodeDecodeError)
    when the reference must read it (a field twice among them: the reference merges)."""
    prefix, last_type, last_attrs = _last_head[0]
    head = b.startswith(prefix)
    etype: str | None
    if head:
        pos = len(prefix)
        etype = last_type
        attrs = last_attrs
    else:
        pos = 0
        etype = None
        attrs = NO_ATTRS
    n = len(b)
    ident = time_ns = ttl_ns = seq = None
    payload: Any = _Other
    a_start = a_end = -1  # the attribute fields, when they are consecutive
    if head:
        # The writer's layout goes on with the id and the time: read them straight (anything
        # else is left to the loop, which reads any field in any order).
        if b[pos] == _ID and b[pos + 1] < 0x80:
            end = pos + 2 + b[pos + 1]
            if end <= n:
                ident = b[pos + 2 : end].decode()
                pos = end
        if pos < n and b[pos] == _TIME and b[pos + 1] < 0x80:
            end = pos + 2 + b[pos + 1]
            if end <= n:
                time_ns = _read_timestamp(b, pos + 2, end)
                pos = end
        if pos < n and b[pos] == _PAYLOAD and b[pos + 1] < 0x80 and b[pos + 2] == _OBJECT:
            # An object payload (most events): its members read straight.
            end = pos + 2 + b[pos + 1]
            if end <= n and b[pos + 3] == end - pos - 4:
                payload = _read_object(b, pos + 4, end, 1)
                pos = end
    while pos < n:
        start = pos
        tag = b[pos]
        pos += 1
        if tag & 7 == 2:
            size = b[pos]
            pos += 1
            if size >= 0x80:
                size, pos = decode_varint(b, pos - 1)
            end = pos + size
            if end > n:
                raise _Other
            if tag == _PAYLOAD:
                if payload is not _Other:
                    raise _Other
                payload = _read_json(b, pos, end, 0)
            elif tag == _ID:
                if ident is not None:
                    raise _Other
                ident = b[pos:end].decode()
            elif tag == _TIME:
                if time_ns is not None:
                    raise _Other
                time_ns = _read_timestamp(b, pos, end)
            elif tag == _TYPE:
                if etype is not None:
                    raise _Other
                etype = b[pos:end].decode()
            elif tag in _ATTR_TAGS:
                if head or (a_start >= 0 and a_end != start):
                    raise _Other  # attributes twice, or apart (maybe repeated)
                if a_start < 0:
                    a_start = start
                a_end = end
            elif tag == _TTL:
                if ttl_ns is not None:
                    raise _Other
                ttl_ns = _read_timestamp(b, pos, end)
            else:
                raise _Other
            pos = end
        elif tag == _LANGUAGE:
            if head or (a_start >= 0 and a_end != start) or b[pos] >= 0x80:
                raise _Other
            if a_start < 0:
                a_start = start
            pos += 1
            a_end = pos
        elif tag == _SEQUENCE:
            if seq is not None:
                raise _Other
            seq, pos = decode_varint(b, pos)  # the stream's sequence is the one kept
            if seq >= 1 << 64:
                raise _Other
        else:
            raise _Other
    if a_start >= 0:
        key = b[a_start:a_end]
        known = _attrs_of_bytes.get(key)
        if known is None:
            known = _read_attrs(key)
            if len(_attrs_of_bytes) >= _MEMO_MAX:
                _attrs_of_bytes.clear()
            _attrs_of_bytes[key] = known
        attrs = known
        if b[0] == _TYPE and a_start == b[1] + 2 < 0x82:  # the writer's layout: remember it
            _last_head[0] = (b[:a_end], etype or "", attrs)
    ev: Event = _new_event(Event)
    ev.type = etype or ""
    ev.payload = NO_DATA if payload is _Other else payload
    ev.id = ident or ""
    ev.time_ns = time_ns
    ev.ttl_ns = ttl_ns
    ev.sequence = sequence
    ev.attrs = attrs
    return ev


def _read_attrs(raw: bytes) -> EventAttrs:
    """The attributes of the attribute fields `raw` of a UniversalEvent (read by the
    reference parser: it runs once per distinct set)."""
    from google.protobuf.message import DecodeError

    try:
        pb = event_pb2.UniversalEvent.FromString(raw)
    except DecodeError:
        raise _Other from None
    try:
        return attrs_from_key(
            (
                pb.source,
                pb.source_language,
                pb.correlation_id,
                pb.causation_id,
                pb.trace_context.traceparent,
                pb.trace_context.tracestate,
            ),
            dict(pb.metadata) or None,
        )
    except InvalidArgument:
        raise _Other from None


# The seconds field that began the last Timestamp read, and its value in ns.
_last_seconds_read: list[tuple[bytes, int]] = [(b"\xff", 0)]


def _read_timestamp(b: bytes, pos: int, end: int) -> int:
    """A Timestamp or Duration b[pos:end] as ns; _Other for anything but non-negative
    seconds and nanos below one second, each at most once."""
    field, ns = _last_seconds_read[0]
    if b.startswith(field, pos):
        pos += len(field)
    elif b[pos] == _SECONDS:
        seconds, after = decode_varint(b, pos + 1)
        if seconds >= _INT64:
            raise _Other
        ns = seconds * NS_PER_S
        _last_seconds_read[0] = (b[pos:after], ns)
        pos = after
    else:
        ns = 0
    if pos < end and b[pos] == _NANOS:
        if end - pos == 6:  # most times: five bytes, read at once
            x = int.from_bytes(b[pos + 1 : end], "little")
            if x & 0x8080808080 != 0x80808080:
                raise _Other
            nanos = (
                x & 0x7F | x >> 1 & 0x3F80 | x >> 2 & 0x1FC000 | x >> 3 & 0xFE00000
                | x >> 4 & 0x7F0000000
            )  # fmt: skip
            pos = end
        else:
            nanos, pos = decode_varint(b, pos + 1)
        if nanos >= NS_PER_S:
            raise _Other
        ns += nanos
    if pos != end:
        raise _Other
    return ns


def _read_json(b: bytes, pos: int, end: int, depth: int) -> Any:
    """The JsonValue b[pos:end] (`depth` containers around it) as a plain value."""
    if pos == end:
        return None  # no kind set: read as null
    tag = b[pos]
    if tag == _OBJECT:
        if depth >= MAX_JSON_DEPTH:
            raise _Other
        size = b[pos + 1]
        pos += 2
        if size >= 0x80:
            size, pos = decode_varint(b, pos - 1)
        if pos + size != end:
            raise _Other
        return _read_object(b, pos, end, depth + 1)
    return _read_scalar_or_array(b, pos, end, depth)


def _read_scalar_or_array(b: bytes, pos: int, end: int, depth: int) -> Any:
    tag = b[pos]
    pos += 1
    if tag in (_STRING, _ARRAY):
        size = b[pos]
        pos += 1
        if size >= 0x80:
            size, pos = decode_varint(b, pos - 1)
        if pos + size != end:
            raise _Other
        if tag == _STRING:
            return b[pos:end].decode()
        if depth >= MAX_JSON_DEPTH:
            raise _Other
        out: list[Any] = []
        while pos < end:
            start, pos = _item(b, pos, end)
            out.append(_read_json(b, start, pos, depth + 1))
        return out
    if tag == _INT:
        z, pos = decode_varint(b, pos)
        if pos != end or z >= 1 << 64:
            raise _Other
        return (z >> 1) ^ -(z & 1)
    if tag in (_BOOL, _NULL):
        v = b[pos]
        if pos + 1 != end or v > 1:
            raise _Other
        if tag == _NULL:
            if v:
                raise _Other  # an unknown JsonNull value
            return None
        return v == 1
    raise _Other  # double_value, number_text, several fields: the reference checks them


# Object members (their bytes) read before whose value is an immutable string or bool: the
# members of a stream's payloads mostly repeat.
_members: dict[bytes, tuple[str, Any]] = {}


def _item(b: bytes, pos: int, end: int) -> tuple[int, int]:
    """Where the JsonArray item at `pos` (before `end`) starts and stops."""
    if b[pos] != _ARRAY_ITEM:
        raise _Other
    size, start = decode_varint(b, pos + 1)
    stop = start + size
    if stop > end:
        raise _Other
    return start, stop


def _remember_member(entry: bytes, key: str, value: Any) -> None:
    if len(_members) >= _MEMO_MAX:
        _members.clear()
    _members[entry] = (key, value)


def _read_object(b: bytes, pos: int, end: int, depth: int) -> dict[str, Any]:
    """The members b[pos:end] of a JsonObject (`depth` containers around the members)."""
    out: dict[str, Any] = {}
    members = _members
    while pos < end:
        if b[pos] != _OBJECT_ENTRY:
            raise _Other
        size = b[pos + 1]
        pos += 2
        if size >= 0x80:
            size, pos = decode_varint(b, pos - 1)
        stop = pos + size
        if stop > end or b[pos] != _OBJECT_KEY:
            raise _Other
        kend = pos + 2 + b[pos + 1]
        entry = b""
        if kend + 2 < stop and b[kend + 2] != _INT:  # ints (counters, ids) rarely repeat
            entry = b[pos:stop]
            known = members.get(entry)
            if known is not None:
                out[known[0]] = known[1]
                pos = stop
                continue
        if b[pos + 1] >= 0x80:
            klen, kpos = decode_varint(b, pos + 1)
            kend = kpos + klen
            key = b[kpos:kend].decode()
        else:
            key = b[pos + 2 : kend].decode()
        if kend == stop:
            out[key] = None  # no value: an unset JsonValue, read as null
        elif kend > stop or b[kend] != _OBJECT_VALUE:
            raise _Other
        elif b[kend + 1] == stop - kend - 2 and stop - kend > 3:
            # A value with a one-byte length: strings, small ints and bools read inline.
            vtag = b[kend + 2]
            if vtag == _STRING and b[kend + 3] == stop - kend - 4:
                out[key] = text = b[kend + 4 : stop].decode()
                if size <= 48:  # short names and kinds repeat across events
                    _remember_member(entry, key, text)
            elif vtag == _INT and stop - kend == 4 and b[kend + 3] < 0x80:
                z = b[kend + 3]
                out[key] = (z >> 1) ^ -(z & 1)
            elif vtag == _INT and stop - kend == 5 and b[kend + 3] >= 0x80 > b[kend + 4]:
                z = b[kend + 3] & 0x7F | b[kend + 4] << 7
                out[key] = (z >> 1) ^ -(z & 1)
            elif (
                vtag == _INT and stop - kend == 6 and b[kend + 3] >= 0x80 and b[kend + 4] >= 0x80
                and b[kend + 5] < 0x80
            ):  # fmt: skip
                z = b[kend + 3] & 0x7F | (b[kend + 4] & 0x7F) << 7 | b[kend + 5] << 14
                out[key] = (z >> 1) ^ -(z & 1)
            elif vtag == _BOOL and stop - kend == 4 and b[kend + 3] < 2:
                out[key] = flag = b[kend + 3] == 1
                if size <= 48:
                    _remember_member(entry, key, flag)
            else:
                out[key] = _read_json(b, kend + 2, stop, depth)
        else:
            vlen, vpos = decode_varint(b, kend + 1)
            if vpos + vlen != stop:
                raise _Other
            out[key] = _read_json(b, vpos, stop, depth)
        pos = stop
    return out
