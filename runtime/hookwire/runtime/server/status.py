"""Mapping runtime errors (HookwireError.code) to gRPC status codes.

Example:
    >>> from hookwire.runtime.errors import NotFound
    >>> status_code_for(NotFound("hook_name", "no hook named 'x'"))
    <StatusCode.NOT_FOUND: (5, 'not found')>
"""

from __future__ import annotations

from typing import NoReturn

import grpc
from grpc import aio
from hookwire.runtime.errors import HookwireError

__all__ = ["abort_with", "status_code_for", "status_code_named"]

_BY_NAME: dict[str, grpc.StatusCode] = {code.name: code for code in grpc.StatusCode}


def status_code_named(name: str) -> grpc.StatusCode:
    """The grpc.StatusCode called `name` ("NOT_FOUND"); UNKNOWN for names gRPC does not have."""
    return _BY_NAME.get(name, grpc.StatusCode.UNKNOWN)


def status_code_for(error: HookwireError) -> grpc.StatusCode:
    """The gRPC status a HookwireError travels as (its `code` is a gRPC code name)."""
    return status_code_named(error.code)


async def abort_with(
    context: aio.ServicerContext[object, object], error: HookwireError
) -> NoReturn:
    """End the RPC with the error's status; the message names the field ("field: reason")."""
    await context.abort(status_code_for(error), str(error))
    raise AssertionError("unreachable: context.abort raises")  # pragma: no cover
