"""Request bytes -> messages at the gRPC edge, with undecodable requests as typed errors.

grpcio runs a method's `request_deserializer` before the handler; when it raises, the client
gets UNKNOWN with the exception's class name, and grpcio logs a traceback per request. The
deserializers here never raise: bytes that do not parse become an `Undecodable` naming what
was wrong (the first bad field by its path, `context.data.fields["k"].string_value: is not
valid UTF-8`), the handler answers INVALID_ARGUMENT with that text, and the log gets at most
one line per `LOG_INTERVAL_S` summing them up.

Example:
    >>> from hookwire.v1 import executor_service_pb2 as es
    >>> decode = safe_deserializer(es.ExecuteRequest)
    >>> bad = decode(b"\\x0a\\x04\\x12\\x02\\xff\\xfe")
    >>> print(bad)
    context.custom_point: is not valid UTF-8
    >>> decode(b"").HasField("context")
    False
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, Final

import grpc
from google.protobuf.descriptor import FieldDescriptor, ServiceDescriptor
from google.protobuf.message import DecodeError, Message
from google.protobuf.message_factory import GetMessageClass
from grpc import aio

__all__ = [
    "LOG_INTERVAL_S",
    "Undecodable",
    "add_service",
    "diagnose",
    "refused_count",
    "safe_deserializer",
]

_log = logging.getLogger(__name__)

LOG_INTERVAL_S: Final = 10.0
# upb refuses messages nested deeper than this (its default recursion limit).
_MAX_NESTING: Final = 100
# The diagnosis walks the bytes in Python; beyond this many fields it stops looking (a hostile
# 4 MiB request must not cost the event loop seconds) and names the message type only.
_MAX_STEPS: Final = 20_000


class Undecodable:
    """A request whose bytes do not parse as its message type; `str()` is "field: reason"."""

    __slots__ = ("field", "reason", "type_name")

    def __init__(self, type_name: str, field: str, reason: str) -> None:
        self.type_name = type_name
        self.field = field
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}"


class _Refusals:
    """Counts undecodable requests and logs at most one line per LOG_INTERVAL_S."""

    def __init__(self) -> None:
        self.total = 0
        self._since_log = 0
        self._last_log = float("-inf")

    def note(self, method: str, bad: Undecodable) -> None:
        self.total += 1
        self._since_log += 1
        now = time.monotonic()
        if now - self._last_log >= LOG_INTERVAL_S:
            _log.warning(
                "%d undecodable request(s) refused with INVALID_ARGUMENT (latest: %s %s)",
                self._since_log,
                method,
                bad,
            )
            self._since_log = 0
            self._last_log = now


_refusals = _Refusals()


def refused_count() -> int:
    """Undecodable requests refused by this process so far (all servers)."""
    return _refusals.total


def safe_deserializer(cls: type[Message]) -> Callable[[bytes], Any]:
    """`cls.FromString`, except that bytes that do not parse give an `Undecodable`."""
    parse = cls.FromString
    descriptor = cls.DESCRIPTOR

    def deserialize(data: bytes) -> Any:
        try:
            return parse(data)
        except DecodeError:
            field, reason = diagnose(descriptor, data)
            return Undecodable(descriptor.full_name, field, reason)
        except Exception:  # whatever the parser raises, the bytes are bad
            return Undecodable(
                descriptor.full_name, "request", f"is not a valid {descriptor.full_name}"
            )

    return deserialize


# -- what was wrong ---------------------------------------------------------------------------


class _Bad(Exception):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(field, reason)
        self.field = field
        self.reason = reason


def diagnose(descriptor: Any, data: bytes) -> tuple[str, str]:
    """(field path, reason) of the first thing that makes `data` an invalid `descriptor`.

    Falls back to ("request", "is not a valid <type> ...") when the walk finds nothing (or
    gives up after a bounded number of fields).
    """
    steps = [0]
    try:
        _walk(descriptor, memoryview(data), "", 0, steps)
    except _Bad as bad:
        field = bad.field or "request"
        if len(field) > 200:  # e.g. a hundred nested `parent.`s: keep both ends
            field = f"{field[:100]}...{field[-80:]}"
        return field, bad.reason
    return "request", f"is not a valid {descriptor.full_name} (undecodable protobuf bytes)"


def _varint(data: memoryview, pos: int, where: str) -> tuple[int, int]:
    result = shift = 0
    for i in range(pos, min(pos + 10, len(data))):
        byte = data[i]
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, i + 1
        shift += 7
    raise _Bad(where, f"truncated or overlong varint at byte {pos}")


def _walk(desc: Any, data: memoryview, path: str, depth: int, steps: list[int]) -> None:
    where = path.rstrip(".") or "request"
    if depth > _MAX_NESTING:
        raise _Bad(where, f"messages nested deeper than {_MAX_NESTING}")
    counts: dict[int, int] = {}
    pos, end = 0, len(data)
    while pos < end:
        steps[0] += 1
        if steps[0] > _MAX_STEPS:
            raise _Bad("request", f"is not a valid {desc.full_name} (undecodable protobuf bytes)")
        key, pos = _varint(data, pos, where)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise _Bad(where, "field number 0 is invalid")
        field = desc.fields_by_number.get(number)
        name = _member(path, field, number, counts)
        if wire == 0:
            _, pos = _varint(data, pos, name)
        elif wire == 1 or wire == 5:
            pos += 8 if wire == 1 else 4
            if pos > end:
                raise _Bad(name, "truncated fixed-width value")
        elif wire == 2:
            length, pos = _varint(data, pos, name)
            if length > end - pos:
                raise _Bad(name, f"length {length} runs past the end of the message")
            chunk = data[pos : pos + length]
            pos += length
            if field is None:
                continue
            if field.type == FieldDescriptor.TYPE_STRING:
                try:
                    str(chunk, "utf-8")
                except UnicodeDecodeError:
                    raise _Bad(name, "is not valid UTF-8") from None
            elif field.type == FieldDescriptor.TYPE_MESSAGE:
                sub = field.message_type
                if sub.GetOptions().map_entry:
                    name = _map_entry_name(path, field, sub, chunk)
                _walk(sub, chunk, name + ".", depth + 1, steps)
        elif wire == 3 or wire == 4:
            raise _Bad(name, "group wire types are not supported")
        else:
            raise _Bad(name, f"invalid wire type {wire}")


def _member(path: str, field: Any, number: int, counts: dict[int, int]) -> str:
    if field is None:
        return f"{path}<field {number}>"
    if field.containing_type.GetOptions().map_entry:
        return path[:-1]  # a map entry's key and value go by the entry's name, `m['k']`
    if field.is_repeated and not (
        field.message_type is not None and field.message_type.GetOptions().map_entry
    ):
        i = counts.get(number, 0)
        counts[number] = i + 1
        return f"{path}{field.name}[{i}]"
    return f"{path}{field.name}"


def _map_entry_name(path: str, field: FieldDescriptor, entry: Any, chunk: memoryview) -> str:
    """`path.field['key']` (the entry's key read from its bytes), else `path.field`."""
    try:
        pos, end = 0, len(chunk)
        while pos < end:
            key, pos = _varint(chunk, pos, "")
            wire = key & 7
            if key >> 3 == 1:
                if wire == 2:
                    length, pos = _varint(chunk, pos, "")
                    if length > end - pos:
                        break
                    text = str(chunk[pos : pos + length], "utf-8")
                    return f"{path}{field.name}[{text[:64]!r}]"
                value, pos = _varint(chunk, pos, "") if wire == 0 else (0, end)
                return f"{path}{field.name}[{value}]"
            if wire == 0:
                _, pos = _varint(chunk, pos, "")
            elif wire == 2:
                length, pos = _varint(chunk, pos, "")
                pos += length
            elif wire in (1, 5):
                pos += 8 if wire == 1 else 4
            else:
                break
    except (_Bad, UnicodeDecodeError):
        pass  # the walk of the entry names what is wrong with it
    return f"{path}{field.name}"


# -- serving a service with these deserializers ----------------------------------------------


def _refuse(method: str) -> Callable[[Any, aio.ServicerContext[Any, Any]], Any]:
    async def refuse(bad: Undecodable, context: aio.ServicerContext[Any, Any]) -> None:
        _refusals.note(method, bad)
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(bad))

    return refuse


