"""What a call carries in its gRPC metadata, for clients and the server alike: the bearer token
(`authorization`) and the distributed context (correlation id and W3C trace context).

Keys: `authorization`, `x-correlation-id`, `traceparent`, `tracestate` (the W3C header names,
lower case as gRPC requires). The server reads them (`read_metadata`, and its token check);
a client or worker writes them (`to_metadata`, `bearer_metadata`). A value already set in the
request message wins over metadata, because the message is the more specific of the two;
metadata fills only what the message left empty.

Example:
    >>> from hookwire.v1 import hook_pb2
    >>> ctx = hook_pb2.HookContext()
    >>> apply_to_context(
    ...     ctx, read_metadata((("x-correlation-id", "run-7"),), field="metadata")
    ... )
    >>> ctx.correlation_id
    'run-7'
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from hookwire.runtime.errors import InvalidArgument
from hookwire.v1 import event_pb2, hook_pb2

__all__ = [
    "AUTHORIZATION_KEY",
    "CORRELATION_ID_KEY",
    "TRACEPARENT_KEY",
    "TRACESTATE_KEY",
    "CallMetadata",
    "apply_to_context",
    "apply_to_event",
    "bearer_metadata",
    "read_metadata",
    "to_metadata",
]

AUTHORIZATION_KEY = "authorization"
CORRELATION_ID_KEY = "x-correlation-id"
TRACEPARENT_KEY = "traceparent"
TRACESTATE_KEY = "tracestate"

# version-traceid-parentid-flags; version ff is forbidden, ids must not be all zeros.
_TRACEPARENT_RE = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?\Z")


@dataclass(frozen=True, slots=True)
class CallMetadata:
    """The distributed-context part of one RPC's metadata (empty strings when absent)."""

    correlation_id: str = ""
    traceparent: str = ""
    tracestate: str = ""


def _validate_traceparent(value: str, field: str) -> None:
    match = _TRACEPARENT_RE.match(value)
    if match is None:
        raise InvalidArgument(
            field, f"not a W3C traceparent ('00-<32 hex>-<16 hex>-<2 hex>'), got {value!r}"
        )
    version, trace_id, parent_id, _flags, rest = match.groups()
    if version == "ff":
        raise InvalidArgument(field, "version 'ff' is invalid")
    if version == "00" and rest:
        raise InvalidArgument(field, "version 00 has exactly four parts")
    if trace_id == "0" * 32 or parent_id == "0" * 16:
        raise InvalidArgument(field, "trace id and parent id must not be all zeros")


def read_metadata(
    metadata: Iterable[tuple[str, str | bytes]] | None, *, field: str = "metadata"
) -> CallMetadata:
    """Pick correlation id and trace context out of invocation metadata, validating traceparent.

    Raises InvalidArgument naming e.g. `metadata.traceparent` for a malformed traceparent.
    """
    found: dict[str, str] = {}
    for key, value in metadata or ():
        if key in (CORRELATION_ID_KEY, TRACEPARENT_KEY, TRACESTATE_KEY):
            found[key] = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    traceparent = found.get(TRACEPARENT_KEY, "").strip()
    if traceparent:
        _validate_traceparent(traceparent, f"{field}.{TRACEPARENT_KEY}")
    return CallMetadata(
        correlation_id=found.get(CORRELATION_ID_KEY, ""),
        traceparent=traceparent,
        tracestate=found.get(TRACESTATE_KEY, ""),
    )


def to_metadata(
    *, correlation_id: str = "", traceparent: str = "", tracestate: str = ""
) -> tuple[tuple[str, str], ...]:
    """Metadata pairs a client sends to propagate its distributed context.

    Example:
        >>> to_metadata(correlation_id="run-7")
        (('x-correlation-id', 'run-7'),)
    """
    pairs = (
        (CORRELATION_ID_KEY, correlation_id),
        (TRACEPARENT_KEY, traceparent),
        (TRACESTATE_KEY, tracestate),
    )
    return tuple((k, v) for k, v in pairs if v)


def bearer_metadata(token: str) -> tuple[tuple[str, str]]:
    """The metadata a client sends to authenticate with `token`.

    Example:
        >>> bearer_metadata("t")
        (('authorization', 'Bearer t'),)
    """
    return ((AUTHORIZATION_KEY, f"Bearer {token}"),)


def apply_to_context(ctx: hook_pb2.HookContext, meta: CallMetadata) -> None:
    """Fill ctx.correlation_id and ctx.distributed.trace_context where the message left
    them empty."""
    if meta.correlation_id and not ctx.correlation_id:
        ctx.correlation_id = meta.correlation_id
    if meta.traceparent and not ctx.distributed.trace_context.traceparent:
        ctx.distributed.trace_context.traceparent = meta.traceparent
        ctx.distributed.trace_context.tracestate = meta.tracestate


def apply_to_event(event: event_pb2.UniversalEvent, meta: CallMetadata) -> None:
    """Fill event.correlation_id and event.trace_context where the message left them empty."""
    if meta.correlation_id and not event.correlation_id:
        event.correlation_id = meta.correlation_id
    if meta.traceparent and not event.trace_context.traceparent:
        event.trace_context.traceparent = meta.traceparent
        event.trace_context.tracestate = meta.tracestate
