"""The native event type of the bus (as bytes and messages: hookwire.runtime.wire.event).

`Event` is slotted and treated as immutable once published. The fields read on every delivery
(type, payload, sequence, time, ttl) live on the event itself; the rest (source, correlation,
trace context, metadata, ...) live in one shared `EventAttrs` object, because most events on a
hot path share the same ones and building an event is then a handful of slot writes.

`payload` is any JSON value; `NO_DATA` (not `None`) means "no payload", `None` is JSON null.

Example:
    >>> ev = Event("tool.invoked", {"tool": "shell"}, source="hookwire://demo")
    >>> ev.payload["tool"], ev.source, ev.sequence
    ('shell', 'hookwire://demo', 0)
    >>> ev.replace(payload=None) == Event("tool.invoked", None, source="hookwire://demo")
    True
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Final, TypedDict, Unpack

from hookwire.runtime.errors import InvalidArgument
from hookwire.runtime.json_value import validate_json
from hookwire.runtime.language import check_language

__all__ = [
    "NO_ATTRS",
    "NO_DATA",
    "AttrFields",
    "Event",
    "EventAttrs",
    "IdSource",
    "NoData",
    "attrs_of",
]


NS_PER_S: Final = 1_000_000_000


# The largest google.protobuf.Timestamp (9999-12-31T23:59:59.999999999Z) and Duration
# (10,000 years), in nanoseconds.
_MAX_TIMESTAMP_NS = 253_402_300_799 * 1_000_000_000 + 999_999_999
_MAX_DURATION_NS = 315_576_000_000 * 1_000_000_000 + 999_999_999


class NoData:
    """Type of `NO_DATA`: the event carries no payload (distinct from a JSON null)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NO_DATA"

    def __reduce__(self) -> str:
        return "NO_DATA"


NO_DATA: Final = NoData()


class AttrFields(TypedDict, total=False):
    """The attributes of an event as keywords (all optional), as `EventAttrs`, `attrs_of`,
    `Event` and `EventBus.publish` take them."""

    source: str
    source_language: str
    correlation_id: str
    causation_id: str
    metadata: Mapping[str, str] | None
    traceparent: str
    tracestate: str


class EventAttrs:
    """The attributes of an event that are not needed to route or deliver it.

    Example:
        >>> EventAttrs(source="hookwire://x", metadata={"k": "v"}).metadata
        {'k': 'v'}
    """

    __slots__ = (
        "causation_id",
        "correlation_id",
        "metadata",
        "source",
        "source_language",
        "traceparent",
        "tracestate",
    )

    def __init__(
        self,
        *,
        source: str = "",
        source_language: str = "",
        correlation_id: str = "",
        causation_id: str = "",
        metadata: Mapping[str, str] | None = None,
        traceparent: str = "",
        tracestate: str = "",
    ) -> None:
        self.source = source
        self.source_language = source_language
        self.correlation_id = correlation_id
        self.causation_id = causation_id
        if metadata and not isinstance(metadata, Mapping):
            raise InvalidArgument("metadata", f"must be a dict of strings, got {metadata!r}")
        self.metadata: dict[str, str] = dict(metadata) if metadata else {}
        self.traceparent = traceparent
        self.tracestate = tracestate

    def validate(self) -> None:
        """Raise InvalidArgument naming the first attribute of the wrong type or value."""
        for name in ("source", "correlation_id", "causation_id", "traceparent", "tracestate"):
            value = getattr(self, name)
            if not isinstance(value, str):
                raise InvalidArgument(name, f"must be a string, got {type(value).__name__}")
        check_language(self.source_language, "source_language")
        if not isinstance(self.metadata, dict):
            raise InvalidArgument("metadata", "must be a dict of strings")
        for key, value in self.metadata.items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise InvalidArgument(
                    "metadata", f"keys and values must be strings, got {key!r}: {value!r}"
                )

    def fields(self) -> AttrFields:
        """The attributes by name (what `EventAttrs(**fields)` builds again).

        Example:
            >>> EventAttrs(source="s").fields()["source"]
            's'
        """
        return {name: getattr(self, name) for name in self.__slots__}  # type: ignore[return-value]

    def _key(self) -> tuple[Any, ...]:
        return tuple(map(self.__getattribute__, self.__slots__))