def _unary_unary(method: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    refuse = _refuse(method)

    async def handler(request: Any, context: aio.ServicerContext[Any, Any]) -> Any:
        if type(request) is Undecodable:
            await refuse(request, context)
        return await fn(request, context)

    return handler


def _unary_stream(method: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    refuse = _refuse(method)

    async def handler(request: Any, context: aio.ServicerContext[Any, Any]) -> AsyncIterator[Any]:
        if type(request) is Undecodable:
            await refuse(request, context)
        async for message in fn(request, context):
            yield message

    return handler


def note_undecodable(method: str, bad: Undecodable) -> None:
    """Count (and maybe log) an undecodable message a streaming handler refused itself."""
    _refusals.note(method, bad)


def add_service(
    server: aio.Server,
    service: ServiceDescriptor,
    servicer: object,
    *,
    response_serializers: dict[str, Callable[[Any], bytes]] | None = None,
) -> None:
    """Serve `service` on `server` with `servicer`'s methods of the same names.

    Unary requests that do not decode are answered INVALID_ARGUMENT before the method runs;
    for client-streaming methods the request iterator yields `Undecodable` objects, and the
    method decides (the stream is the method's to end).
    """
    handlers: dict[str, grpc.RpcMethodHandler[Any, Any]] = {}
    for method in service.methods:
        fn = getattr(servicer, method.name)
        request = safe_deserializer(GetMessageClass(method.input_type))
        response = (response_serializers or {}).get(method.name) or _serializer(method)
        full = f"/{service.full_name}/{method.name}"
        if method.client_streaming and method.server_streaming:
            handlers[method.name] = grpc.stream_stream_rpc_method_handler(
                fn, request_deserializer=request, response_serializer=response
            )
        elif method.client_streaming:
            handlers[method.name] = grpc.stream_unary_rpc_method_handler(
                fn, request_deserializer=request, response_serializer=response
            )
        elif method.server_streaming:
            assert inspect.isasyncgenfunction(fn), f"{full} must be an async generator"
            handlers[method.name] = grpc.unary_stream_rpc_method_handler(
                _unary_stream(full, fn), request_deserializer=request, response_serializer=response
            )
        else:
            handlers[method.name] = grpc.unary_unary_rpc_method_handler(
                _unary_unary(full, fn), request_deserializer=request, response_serializer=response
            )
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(service.full_name, handlers),)
    )
    # grpcio >= 1.62 looks registered methods up without the generic handler's string match.
    register = getattr(server, "add_registered_method_handlers", None)
    if register is not None:
        register(service.full_name, handlers)


def _serializer(method: Any) -> Callable[[Any], bytes]:
    cls = GetMessageClass(method.output_type)
    serialize: Callable[[Any], bytes] = cls.SerializeToString
    return serialize
