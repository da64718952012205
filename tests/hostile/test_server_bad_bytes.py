"""Hostile bytes against a real server on 127.0.0.1: malformed and mutated requests to every
RPC that reads a message. Each gets a typed status (INVALID_ARGUMENT naming what was wrong for
bytes that do not decode), no class name or traceback leaks to the client or the logs, and the
server keeps serving. The mutation run uses a fixed seed and a time budget (about 8 s)."""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc  # type: ignore[import-untyped]
from hookwire.runtime.server import decoding
from hookwire.runtime.server.config import ServerConfig
from hookwire.runtime.server.server import ServerThread
from hookwire.v1 import common_pb2, event_pb2, hook_pb2, json_pb2
from hookwire.v1 import event_service_pb2 as bs
from hookwire.v1 import executor_service_pb2 as es

EXECUTE = "/hookwire.v1.ExecutorService/Execute"
LIST_HOOKS = "/hookwire.v1.ExecutorService/ListHooks"
BREAKERS = "/hookwire.v1.ExecutorService/GetBreakerState"
CONNECT = "/hookwire.v1.ExecutorService/Connect"
PUBLISH = "/hookwire.v1.EventBusService/Publish"
SUBSCRIBE = "/hookwire.v1.EventBusService/Subscribe"

# Codes a request may get for its content; never UNKNOWN or INTERNAL.
TYPED = {
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.OUT_OF_RANGE,
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.ALREADY_EXISTS,
}
# "field: reason" (the field a path of names, indices and repr()'d map keys: one line).
FIELD_FIRST = re.compile(r"^[A-Za-z_<][^\n]*?: \S")
LEAKS = ("<class", "Traceback", "DecodeError", "google.protobuf")


def _identity(b: bytes) -> bytes:
    return b


