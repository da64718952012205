"""gRPC failures as the runtime's typed errors, so SDK users catch the same classes in-process
and remotely.

A status whose details read "field: reason" (how the server words every validation error)
keeps `field` and `reason` apart.

Example:
    >>> err = error_from_status("NOT_FOUND", "hook_name: no hook named 'x'")
    >>> (type(err).__name__, err.field, err.reason)
    ('NotFound', 'hook_name', "no hook named 'x'")
"""

from __future__ import annotations

import re

import grpc
from hookwire.runtime.errors import (
    AlreadyExists,
    DeadlineExceeded,
    FailedPrecondition,
    HookwireError,
    InvalidArgument,
    NotFound,
    OutOfRange,
    RateLimited,
)

__all__ = ["ERROR_CLASSES", "Unauthenticated", "Unavailable", "error_from_rpc", "error_from_status"]


class Unauthenticated(HookwireError):
    """The server wants a (different) bearer token."""

    code = "UNAUTHENTICATED"


class Unavailable(HookwireError):
    """The server cannot be reached or is shutting down."""

    code = "UNAVAILABLE"


ERROR_CLASSES: dict[str, type[HookwireError]] = {
    "INVALID_ARGUMENT": InvalidArgument,
    "NOT_FOUND": NotFound,
    "ALREADY_EXISTS": AlreadyExists,
    "OUT_OF_RANGE": OutOfRange,
    "FAILED_PRECONDITION": FailedPrecondition,
    "DEADLINE_EXCEEDED": DeadlineExceeded,
    "RESOURCE_EXHAUSTED": RateLimited,
    "UNAUTHENTICATED": Unauthenticated,
    "UNAVAILABLE": Unavailable,
}

# "field: reason" where field is a path such as `events[3].type` or `metadata.traceparent`.
_FIELD_RE = re.compile(
    r"([A-Za-z_][A-Za-z0-9_]*(?:\[\d+\]|\.[A-Za-z_][A-Za-z0-9_]*)*): (.*)\Z", re.S
)


def error_from_status(code: str, details: str) -> HookwireError:
    """The typed error for a status code name and its details text."""
    cls = ERROR_CLASSES.get(code, HookwireError)
    match = _FIELD_RE.match(details)
    err = cls(match.group(1), match.group(2)) if match else cls(details)
    if cls is HookwireError:
        err.code = code
    return err


def error_from_rpc(exc: grpc.RpcError) -> HookwireError:
    """Turn a grpc.RpcError (sync or aio) into the matching typed error."""
    code_fn = getattr(exc, "code", None)
    details_fn = getattr(exc, "details", None)
    code = code_fn() if callable(code_fn) else grpc.StatusCode.UNKNOWN
    details = details_fn() if callable(details_fn) else str(exc)
    name = code.name if isinstance(code, grpc.StatusCode) else "UNKNOWN"
    return error_from_status(name, details or "")
