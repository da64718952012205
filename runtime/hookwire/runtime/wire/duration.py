"""google.protobuf.Duration and Timestamp <-> integer nanoseconds (the runtime's time unit).

Example:
    >>> from google.protobuf.duration_pb2 import Duration
    >>> d = Duration()
    >>> duration_to_proto(-1_500_000_000, d)
    >>> (d.seconds, d.nanos, duration_from_proto(d))
    (-1, -500000000, -1500000000)
"""

from __future__ import annotations

from typing import Any

__all__ = ["duration_from_proto", "duration_to_proto", "timestamp_from_proto", "timestamp_to_proto"]

_NS = 1_000_000_000


def duration_to_proto(ns: int, pb: Any) -> None:
    """Write `ns` into the Duration `pb` (seconds and nanos carry the same sign)."""
    seconds, nanos = divmod(abs(ns), _NS)
    sign = -1 if ns < 0 else 1
    pb.seconds = sign * seconds
    pb.nanos = sign * nanos


def duration_from_proto(pb: Any) -> int:
    """The nanoseconds of a Duration."""
    return int(pb.seconds) * _NS + int(pb.nanos)


def timestamp_to_proto(unix_ns: int, pb: Any) -> None:
    """Write `unix_ns` into the Timestamp `pb` (nanos are never negative)."""
    pb.seconds, pb.nanos = divmod(unix_ns, _NS)


def timestamp_from_proto(pb: Any) -> int:
    """The unix nanoseconds of a Timestamp."""
    return int(pb.seconds) * _NS + int(pb.nanos)