def _varint(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def served() -> Iterator[tuple[grpc.Channel, _Records]]:
    records = _Records()
    root = logging.getLogger()
    root.addHandler(records)
    st = ServerThread(config=ServerConfig(port=0, shutdown_grace_s=1.0))
    st.start()
    try:
        assert st.server is not None
        st.call(
            lambda: st.server.registry.register(  # type: ignore[union-attr]
                lambda ctx: None, name="noop", point="before_tool_execution"
            )
        )
        with grpc.insecure_channel(st.address) as channel:
            yield channel, records
    finally:
        st.stop(grace_s=1.0)
        root.removeHandler(records)


def _unary(channel: grpc.Channel, method: str) -> Callable[..., bytes]:
    return channel.unary_unary(
        method, request_serializer=_identity, response_deserializer=_identity
    )


def _status(call: Callable[[], Any]) -> tuple[grpc.StatusCode, str]:
    try:
        call()
    except grpc.RpcError as err:
        return err.code(), err.details() or ""
    return grpc.StatusCode.OK, ""


def _assert_clean_logs(records: _Records) -> None:
    for record in records.records:
        text = record.getMessage()
        assert record.exc_info is None, f"traceback logged: {text}"
        assert "Traceback" not in text and "<class" not in text, text
    refusals = [r for r in records.records if r.name == decoding.__name__]
    # Rate-limited: one line per interval, however many requests were refused.
    assert len(refusals) <= 2, [r.getMessage() for r in refusals]


def _assert_serving(channel: grpc.Channel) -> None:
    health = health_pb2_grpc.HealthStub(channel)
    assert (
        health.Check(health_pb2.HealthCheckRequest(), timeout=5).status
        == health_pb2.HealthCheckResponse.SERVING
    )
    ok = es.ExecuteRequest(
        context=hook_pb2.HookContext(point=hook_pb2.HOOK_POINT_BEFORE_TOOL_EXECUTION)
    )
    _unary(channel, EXECUTE)(ok.SerializeToString(), timeout=5)


def _nested_parents(depth: int) -> bytes:
    inner = b""
    for _ in range(depth):
        inner = _field(10, inner)  # HookContext.parent
    return _field(1, inner)  # ExecuteRequest.context


BAD_UTF8 = b"\xff\xfe"
CASES: list[tuple[str, bytes, str]] = [
    # (method, request bytes, expected "field: reason" start)
    (EXECUTE, _field(1, _field(2, BAD_UTF8)), "context.custom_point: is not valid UTF-8"),
    (
        EXECUTE,
        _field(1, _field(4, _field(1, _field(1, b"k") + _field(2, _field(5, BAD_UTF8))))),
        "context.data.fields['k'].string_value: is not valid UTF-8",
    ),
    (EXECUTE, b"\x0a\x05\x0a", "context: length 5 runs past the end of the message"),
    (EXECUTE, b"\x0a\x02\x08\xff", "context.point: truncated or overlong varint"),
    (EXECUTE, _nested_parents(120), "context.parent.parent."),
    (EXECUTE, b"\x7b", "<field 15>: group wire types are not supported"),
    (EXECUTE, b"\x0f", "context: invalid wire type 7"),
    (
        PUBLISH,
        _field(1, _field(3, b"ok")) + _field(1, _field(3, BAD_UTF8)),
        "events[1].type: is not valid UTF-8",
    ),
    (PUBLISH, _field(1, _field(10, _field(1, BAD_UTF8))), "events[0].metadata: is not valid UTF-8"),
    (LIST_HOOKS, _field(2, BAD_UTF8), "custom_point: is not valid UTF-8"),
    (BREAKERS, _field(1, BAD_UTF8), "hook_names[0]: is not valid UTF-8"),
    (LIST_HOOKS, b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", "request: truncated"),
]


@pytest.mark.parametrize(("method", "data", "expected"), CASES)
def test_undecodable_request_is_invalid_argument_naming_the_field(
    served: tuple[grpc.Channel, _Records], method: str, data: bytes, expected: str
) -> None:
    channel, records = served
    code, details = _status(lambda: _unary(channel, method)(data, timeout=5))
    assert code == grpc.StatusCode.INVALID_ARGUMENT, (code, details)
    assert details.startswith(expected), details
    assert not any(leak in details for leak in LEAKS), details
    _assert_serving(channel)
    _assert_clean_logs(records)


def test_undecodable_subscribe_is_invalid_argument(
    served: tuple[grpc.Channel, _Records],
) -> None:
    channel, records = served
    subscribe = channel.unary_stream(
        SUBSCRIBE, request_serializer=_identity, response_deserializer=_identity
    )
    code, details = _status(lambda: list(subscribe(_field(1, BAD_UTF8), timeout=5)))
    assert code == grpc.StatusCode.INVALID_ARGUMENT, (code, details)
    assert details.startswith("patterns[0]: is not valid UTF-8"), details
    _assert_clean_logs(records)


def _connect(channel: grpc.Channel, frames: list[bytes]) -> tuple[grpc.StatusCode, str]:
    connect = channel.stream_stream(
        CONNECT, request_serializer=_identity, response_deserializer=_identity
    )
    return _status(lambda: list(connect(iter(frames), timeout=5)))


def test_undecodable_connect_messages_end_the_stream_naming_the_message(
    served: tuple[grpc.Channel, _Records],
) -> None:
    channel, records = served
    code, details = _connect(channel, [_field(1, _field(1, BAD_UTF8))])
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert details == "message 0: hello.worker_id: is not valid UTF-8", details
    hello = es.WorkerMessage(
        hello=es.WorkerHello(worker_id="w", language=common_pb2.LANGUAGE_PYTHON)
    ).SerializeToString()
    # A register frame whose hook name is not UTF-8, after a good hello.
    bad_register = _field(2, _field(1, _field(1, BAD_UTF8)))
    code, details = _connect(channel, [hello, bad_register])
    assert code == grpc.StatusCode.INVALID_ARGUMENT, (code, details)
    assert details == "message 1: register.hooks[0].name: is not valid UTF-8", details
    _assert_serving(channel)
    _assert_clean_logs(records)


def _valid_requests() -> list[tuple[str, bytes]]:
    data = json_pb2.JsonObject()
    data.fields["tool"].string_value = "search"
    data.fields["n"].int_value = 3
    data.fields["list"].array_value.values.add().double_value = 1.5
    ctx = hook_pb2.HookContext(
        point=hook_pb2.HOOK_POINT_BEFORE_TOOL_EXECUTION, data=data, correlation_id="c-1"
    )
    ctx.metadata["k"] = "v"
    event = event_pb2.UniversalEvent(type="tool.invoked", source="test")
    event.payload.object_value.CopyFrom(data)
    event.metadata["m"] = "x"
    return [
        (EXECUTE, es.ExecuteRequest(context=ctx).SerializeToString()),
        (PUBLISH, bs.PublishRequest(events=[event, event]).SerializeToString()),
        (LIST_HOOKS, es.ListHooksRequest(tags=["a"]).SerializeToString()),
        (BREAKERS, es.GetBreakerStateRequest(hook_names=["noop"]).SerializeToString()),
    ]


def _mutate(rng: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(6)
        if op == 0 and b:  # flip a byte
            b[rng.randrange(len(b))] = rng.randrange(256)
        elif op == 1 and b:  # truncate
            del b[rng.randrange(len(b)) :]
        elif op == 2:  # insert random bytes
            i = rng.randrange(len(b) + 1)
            b[i:i] = rng.randbytes(rng.randint(1, 8))
        elif op == 3 and b:  # break a string's UTF-8
            b[rng.randrange(len(b))] = rng.choice((0x80, 0xC0, 0xFF, 0xED))
        elif op == 4 and len(b) > 2:  # duplicate a slice
            i = rng.randrange(len(b))
            j = min(len(b), i + rng.randint(1, 16))
            b[j:j] = b[i:j]
        elif op == 5 and b:  # an overlong or huge varint
            i = rng.randrange(len(b))
            b[i:i] = rng.choice((b"\xff" * 10, b"\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01"))
    return bytes(b)


def test_mutated_requests_get_typed_statuses_and_the_server_keeps_serving(
    served: tuple[grpc.Channel, _Records],
) -> None:
    channel, records = served
    rng = random.Random(20261207)
    valid = _valid_requests()
    calls = {method: _unary(channel, method) for method, _ in valid}
    deadline = time.monotonic() + 8.0
    seen: dict[grpc.StatusCode, int] = {}
    sent = 0
    while time.monotonic() < deadline:
        method, data = rng.choice(valid)
        mutated = _mutate(rng, data)
        code, details = _status(lambda: calls[method](mutated, timeout=5))  # noqa: B023
        sent += 1
        seen[code] = seen.get(code, 0) + 1
        assert code == grpc.StatusCode.OK or code in TYPED, (method, mutated.hex(), details)
        assert not any(leak in details for leak in LEAKS), (method, mutated.hex(), details)
        if code == grpc.StatusCode.INVALID_ARGUMENT:
            assert FIELD_FIRST.match(details), (method, mutated.hex(), details)
    assert sent >= 200, sent
    assert seen.get(grpc.StatusCode.INVALID_ARGUMENT, 0) > sent // 10, seen
    _assert_serving(channel)
    _assert_clean_logs(records)
