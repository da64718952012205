"""Reading a serialized batch of UniversalEvents (a hookwire.v1.PublishRequest) straight from
its bytes into unsequenced Events, keeping each event's encoding for the frames sent to
subscribers.

The server's publish hot path: reading fields through protobuf message objects costs a C call
and a Python object per field and event; here one loop walks the bytes. The input must be the
canonical encoding of a parsed message (`PublishRequest.SerializeToString()`): the parser has
already checked its structure and UTF-8, and canonical encoding means each singular field once,
minimal tags, so the payload check below is exact. Events with rarer fields (time, ttl, trace
context, metadata, unknown fields) are read through a UniversalEvent message instead, with the
same result as `WireEvents.read` (hookwire.runtime.wire.event).

Example:
    >>> from hookwire.runtime.bus.event import Event
    >>> from hookwire.runtime.wire.event import event_to_proto
    >>> from hookwire.v1 import event_service_pb2
    >>> req = event_service_pb2.PublishRequest(events=[event_to_proto(Event("a.b", {"x": 1}))])
    >>> batch = read_batch(req.SerializeToString())
    >>> ev = batch.events[0]
    >>> ev.type, ev.payload, ev.sequence, batch.given
    ('a.b', {'x': 1}, 0, [0])
"""

from __future__ import annotations

from typing import Any, Final

from hookwire.runtime.bus.event import NO_ATTRS, NO_DATA, Event, EventAttrs
from hookwire.runtime.errors import InvalidArgument
from hookwire.runtime.framing import decode_varint
from hookwire.runtime.wire.event import (
    EVENT_TAGS,
    WireEvents,
    attrs_from_key,
    event_with_payload,
)
from hookwire.runtime.wire.tags import field_key
from hookwire.v1 import event_pb2, event_service_pb2

__all__ = ["GIVEN_ID", "GIVEN_TIME", "WireBatch", "read_batch"]

# `WireBatch.given` bits: the message had its own id / time (the bus stamps the others).
GIVEN_ID: Final = 1
GIVEN_TIME: Final = 2

# The tags (field number << 3 | wire type) read in the loop, from the descriptors; a sequence
# on the wire is ignored (the bus assigns it).
_ID, _TIME, _TYPE, _SOURCE, _LANGUAGE, _PAYLOAD, _SEQUENCE, _CORRELATION, _CAUSATION = (
    EVENT_TAGS[name]
    for name in (
        "id", "time", "type", "source", "source_language", "payload", "sequence",
        "correlation_id", "causation_id",
    )
)  # fmt: skip
_EVENTS: Final = field_key(event_service_pb2.PublishRequest, "events")


class WireBatch(list[Event]):
    """The events of one serialized batch (unsequenced, for the bus), in order, with `bodies`
    (each event's encoding as received) and `given` (GIVEN_ID / GIVEN_TIME bits per event)."""

    __slots__ = ("bodies", "given")

    def __init__(self, events: list[Event], bodies: list[bytes], given: list[int]) -> None:
        super().__init__(events)
        self.bodies = bodies
        self.given = given

    @property
    def events(self) -> list[Event]:
        """The events (the batch itself)."""
        return self


def _skip(buf: bytes, pos: int, wire_type: int) -> int:
    """The position after a field's value of `wire_type` starting at `pos`."""
    if wire_type == 0:
        return decode_varint(buf, pos)[1]
    if wire_type == 1:
        return pos + 8
    if wire_type == 2:
        n, pos = decode_varint(buf, pos)
        return pos + n
    if wire_type == 5:
        return pos + 4
    # Groups (3, 4) are not produced by any current encoder; the parser already accepted the
    # bytes, so this is unreachable for canonical input.
    raise InvalidArgument("events", f"unsupported wire type {wire_type}")


