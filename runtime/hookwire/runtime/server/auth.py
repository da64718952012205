"""Bearer-token authentication for every RPC except standard health checks.

A client sends `authorization: Bearer <token>` in its metadata (`wire.metadata.bearer_metadata`).
Missing or wrong tokens end the RPC with UNAUTHENTICATED before any handler runs; tokens are
compared with `hmac.compare_digest`, so the time taken does not reveal how much of a guess was
right.
Health checks stay open so that load balancers and orchestrators can probe without secrets.

Example:
    >>> interceptor = TokenAuthInterceptor("s3cret")
    >>> interceptor.accepts((("authorization", "Bearer s3cret"),))
    True
    >>> interceptor.accepts((("authorization", "Bearer nope"),))
    False
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import grpc
from grpc import aio
from hookwire.runtime.errors import InvalidArgument
from hookwire.runtime.wire.metadata import AUTHORIZATION_KEY

__all__ = ["TokenAuthInterceptor"]

_SCHEME = "bearer "
# Probes must work without a token (grpc.health.v1 is the standard health service).
_OPEN_PREFIXES = ("/grpc.health.v1.Health/",)
_FIRST_MESSAGE_WAIT_S = 0.5


class TokenAuthInterceptor(aio.ServerInterceptor):
    """Server interceptor that rejects RPCs without the configured bearer token."""

    def __init__(self, token: str) -> None:
        if not isinstance(token, str) or not token:
            raise InvalidArgument("token", "must be a non-empty string")
        self._token = token.encode()

    def accepts(self, metadata: Sequence[tuple[str, str | bytes]] | None) -> bool:
        """True when `metadata` carries `authorization: Bearer <the token>`."""
        presented = b""
        for key, value in metadata or ():
            if key == AUTHORIZATION_KEY:
                text = value.decode("latin-1") if isinstance(value, bytes) else value
                if text[: len(_SCHEME)].lower() == _SCHEME:
                    presented = text[len(_SCHEME) :].strip().encode()
                break
        # compare_digest on the full values: constant time whatever the prefix in common.
        return hmac.compare_digest(presented, self._token)

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any] | None]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = await continuation(handler_call_details)
        if handler is None or handler_call_details.method.startswith(_OPEN_PREFIXES):
            return handler
        if self.accepts(handler_call_details.invocation_metadata):
            return handler
        return _denying(handler)


_DENIED = "missing or invalid bearer token in the 'authorization' metadata"


def _denying(handler: grpc.RpcMethodHandler[Any, Any]) -> grpc.RpcMethodHandler[Any, Any]:
    """A handler of the same shape as `handler` that fails with UNAUTHENTICATED."""

    async def deny(_request: Any, context: aio.ServicerContext[Any, Any]) -> Any:
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, _DENIED)

    async def deny_stream(request: Any, context: aio.ServicerContext[Any, Any]) -> Any:
        if hasattr(request, "__anext__"):
            # A streaming client (a worker) writes its first message while the denial is on its
            # way; ending the call under that write makes grpc report INTERNAL ("Internal error
            # from Core") to the client instead of our status. Take that message first (briefly).
            with contextlib.suppress(Exception):
                await asyncio.wait_for(anext(request), _FIRST_MESSAGE_WAIT_S)
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, _DENIED)
        yield  # pragma: no cover - makes this an async generator like the real handler

    des, ser = handler.request_deserializer, handler.response_serializer
    if handler.request_streaming and handler.response_streaming:
        return grpc.stream_stream_rpc_method_handler(deny_stream, des, ser)
    if handler.request_streaming:
        return grpc.stream_unary_rpc_method_handler(deny, des, ser)
    if handler.response_streaming:
        return grpc.unary_stream_rpc_method_handler(deny_stream, des, ser)
    return grpc.unary_unary_rpc_method_handler(deny, des, ser)
