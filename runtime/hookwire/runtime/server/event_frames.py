"""Serialized events by sequence, so Subscribe streams send what Publish received without
converting each event back from the bus's native form.

An event published over gRPC arrives as a UniversalEvent; the bus stamps it (sequence, id,
time). Publish stamps the received message the same way and keeps its serialized bytes here;
Subscribe then writes an EventBatch by concatenating those bytes (the protobuf encoding of a
repeated field is the concatenation of its elements). Events published in-process have no
frame and are converted by `wire.event.event_to_bytes`, so a missing frame only costs time.

The cache is bounded (the bus's retention size by default); the oldest frames go first.

Example:
    >>> from hookwire.runtime.bus import Event
    >>> frames = EventFrames(capacity=2)
    >>> ev = Event("a.b", {"x": 1}, sequence=7, id="e7", time_ns=0)
    >>> from hookwire.v1 import event_service_pb2
    >>> raw = frames.batch([ev], event_service_pb2.SubscriptionStats(delivered=1))
    >>> batch = event_service_pb2.EventBatch.FromString(raw)
    >>> (batch.events[0].sequence, batch.events[0].type, batch.stats.delivered)
    (7, 'a.b', 1)
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from google.protobuf import timestamp_pb2
from hookwire.runtime.bus.event import Event, IdSource
from hookwire.runtime.framing import encode_varint
from hookwire.runtime.wire.bus_publish import GIVEN_ID, GIVEN_TIME, WireBatch
from hookwire.runtime.wire.event import event_to_bytes
from hookwire.runtime.wire.tags import field_tag
from hookwire.v1 import event_pb2, event_service_pb2

__all__ = ["EventFrames"]

# Field tags, from the descriptors.
_EVENTS_TAG = field_tag(event_service_pb2.EventBatch, "events")
_STATS_TAG = field_tag(event_service_pb2.EventBatch, "stats")
_ID_TAG = field_tag(event_pb2.UniversalEvent, "id")
_TIME_TAG = field_tag(event_pb2.UniversalEvent, "time")
_SEQUENCE_TAG = field_tag(event_pb2.UniversalEvent, "sequence")
# The id tag and the length of a derived (UUID-shaped, 36-character) id, and what the stamp
# adds to a frame beside the sequence's and the time's own bytes when its id is derived.
_ID36 = _ID_TAG + encode_varint(36)
_STAMP36 = len(_SEQUENCE_TAG) + len(_ID36) + 36


def _field(tag: bytes, payload: bytes) -> bytes:
    return tag + encode_varint(len(payload)) + payload


def _stamp_given(body: bytes, ev: Event, given: int, times: dict[int, bytes]) -> bytes:
    """`body` stamped with the sequence, and the id / time unless the publisher gave them."""
    out = body + _SEQUENCE_TAG + encode_varint(ev.sequence)
    if not given & GIVEN_ID:
        out += _field(_ID_TAG, ev.id.encode())
    time_ns = ev.time_ns
    if time_ns is not None and not given & GIVEN_TIME:
        out += times.get(time_ns) or _time_field(time_ns, times)
    return out


def _time_field(time_ns: int, times: dict[int, bytes]) -> bytes:
    """The encoded time field of `time_ns`, remembered in `times`."""
    ts = timestamp_pb2.Timestamp()
    ts.FromNanoseconds(time_ns)
    field = times[time_ns] = _field(_TIME_TAG, ts.SerializeToString())
    return field


class EventFrames:
    """A bounded map from sequence to the framed, serialized UniversalEvent."""

    def __init__(self, capacity: int = 65_536) -> None:
        self._frames: dict[int, bytes] = {}
        self._order: deque[int] = deque()
        self._capacity = capacity

    def __len__(self) -> int:
        return len(self._frames)

    def remember_encoded(self, batch: WireBatch) -> None:
        """Keep the frame of each event of a published WireBatch (see `read_batch`), stamped
        like its published copy: its received encoding, then the sequence, and the id and
        time the bus gave it where the publisher gave none."""
        frames, order = self._frames, self._order
        times: dict[int, bytes] = {}
        varint = encode_varint
        join = b"".join
        events = batch.events
        count = len(events)
        first = 0
        # The ids of the batch's sequences, formatted at once (the first time one is needed).
        run: list[bytes] = []
        run_of: IdSource | None = None
        for ev, body, given in zip(events, batch.bodies, batch.given, strict=True):
            seq = ev.sequence
            time_ns = ev.time_ns
            if given or time_ns is None:
                body = _stamp_given(body, ev, given, times)
                frames[seq] = join((_EVENTS_TAG, varint(len(body)), body))
                order.append(seq)
                continue
            # The common case, inline: the bus gave both the id and the time (derived ids
            # are 36 characters; one join for the whole frame).
            derived = ev.id_derivation()
            if derived is not None:
                i, n = derived  # the bus's id source and number of the event (see IdSource)
                if i is not run_of:
                    run, run_of, first = i.derive_ascii_run(n, count), i, n
                at = n - first
                ident = run[at] if 0 <= at < count else i.derive_ascii(n)
            else:
                ident = ev.id.encode()
            seq_v = varint(seq)
            time_f = times.get(time_ns) or _time_field(time_ns, times)
            if len(ident) == 36:
                size = len(body) + len(seq_v) + len(time_f) + _STAMP36
                frames[seq] = join(
                    (_EVENTS_TAG, varint(size), body, _SEQUENCE_TAG, seq_v, _ID36, ident, time_f)
                )
            else:
                inner = join(
                    (body, _SEQUENCE_TAG, seq_v, _ID_TAG, varint(len(ident)), ident, time_f)
                )
                frames[seq] = join((_EVENTS_TAG, varint(len(inner)), inner))
            order.append(seq)
        while len(order) > self._capacity:
            frames.pop(order.popleft(), None)

    def batch(self, events: Sequence[Event], stats: event_service_pb2.SubscriptionStats) -> bytes:
        """The serialized EventBatch of `events` (in order) and `stats`."""
        frames = self._frames
        parts = []
        for ev in events:
            frame = frames.get(ev.sequence)
            if frame is None:
                frame = _field(_EVENTS_TAG, event_to_bytes(ev))
            parts.append(frame)
        parts.append(_field(_STATS_TAG, stats.SerializeToString()))
        return b"".join(parts)