NO_ATTRS: Final = EventAttrs()


def attrs_of(**fields: Unpack[AttrFields]) -> EventAttrs:
    """The shared NO_ATTRS when every attribute is empty (most events), else new EventAttrs.

    Example:
        >>> attrs_of() is NO_ATTRS, attrs_of(source="s").source
        (True, 's')
    """
    return EventAttrs(**fields) if any(fields.values()) else NO_ATTRS


class IdSource:
    """Gives the ids of events published without one: a UUID-shaped id per (bus, number).

    A fresh uuid4 per event costs ~2 us, more than the rest of a publish. Instead each bus draws
    122 random bits once and numbers the events it commits (1, 2, ...); the id of number `n` is
    the random value with `n` added to its low 62 bits, formatted as an RFC 4122 version-4 UUID.
    Ids are unique within a bus (up to 2**62 events) and collide across buses only with uuid4
    odds. The number is fixed when the bus commits the event, before any transport sees it
    (it is not the sequence, which a distributed transport only learns from its server), and
    the text is formatted on first read: the inputs never change.

    Example:
        >>> src = IdSource(bytes(16))
        >>> src.derive(1)
        '00000000-0000-4000-8000-000000000001'
    """

    __slots__ = ("_ascii_prefix", "_high", "_low", "_prefix")

    def __init__(self, seed: bytes | None = None) -> None:
        raw = int.from_bytes(seed if seed is not None else os.urandom(16), "big")
        high = raw >> 64
        self._high = (high & ~(0xF << 12)) | (0x4 << 12)  # version 4
        self._low = raw & ((1 << 62) - 1)
        # The first three groups depend on the high half only: formatted once.
        h = f"{self._high:016x}"
        self._prefix = f"{h[:8]}-{h[8:12]}-{h[12:]}-"
        self._ascii_prefix = self._prefix.encode()

    def derive(self, sequence: int) -> str:
        low = (0b10 << 62) | ((self._low + sequence) & ((1 << 62) - 1))  # RFC 4122 variant
        return f"{self._prefix}{low >> 48:04x}-{low & 0xFFFFFFFFFFFF:012x}"

    def derive_ascii(self, sequence: int) -> bytes:
        """`derive(sequence)` as ASCII bytes (for encoders).

        Example:
            >>> IdSource(bytes(16)).derive_ascii(255)
            b'00000000-0000-4000-8000-0000000000ff'
        """
        low = (0b10 << 62) | ((self._low + sequence) & ((1 << 62) - 1))
        return b"%b%04x-%012x" % (self._ascii_prefix, low >> 48, low & 0xFFFFFFFFFFFF)

    def stamp(self, events: Iterable[Event], number: int, now: int) -> int:
        """Stamp unsequenced events as a bus's commit does: each without an id gets the id
        derived from the next number from `number`, each without a time gets `now`. Returns
        the next number.

        Example:
            >>> src = IdSource(bytes(16))
            >>> evs = [Event("a"), Event("b", id="given", time_ns=5)]
            >>> src.stamp(evs, 7, 100), [(e.id[-2:], e.time_ns) for e in evs]
            (8, [('07', 100), ('en', 5)])
        """
        for ev in events:
            if not ev._id:
                ev._id = self
                ev._idn = number
                number += 1
            if ev.time_ns is None:
                ev.time_ns = now
        return number

    def derive_ascii_run(self, first: int, count: int) -> list[bytes]:
        """`derive_ascii` of the `count` sequences from `first`, formatted in one operation
        (consecutive sequences share all but the last group unless it overflows).

        Example:
            >>> IdSource(bytes(16)).derive_ascii_run(9, 2)
            [b'00000000-0000-4000-8000-000000000009', b'00000000-0000-4000-8000-00000000000a']
        """
        if count <= 0:
            return []
        mask = (1 << 62) - 1
        start = (self._low + first) & mask
        stop = start + count - 1
        if stop > mask or start >> 48 != stop >> 48:
            return [self.derive_ascii(first + k) for k in range(count)]
        head = b"%b%04x-" % (self._ascii_prefix, ((0b10 << 62) | start) >> 48)
        tail = start & 0xFFFFFFFFFFFF
        text = b"%012x" * count % tuple(range(tail, tail + count))
        return [head + text[k : k + 12] for k in range(0, 12 * count, 12)]