def read_batch(encoded: bytes) -> WireBatch:
    """Read the canonical encoding of a PublishRequest; InvalidArgument names
    `events[i].<field>` of the first bad event. Event types are not checked here."""
    events: list[Event] = []
    bodies: list[bytes] = []
    given: list[int] = []
    attrs_of: dict[tuple[Any, ...], EventAttrs] = {}
    new: Any = Event.__new__
    slow = WireEvents()
    buf = encoded
    end_all = len(buf)
    pos = 0
    i = -1
    head = b""
    head_len = 0
    head_type = ""
    head_attrs = NO_ATTRS
    ev_: Event
    try:
        while pos < end_all:
            tag = buf[pos]
            pos += 1
            if tag != _EVENTS:  # an unknown field of the request: ignored, as a parser does
                key_n, pos = decode_varint(buf, pos - 1)
                pos = _skip(buf, pos, key_n & 7)
                continue
            i += 1
            n = buf[pos]
            pos += 1
            if n >= 0x80:
                n, pos = decode_varint(buf, pos - 1)
            start = pos
            end = pos + n
            if end > end_all:
                raise IndexError(end)
            pos = end
            body = buf[start:end]
            bodies.append(body)
            # The events of a batch mostly differ in their payload only: when this one is the
            # previous one's fields before its payload (`head`, whole fields) followed by one
            # payload field that ends the event, it has exactly those fields and that payload.
            if (
                head_len
                and 0 <= n - head_len - 2 < 0x80
                and body[head_len + 1] == n - head_len - 2
                and body[head_len] == _PAYLOAD
                and body.startswith(head)
            ):
                raw = body[head_len + 2 :]
                ev_ = event_with_payload(raw)
                ev_.type = head_type
                ev_.id = ""
                ev_.sequence = 0
                ev_.time_ns = None
                ev_.ttl_ns = None
                ev_.attrs = head_attrs
                events.append(ev_)
                given.append(0)
                continue
            # One pass over the event's fields; anything rare sends it to the slow reader.
            p = start
            type_: bytes = b""
            ident: bytes = b""
            source: bytes = b""
            correlation: bytes = b""
            causation: bytes = b""
            language = 0
            payload_at = -1
            payload_end = 0
            rare = False
            while p < end:
                t = buf[p]
                p += 1
                if t & 7 == 2:
                    m = buf[p]
                    p += 1
                    if m >= 0x80:
                        m, p = decode_varint(buf, p - 1)
                    at = p
                    p += m
                    if t == _TYPE:
                        type_ = buf[at:p]
                    elif t == _PAYLOAD:
                        payload_at = at
                        payload_end = p
                    elif t == _ID:
                        ident = buf[at:p]
                    elif t == _SOURCE:
                        source = buf[at:p]
                    elif t == _CORRELATION:
                        correlation = buf[at:p]
                    elif t == _CAUSATION:
                        causation = buf[at:p]
                    else:
                        rare = True
                        break
                elif t in (_LANGUAGE, _SEQUENCE):
                    v = buf[p]
                    p += 1
                    if v >= 0x80:
                        v, p = decode_varint(buf, p - 1)
                    if t == _LANGUAGE:
                        language = v
                else:
                    rare = True
                    break
            if p > end:
                raise IndexError(p)
            if rare:
                pb = event_pb2.UniversalEvent.FromString(body)
                try:
                    [ev] = slow.read([pb])
                except InvalidArgument as exc:
                    raise InvalidArgument(
                        (exc.field or "").removeprefix("events[0]."), exc.reason
                    ) from None
                events.append(ev)
                given.append(
                    (GIVEN_ID if pb.id else 0) | (GIVEN_TIME if pb.HasField("time") else 0)
                )
                continue
            if payload_at < 0:
                ev_ = new(Event)
                ev_.payload = NO_DATA
            else:
                raw = buf[payload_at:payload_end]
                ev_ = event_with_payload(raw)
            ev_.type = type_.decode()
            ev_.id = ident.decode() if ident else ""
            ev_.sequence = 0
            ev_.time_ns = None
            ev_.ttl_ns = None
            if source or language or correlation or causation:
                key = (source, language, correlation, causation)
                attrs = attrs_of.get(key)
                if attrs is None:
                    attrs = attrs_of[key] = attrs_from_key(
                        (
                            source.decode(),
                            language,
                            correlation.decode(),
                            causation.decode(),
                            "",
                            "",
                        ),
                        None,
                    )
                ev_.attrs = attrs
            else:
                ev_.attrs = NO_ATTRS
            events.append(ev_)
            given.append(GIVEN_ID if ident else 0)
            # A payload field of up to 127 bytes (one length byte) that ends the event, after
            # fields all batch-mates may share (not an id): the head for the next events.
            if (
                not ident
                and payload_at >= 0
                and payload_end == end
                and payload_end - payload_at < 0x80
                and buf[payload_at - 2] == _PAYLOAD
            ):
                head = buf[start : payload_at - 2]
                head_len = len(head)
                head_type = ev_.type
                head_attrs = ev_.attrs
            else:
                head_len = 0
    except InvalidArgument as exc:
        raise InvalidArgument(f"events[{i}].{exc.field}", exc.reason) from None
    except IndexError:
        # Only input that is not a canonical encoding can end mid-field.
        raise InvalidArgument("events", "is not a valid PublishRequest encoding") from None
    return WireBatch(events, bodies, given)
