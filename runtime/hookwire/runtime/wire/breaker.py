"""BreakerStatus <-> hookwire.v1.BreakerStatus: how a hook's breaker state crosses the wire
(ListHooks, GetBreakerState; the server writes it, clients read it).

Example:
    >>> from hookwire.runtime.breaker import BreakerState, BreakerStatus
    >>> status = BreakerStatus(BreakerState.OPEN, 20, 11, 0, 5_000_000_000, 0, 0)
    >>> pb = breaker_status_to_proto("audit", status)
    >>> pb.hook_name, breaker_status_from_proto(pb) == status
    ('audit', True)
"""

from __future__ import annotations

from hookwire.runtime.breaker import BreakerStatus, breaker_state_from_proto
from hookwire.v1 import hook_pb2

__all__ = ["breaker_status_from_proto", "breaker_status_to_proto"]

_NS = 1_000_000_000


def breaker_status_to_proto(name: str, status: BreakerStatus) -> hook_pb2.BreakerStatus:
    """The wire form of one hook's breaker status."""
    return status.to_proto(name)


def breaker_status_from_proto(pb: hook_pb2.BreakerStatus) -> BreakerStatus:
    """The runtime's BreakerStatus from its wire form."""
    return BreakerStatus(
        state=breaker_state_from_proto(pb.state),
        window_calls=pb.window_calls,
        window_failures=pb.window_failures,
        window_slow=pb.window_slow,
        current_open_duration_ns=pb.current_open_duration.seconds * _NS
        + pb.current_open_duration.nanos,
        probes_in_flight=pb.probes_in_flight,
        good_probes=pb.good_probes,
    )