def _from_attrs(name: str) -> Any:
    """A read-only Event property reading `attrs.<name>` (an attrgetter: no Python frame)."""
    return property(attrgetter(f"attrs.{name}"), doc=f"`attrs.{name}`")


class Event:
    """One event: type, payload, and the bus-assigned sequence, id and time.

    Construct freely; publishing stamps a copy. `time_ns` (wall, Unix ns) and `ttl_ns` are None
    when unset; `sequence` is 0 until published.

    Example:
        >>> ev = Event("a.b", None, ttl_ns=5)
        >>> ev.payload is None, ev.sequence, ev.time_ns, ev.ttl_ns
        (True, 0, None, 5)
    """

    __slots__ = ("_id", "_idn", "attrs", "payload", "sequence", "time_ns", "ttl_ns", "type")

    type: str
    payload: Any
    sequence: int
    time_ns: int | None
    ttl_ns: int | None
    attrs: EventAttrs
    _id: str | IdSource
    # The bus's number for this event when `_id` is its IdSource (see there).
    _idn: int

    def __init__(
        self,
        type: str,
        payload: Any = NO_DATA,
        *,
        id: str = "",
        time_ns: int | None = None,
        sequence: int = 0,
        ttl_ns: int | None = None,
        attrs: EventAttrs | None = None,
        **fields: Unpack[AttrFields],
    ) -> None:
        attrs = attrs_of(**fields) if attrs is None else attrs
        Event.unsequenced(type, payload, attrs, id, time_ns, ttl_ns, 0, self)
        self.sequence = sequence

    @staticmethod
    def unsequenced(
        type: str,
        payload: Any,
        attrs: EventAttrs,
        id: str | IdSource = "",
        time_ns: int | None = None,
        ttl_ns: int | None = None,
        number: int = 0,
        into: Event | None = None,
    ) -> Event:
        """An event to publish (sequence 0), built slot by slot from fields the caller has
        checked, without the constructor's keywords and attribute handling: a publish path
        builds one per event. `id` is the given id ("": one is given at publish), or the
        `IdSource` whose id of `number` it gets (what a bus's commit gives; formatted when
        read). `into`: the event to set the fields of instead of a new one (the constructor
        does; the one place an event's fields are set as a whole).

        Example:
            >>> ev = Event.unsequenced("a.b", {"k": 1}, NO_ATTRS)
            >>> ev == Event("a.b", {"k": 1}), ev.id, ev.time_ns
            (True, '', None)
            >>> Event.unsequenced("a.b", 1, NO_ATTRS, IdSource(bytes(16)), 10, None, 3).id
            '00000000-0000-4000-8000-000000000003'
        """
        ev = _Stamped() if into is None else into
        ev.type = type
        ev.payload = payload
        ev._id = id
        ev._idn = number
        ev.time_ns = time_ns
        ev.ttl_ns = ttl_ns
        ev.attrs = attrs
        ev.sequence = 0
        return ev

    def republished(self) -> Event:
        """The unsequenced copy a bus publishes of this event (`EventBus.publish_batch`):
        the same fields, sequence 0, and the id kept when it is text (given, or one the bus
        derived that was read since); an unread derived id is derived anew.

        Example:
            >>> Event("a", 1, id="e-1", sequence=4).republished().sequence
            0
        """
        i = self._id
        return Event.unsequenced(
            self.type,
            self.payload,
            self.attrs,
            i if isinstance(i, str) else "",
            self.time_ns,
            self.ttl_ns,
        )

    def id_derivation(self) -> tuple[IdSource, int] | None:
        """`(ids, number)` when the id is the one `ids` derives from `number` and was not
        formatted yet (an encoder may format a run of them at once); otherwise None.

        Example:
            >>> src = IdSource(bytes(16))
            >>> Event.unsequenced("a", 1, NO_ATTRS, src, 0, None, 2).id_derivation() == (src, 2)
            True
            >>> Event("a", id="e-1").id_derivation() is None
            True
        """
        i = self._id
        if type(i) is str:
            return None
        assert isinstance(i, IdSource)
        return i, self._idn

    @property
    def id(self) -> str:
        """The event id ("" when unpublished and not given; the bus gives one at publish)."""
        i = self._id
        if type(i) is str:
            return i
        assert isinstance(i, IdSource)
        text = i.derive(self._idn)
        self._id = text
        return text

    @id.setter
    def id(self, value: str) -> None:
        # For readers building an event slot by slot (hookwire.runtime.wire); before publish.
        self._id = value

    def id_bytes(self) -> bytes:
        """The id as UTF-8 bytes (an id the bus gave is formatted straight to bytes).

        Example:
            >>> Event("a", id="e-1").id_bytes()
            b'e-1'
        """
        i = self._id
        if type(i) is str:
            return i.encode()
        assert isinstance(i, IdSource)
        return i.derive_ascii(self._idn)

    # The attributes, read through `attrs` (read-only here; a copy with others: `replace`).
    source: str = _from_attrs("source")
    source_language: str = _from_attrs("source_language")
    correlation_id: str = _from_attrs("correlation_id")
    causation_id: str = _from_attrs("causation_id")
    metadata: dict[str, str] = _from_attrs("metadata")
    traceparent: str = _from_attrs("traceparent")
    tracestate: str = _from_attrs("tracestate")

    @property
    def has_payload(self) -> bool:
        return self.payload is not NO_DATA

    def expired(self, now_ns: int) -> bool:
        """Whether the ttl has passed at wall time `now_ns` (alive while now < time + ttl)."""
        ttl = self.ttl_ns
        if ttl is None or self.time_ns is None:
            return False
        return now_ns >= self.time_ns + ttl

    def validate(self) -> None:
        """Raise InvalidArgument naming the first invalid field (the bus checks the type)."""
        if not isinstance(self._id, (str, IdSource)):
            raise InvalidArgument("id", f"must be a string, got {type(self._id).__name__}")
        for name, most in (("time_ns", _MAX_TIMESTAMP_NS), ("ttl_ns", _MAX_DURATION_NS)):
            value = getattr(self, name)
            if value is not None and (type(value) is not int or value < 0):
                raise InvalidArgument(name, f"must be a non-negative int or None, got {value!r}")
            if value is not None and value > most:
                # Beyond what the wire's Timestamp / Duration can carry: refused here rather
                # than failing later, when the event is encoded for a subscriber or a host.
                raise InvalidArgument(
                    name, f"must be at most {most} (the wire's range), got {value}"
                )
        if type(self.sequence) is not int or not 0 <= self.sequence < 2**64:
            raise InvalidArgument(
                "sequence", f"must be an int in [0, 2**64), got {self.sequence!r}"
            )
        if self.payload is not NO_DATA:
            validate_json(self.payload, "payload")
        self.attrs.validate()

    def _key(self) -> tuple[Any, ...]:
        return (
            self.id,
            self.type,
            self.payload,
            self.sequence,
            self.time_ns,
            self.ttl_ns,
            self.attrs._key(),
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Event) and self._key() == other._key()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"Event(type={self.type!r}, sequence={self.sequence}, id={self.id!r}, "
            f"payload={self.payload!r})"
        )

    def replace(self, **changes: Any) -> Event:
        """A copy with some fields changed (same keyword names as the constructor).

        Example:
            >>> Event("a", 1).replace(payload=2).payload
            2
        """
        fields: dict[str, Any] = {
            "id": self.id,
            "time_ns": self.time_ns,
            "sequence": self.sequence,
            "ttl_ns": self.ttl_ns,
        }
        fields.update(self.attrs.fields())
        event_type = changes.pop("type", self.type)
        payload = changes.pop("payload", self.payload)
        unknown = set(changes) - set(fields)
        if unknown:
            raise InvalidArgument("changes", f"unknown Event fields: {sorted(unknown)}")
        fields.update(changes)
        return Event(event_type, payload, **fields)


class _Stamped(Event):
    """An Event built slot by slot (`Event.unsequenced`): the same fields and behaviour.

    A subclass only so that creating one skips `Event.__init__`: calling a class whose
    `__init__` is object's runs in C, ~25 ns less than `Event.__new__(Event)` (the publish
    hot path is ~1 us). Not constructible with arguments.
    """

    __slots__ = ()

    if TYPE_CHECKING:

        def __init__(self) -> None: ...

    else:
        __init__ = object.__init__
