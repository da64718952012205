"""One set of limits (hookwire.runtime.limits) means the same in Python, Lua, JS and the server,
and holds at every entry point: JSON depth, names, event types, durations, context parents.

- the Lua and JS copies of the numbers equal the Python definition;
- the numbers fit the schema: the deepest JSON value allowed, inside the deepest envelope any
  peer sends, still decodes in upb, Lua and JS (computed from the descriptors, then tried);
- each entry point refuses what is over a limit with InvalidArgument (gRPC INVALID_ARGUMENT)
  naming the path, and accepts what is at the limit.
"""

from __future__ import annotations

import asyncio
import doctest
import importlib.util
import inspect
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import hookwire.runtime.limits as limits_module
import pytest
from google.protobuf.descriptor import Descriptor
from grpc import aio
from hookwire.runtime import (
    Cache,
    Executor,
    HookContext,
    Modified,
    Operation,
    Registry,
    Replace,
    Retry,
    VirtualClock,
)
from hookwire.runtime.bus.event import Event
from hookwire.runtime.bus.patterns import check_type
from hookwire.runtime.errors import InvalidArgument
from hookwire.runtime.json_value import validate_json, validate_json_object
from hookwire.runtime.limits import (
    MAX_CONTEXT_PARENTS,
    MAX_DURATION_MS,
    MAX_EVENT_TYPE_BYTES,
    MAX_JSON_DEPTH,
    MAX_MESSAGE_BYTES,
    MAX_NAME_BYTES,
)
from hookwire.runtime.results import validate_result
from hookwire.runtime.server.config import DEFAULT_MAX_MESSAGE_BYTES, ServerConfig
from hookwire.runtime.server.server import HookwireServer
from hookwire.runtime.wire.context import context_from_proto, context_to_proto, fill_context
from hookwire.runtime.wire.json import (
    check_encoded_json,
    fill_proto_object,
    from_proto_object,
    from_proto_value,
    to_proto_object,
    to_proto_value,
)
from hookwire.sdk import Client, Worker
from hookwire.v1 import (
    common_pb2,
    event_service_pb2,
    event_service_pb2_grpc,
    executor_service_pb2,
    executor_service_pb2_grpc,
    hook_pb2,
    json_pb2,
    replay_pb2,
)
from hypothesis import given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]

# ---- one definition --------------------------------------------------------------------------

LIMITS = {
    "MAX_JSON_DEPTH": MAX_JSON_DEPTH,
    "MAX_NAME_BYTES": MAX_NAME_BYTES,
    "MAX_EVENT_TYPE_BYTES": MAX_EVENT_TYPE_BYTES,
    "MAX_DURATION_MS": MAX_DURATION_MS,
    "MAX_MESSAGE_BYTES": MAX_MESSAGE_BYTES,
}
# Every copy of the numbers outside Python, and the names each file must define.
COPIES = {
    "sdk/js/src/limits.js": set(LIMITS),
    "sdk/lua/hookwire.lua": {"MAX_NAME_BYTES", "MAX_DURATION_MS"},
    "sdk/lua/convert.lua": {"MAX_JSON_DEPTH"},
    "sdk/lua/worker.lua": {"MAX_DURATION_MS"},
}
_DEFINITION = re.compile(r"\b(MAX_[A-Z_]+)\s*=\s*([0-9_ *]+?)\s*;?\s*(?:--.*)?$", re.M)


def _value(expr: str) -> int:
    out = 1
    for factor in expr.replace("_", "").split("*"):
        out *= int(factor)
    return out


@pytest.mark.parametrize("path", sorted(COPIES))
def test_the_lua_and_js_copies_equal_the_python_definition(path: str) -> None:
    found = {name: _value(expr) for name, expr in _DEFINITION.findall((ROOT / path).read_text())}
    assert COPIES[path] <= set(found), f"{path} lacks {COPIES[path] - set(found)}"
    for name in COPIES[path]:
        assert found[name] == LIMITS[name], f"{path}: {name} = {found[name]}, not {LIMITS[name]}"


def test_the_limits_module_examples_run() -> None:
    result = doctest.testmod(limits_module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


# ---- the numbers fit the schema ------------------------------------------------------------

# upb (and, held to it by test_decoders.py, Lua and JS) decodes messages nested this many levels
# below the top one, map entries counting as a level.
DECODER_LEVELS = 100


def _roots() -> list[Descriptor]:
    """Every message a peer sends whole: RPC requests and answers (the Lua worker's stdio
    frames are ExecutorMessage and WorkerMessage too) and replay records."""
    out: list[Descriptor] = []
    for module in (executor_service_pb2, event_service_pb2):
        for service in module.DESCRIPTOR.services_by_name.values():
            for method in service.methods:
                out += [method.input_type, method.output_type]
    out += list(replay_pb2.DESCRIPTOR.message_types_by_name.values())
    return out


def _deepest_json(root: Descriptor) -> int:
    """The level of the deepest JSON value's deepest scalar when that value is MAX_JSON_DEPTH
    objects deep, with HookContext.parent followed MAX_CONTEXT_PARENTS times."""
    deepest = 0

    def walk(d: Descriptor, level: int, parents: int) -> None:
        nonlocal deepest
        if d.full_name == "hookwire.v1.JsonValue":
            # value, then per object level: object, entry, value
            deepest = max(deepest, level + 3 * MAX_JSON_DEPTH)
            return
        if d.full_name == "hookwire.v1.JsonObject":
            deepest = max(deepest, level + 3 * MAX_JSON_DEPTH - 1)
            return
        for f in d.fields:
            m = f.message_type
            if m is None:
                continue
            if m.GetOptions().map_entry:
                value = m.fields_by_name["value"].message_type
                if value is not None:
                    walk(value, level + 2, parents)
            elif f.full_name == "hookwire.v1.HookContext.parent":
                if parents < MAX_CONTEXT_PARENTS:
                    walk(m, level + 1, parents + 1)
            else:
                walk(m, level + 1, parents)

    walk(root, 0, 0)
    return deepest


@pytest.mark.parametrize("root", _roots(), ids=lambda d: d.name)
def test_the_deepest_allowed_json_fits_every_envelope(root: Descriptor) -> None:
    assert _deepest_json(root) <= DECODER_LEVELS - 1  # one level spare for the schema to grow


def _load_campaign() -> Any:
    path = Path(__file__).with_name("decoders_campaign.py")
    spec = importlib.util.spec_from_file_location("hostile_decoders_campaign", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def decoders() -> Iterator[Any]:
    d = _load_campaign().Decoders()
    try:
        yield d
    finally:
        d.close()


def nested_objects(depth: int, leaf: Any = 1) -> Any:
    value = leaf
    for _ in range(depth):
        value = {"k": value}
    return value


def nested_arrays(depth: int, leaf: Any = 1) -> Any:
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


def _deepest_envelopes() -> list[tuple[str, bytes]]:
    deep = nested_objects(MAX_JSON_DEPTH)
    out: list[tuple[str, bytes]] = []
    # a HookResult answered by a worker, batched: replace.value and fork parameters
    wm = executor_service_pb2.WorkerMessage()
    call = wm.result_batch.results.add()
    call.result.replace.value.CopyFrom(to_proto_value(deep))
    out.append(("hookwire.v1.WorkerMessage", wm.SerializeToString()))
    wm = executor_service_pb2.WorkerMessage()
    op = wm.result_batch.results.add().result.fork.operations.add()
    fill_proto_object(op.parameters, nested_objects(MAX_JSON_DEPTH), "parameters")
    out.append(("hookwire.v1.WorkerMessage", wm.SerializeToString()))
    # a context sent to a worker, batched, with the most parents (data, operation parameters)
    ctx = HookContext(
        "session_start",
        nested_objects(MAX_JSON_DEPTH),
        operation=Operation("op", "1", parameters=deep, result=deep),
    )
    for _ in range(MAX_CONTEXT_PARENTS):
        ctx = HookContext("session_start", {}, parent=ctx)
    em = executor_service_pb2.ExecutorMessage()
    fill_context(em.call_batch.calls.add().context, ctx)
    out.append(("hookwire.v1.ExecutorMessage", em.SerializeToString()))
    # an event in a Subscribe answer
    batch = event_service_pb2.EventBatch()
    batch.events.add().payload.CopyFrom(to_proto_value(deep))
    out.append(("hookwire.v1.EventBatch", batch.SerializeToString()))
    return out


def test_the_deepest_allowed_json_decodes_in_upb_lua_and_js(decoders: Any) -> None:
    cases = _deepest_envelopes()
    js = decoders.js.outcomes(cases)
    for (name, data), js_outcome in zip(cases, js, strict=True):
        py = _load_campaign().python_outcome(name, data)
        lua = decoders.lua.outcome(name, data)
        assert py[0] and lua[0] and js_outcome[0], (name, py, lua, js_outcome)
        assert py == lua == js_outcome


def test_two_levels_more_would_not_decode_in_upb() -> None:
    # Why the limit is 30 and not 32: a worker's batched REPLACE 32 objects deep exceeds upb.
    wm = executor_service_pb2.WorkerMessage()
    result = wm.result_batch.results.add().result
    result.replace.value.CopyFrom(_unchecked_value(nested_objects(MAX_JSON_DEPTH + 2)))
    ok, _ = _load_campaign().python_outcome("hookwire.v1.WorkerMessage", wm.SerializeToString())
    assert not ok


# ---- JSON depth, counted the same way at every conversion --------------------------------

TOO_DEEP = f"nested deeper than {MAX_JSON_DEPTH}"


def _raises(fn: Any, *args: Any) -> InvalidArgument:
    with pytest.raises(InvalidArgument) as info:
        fn(*args)
    return info.value


def test_depth_counts_containers_around_the_deepest_value() -> None:
    # a scalar is 0, {} and [] are 1, map entries are not a level
    validate_json(nested_arrays(MAX_JSON_DEPTH), "v")
    validate_json(nested_objects(MAX_JSON_DEPTH), "v")
    validate_json(nested_arrays(MAX_JSON_DEPTH - 1, {}), "v")
    validate_json(nested_objects(MAX_JSON_DEPTH - 1, []), "v")
    assert _raises(validate_json, nested_arrays(MAX_JSON_DEPTH, []), "v").field == (
        "v" + "[0]" * MAX_JSON_DEPTH
    )


@pytest.mark.parametrize(
    "convert",
    [
        lambda v: validate_json(v, "data"),
        lambda v: validate_json_object(v, "data"),
        lambda v: to_proto_object(v, "data"),
        lambda v: to_proto_value(v, "data"),
        lambda v: from_proto_object(_unchecked_object(v), "data"),
        lambda v: from_proto_value(_unchecked_value(v), "data"),
        lambda v: check_encoded_json(_unchecked_value(v).SerializeToString(), "data"),
    ],
    ids=[
        "validate",
        "validate_object",
        "to_object",
        "to_value",
        "from_object",
        "from_value",
        "encoded",
    ],
)
def test_every_conversion_refuses_one_level_too_many_naming_the_path(convert: Any) -> None:
    convert(nested_objects(MAX_JSON_DEPTH))
    error = _raises(convert, {"a": [nested_objects(MAX_JSON_DEPTH - 1)]})
    assert error.field == "data.a[0]" + ".k" * (MAX_JSON_DEPTH - 2)
    assert TOO_DEEP in error.reason


def _unchecked_value(value: Any) -> json_pb2.JsonValue:
    """The JsonValue of any depth (as a peer could send it), built without the limit."""
    pb = json_pb2.JsonValue()
    if isinstance(value, dict):
        pb.object_value.CopyFrom(_unchecked_object(value))
    elif isinstance(value, list):
        pb.array_value.SetInParent()
        for item in value:
            pb.array_value.values.add().CopyFrom(_unchecked_value(item))
    else:
        pb.int_value = value
    return pb


def _unchecked_object(value: dict[str, Any]) -> json_pb2.JsonObject:
    obj = json_pb2.JsonObject()
    obj.SetInParent()
    for k, v in value.items():
        obj.fields[k].CopyFrom(_unchecked_value(v))
    return obj


def test_a_value_thousands_deep_fails_with_its_path_not_a_recursion_error() -> None:
    for deep in (nested_objects(1000), nested_arrays(100_000)):
        error = _raises(validate_json, {"x": deep}, "result.modified.data")
        assert str(error.field).startswith("result.modified.data.x")
        assert TOO_DEEP in error.reason


KEYS = st.text(alphabet="abc", max_size=2)
json_values = st.recursive(
    st.integers(0, 9) | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3),
    max_leaves=60,
)


def _at(value: Any, path: str) -> Any:
    """The part of `value` at a path such as `[0].a[1]` (keys are [abc]*)."""
    for index, key in re.findall(r"\[(\d+)\]|\.([abc]*)", path):
        value = value[int(index)] if index else value[key]
    return value


def _depth(v: Any) -> int:
    if isinstance(v, dict):
        return 1 + max((_depth(x) for x in v.values()), default=0)
    if isinstance(v, list):
        return 1 + max((_depth(x) for x in v), default=0)
    return 0


@settings(max_examples=150, deadline=None)
@given(json_values, st.integers(MAX_JSON_DEPTH - 12, MAX_JSON_DEPTH + 2))
def test_the_encoded_check_agrees_with_the_decoding_one(value: Any, extra: int) -> None:
    # wrap in lists to bring the value near the limit; both checks name the same place
    deep = nested_arrays(max(0, extra - _depth(value)), value)
    pb = _unchecked_value_any(deep)
    try:
        from_proto_value(pb, "p")
        decoded = None
    except InvalidArgument as e:
        decoded = e.field
    try:
        check_encoded_json(pb.SerializeToString(), "p")
        encoded = None
    except InvalidArgument as e:
        encoded = e.field
    assert (decoded is None) == (encoded is None) == (_depth(deep) <= MAX_JSON_DEPTH)
    # each names a container one level too deep (maps may be walked in different orders)
    for path in (decoded, encoded):
        if path is not None:
            part = _at(deep, path.removeprefix("p"))
            assert isinstance(part, (list, dict))
            assert path.count("[") + path.count(".") == MAX_JSON_DEPTH


def _unchecked_value_any(value: Any) -> json_pb2.JsonValue:
    pb = json_pb2.JsonValue()
    if isinstance(value, dict):
        pb.object_value.SetInParent()
        for k, v in value.items():
            pb.object_value.fields[k].CopyFrom(_unchecked_value_any(v))
    elif isinstance(value, list):
        pb.array_value.SetInParent()
        for item in value:
            pb.array_value.values.add().CopyFrom(_unchecked_value_any(item))
    elif isinstance(value, str):
        pb.string_value = value
    elif isinstance(value, float):
        pb.double_value = value
    else:
        pb.int_value = value
    return pb


# ---- results, contexts, names and durations in the runtime ---------------------------------


def _trace(result: Any) -> tuple[str, str]:
    # a point whose callers honour every kind used here (CACHE, RETRY, REPLACE, ...)
    point = "before_tool_execution"
    reg = Registry()
    reg.register(lambda ctx: result, name="h", point=point)
    run = Executor(reg, clock=VirtualClock()).execute(point, HookContext(point))
    [entry] = run.trace
    return entry.outcome.value, entry.reason


@pytest.mark.parametrize(
    "result",
    [
        Modified(nested_objects(1000)),
        Replace(nested_arrays(MAX_JSON_DEPTH + 1)),
        Cache("k", 10**30),
        Cache("k" * (MAX_NAME_BYTES + 1), 1),
        Retry(10**30, 1),
        Retry(MAX_DURATION_MS * 1_000_000 + 1, 1),
    ],
    ids=[
        "modified-1000-deep",
        "replace-31-deep",
        "cache-ttl",
        "cache-key",
        "retry-huge",
        "retry-day+1ns",
    ],
)
def test_a_result_over_a_limit_is_error_invalid_result(result: Any) -> None:
    assert _trace(result) == ("ERROR", "invalid_result")


def test_results_at_the_limits_are_accepted() -> None:
    assert _trace(Modified(nested_objects(MAX_JSON_DEPTH)))[0] == "MODIFIED"
    assert _trace(Cache("k" * MAX_NAME_BYTES, MAX_DURATION_MS * 1_000_000))[0] == "CACHE"
    assert _trace(Retry(MAX_DURATION_MS * 1_000_000, 1))[0] == "RETRY"


def test_invalid_results_name_the_limit_and_the_field() -> None:
    error = _raises(validate_result, Cache("k", 10**30))
    assert error.field == "result.cache.ttl_ns"
    assert f"at most {MAX_DURATION_MS} ms" in error.reason
    error = _raises(validate_result, Retry(10**30, 1))
    assert error.field == "result.retry.delay_ns"


@pytest.mark.parametrize(
    ("register", "field"),
    [
        (lambda reg, big: reg.register(lambda c: None, name=big, point="session_start"), "name"),
        (
            lambda reg, big: reg.register(
                lambda c: None, name="h", point="session_start", tags=frozenset({big})
            ),
            "tags",
        ),
        (
            lambda reg, big: reg.register(
                lambda c: None, name="h", point="session_start", feature=big
            ),
            "feature",
        ),
        (lambda reg, big: reg.set_feature(big, True), "feature"),
        (lambda reg, big: reg.register(lambda c: None, name="h", point="custom:" + big), "point"),
    ],
    ids=["name", "tag", "feature", "set_feature", "custom-point"],
)
def test_names_over_the_limit_are_refused(register: Any, field: str) -> None:
    reg = Registry()
    error = _raises(register, reg, "x" * (3 * 1024 * 1024))
    assert error.field == field
    assert f"at most {MAX_NAME_BYTES} bytes" in error.reason
    register(reg, "y" * MAX_NAME_BYTES)  # at the limit


def test_hook_timeouts_over_one_day_are_refused() -> None:
    reg = Registry()
    error = _raises(
        lambda: reg.register(
            lambda c: None, name="h", point="session_start", timeout_ms=MAX_DURATION_MS + 1
        )
    )
    assert error.field == "timeout"
    reg.register(lambda c: None, name="h", point="session_start", timeout_ms=MAX_DURATION_MS)


def test_the_grpc_message_limit_is_the_one_everywhere() -> None:
    assert DEFAULT_MAX_MESSAGE_BYTES == MAX_MESSAGE_BYTES
    for cls in (Client, Worker):
        default = inspect.signature(cls.__init__).parameters["max_message_bytes"].default
        assert default == MAX_MESSAGE_BYTES, cls


def test_event_types_over_the_limit_are_refused() -> None:
    check_type("a" * MAX_EVENT_TYPE_BYTES)
    error = _raises(check_type, "a" * (MAX_EVENT_TYPE_BYTES + 1))
    assert f"at most {MAX_EVENT_TYPE_BYTES} bytes" in error.reason


def test_context_parents_over_the_limit_are_refused_both_ways() -> None:
    ctx = HookContext("session_start")
    for _ in range(MAX_CONTEXT_PARENTS):
        ctx = HookContext("session_start", parent=ctx)
    pb = context_to_proto(ctx)
    assert context_from_proto(pb) == ctx
    deeper = HookContext("session_start", parent=ctx)
    assert _raises(context_to_proto, deeper).field == "context.parent"
    assert _raises(context_from_proto, hook_pb2.HookContext(parent=pb)).field == ("context.parent")


def test_an_event_payload_over_the_depth_limit_is_refused() -> None:
    error = _raises(Event("a.b", nested_arrays(49)).validate)
    assert error.field == "payload" + "[0]" * MAX_JSON_DEPTH


# ---- the server --------------------------------------------------------------------------------


def _serve(body: Any) -> None:
    async def main() -> None:
        server = HookwireServer(config=ServerConfig(port=0, shutdown_grace_s=2.0))
        await server.start()
        try:
            await asyncio.wait_for(body(server), 60)
        finally:
            await server.stop()

    asyncio.run(main())


def _poison(payload: Any) -> event_service_pb2.PublishRequest:
    request = event_service_pb2.PublishRequest()
    ev = request.events.add(type="poison")
    ev.payload.CopyFrom(_unchecked_value_any(payload))
    return request


@pytest.mark.parametrize(
    "payload",
    [
        nested_arrays(49),  # the poison event: arrays 49 deep
        nested_arrays(49, 1.5),  # with a double (read eagerly, not kept encoded)
        {"a": "b" * 200, "deep": nested_objects(MAX_JSON_DEPTH)},
    ],
    ids=["arrays", "arrays-double", "objects"],
)
def test_publish_refuses_a_poison_event_with_invalid_argument_naming_the_path(payload: Any) -> None:
    async def body(server: HookwireServer) -> None:
        async with aio.insecure_channel(server.address) as channel:
            stub = event_service_pb2_grpc.EventBusServiceStub(channel)
            with pytest.raises(aio.AioRpcError) as info:
                await stub.Publish(_poison(payload))
            assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            details = info.value.details() or ""
            assert re.search(r"events\[0\]\.payload(\[0\]|\.deep)(\[0\]|\.k)*", details), details
            assert TOO_DEEP in details
            # at the limit it is accepted, and nothing was published before
            ok = await stub.Publish(_poison(nested_arrays(MAX_JSON_DEPTH, 1.5)))
            assert list(ok.sequences) == [1]

    _serve(body)


def test_a_huge_hook_name_is_refused_at_registration_with_invalid_argument() -> None:
    async def body(server: HookwireServer) -> None:
        async with aio.insecure_channel(server.address) as channel:
            stub = executor_service_pb2_grpc.ExecutorServiceStub(channel)
            outbox: asyncio.Queue[executor_service_pb2.WorkerMessage | None] = asyncio.Queue()

            async def requests() -> Any:
                while (item := await outbox.get()) is not None:
                    yield item

            call = stub.Connect(requests())
            hello = executor_service_pb2.WorkerMessage()
            hello.hello.worker_id = "w"
            hello.hello.language = common_pb2.LANGUAGE_PYTHON
            await outbox.put(hello)
            reg = executor_service_pb2.WorkerMessage()
            reg.register.request_id = 1
            reg.register.hooks.add(
                name="x" * (3 * 1024 * 1024), point=hook_pb2.HOOK_POINT_SESSION_START
            )
            await outbox.put(reg)
            async for message in call:
                if message.HasField("register_ack"):
                    assert message.register_ack.code == "INVALID_ARGUMENT"
                    assert f"at most {MAX_NAME_BYTES}" in message.register_ack.error
                    assert len(message.register_ack.error) < 1000  # the name is not echoed
                    break
            await outbox.put(None)
            call.cancel()
            assert not server.registry.hooks("session_start")

    _serve(body)


# ---- Lua: the embedded sandbox and the worker process give the same answer --------------------

LUA_OVER_LIMITS = [
    ('hookwire.cache("k", 1e300)', "hookwire.cache: ttl_ms must be at most 86400000 ms (one day)"),
    ("hookwire.retry(1e308, 1)", "hookwire.retry: delay_ms must be at most 86400000 ms (one day)"),
    ('hookwire.cache(string.rep("k", 257), 1)', "hookwire.cache: key must be at most 256 bytes"),
    ('hookwire.redirect(string.rep("t", 257))', "hookwire.redirect: target must be at most 256"),
]
LUA_TOO_DEEP = [
    "local v = 1; for i = 1, 31 do v = {v} end; return hookwire.replace(v)",
    "local v = {}; local t = v; for i = 1, 1000 do t.a = {}; t = t.a end;"
    " return hookwire.modified(v)",
    "local v = 1; for i = 1, 40000 do v = {v} end; return hookwire.replace(v)",
]


def _lua_embedded(body: str) -> Exception:
    from hookwire.runtime.lua import LuaHookAdapter, LuaSandbox

    sandbox = LuaSandbox(memory_limit=64 * 1024 * 1024)
    [reg] = sandbox.load_source(
        f'hookwire.register("session_start", function(ctx)\n{body}\nend)', "h.lua"
    )
    with pytest.raises(Exception) as info:
        LuaHookAdapter(sandbox, reg.fn, name=reg.name).call(
            HookContext("session_start", {}), 2_000_000_000
        )
    return info.value


def _lua_worker(body: str, tmp_path: Path) -> Exception:
    from hookwire.runtime.lua_process import LuaProcessWorker, find_lua

    if find_lua() is None:
        pytest.skip("lua5.4 is not installed (apt-get install lua5.4)")
    path = tmp_path / "h.lua"
    path.write_text(
        f'hookwire.register("session_start", function(ctx)\n{body}\nend, {{name = "h"}})\n'
    )
    worker = LuaProcessWorker([path])
    worker.start()
    try:
        with pytest.raises(Exception) as info:
            worker.adapter("h").call(HookContext("session_start", {}), 2_000_000_000)
        return info.value
    finally:
        worker.stop()


@pytest.mark.parametrize("where", ["embedded", "worker"])
@pytest.mark.parametrize(("call", "message"), LUA_OVER_LIMITS)
def test_lua_helpers_refuse_values_over_the_limits_the_same_way(
    where: str, call: str, message: str, tmp_path: Path
) -> None:
    body = f"return {call}"
    error = _lua_embedded(body) if where == "embedded" else _lua_worker(body, tmp_path)
    assert type(error).__name__ == "HookFailed"
    assert message in str(error)


@pytest.mark.parametrize("where", ["embedded", "worker"])
@pytest.mark.parametrize("body", LUA_TOO_DEEP, ids=["31", "1000", "40000"])
def test_lua_results_nested_too_deep_are_invalid_results_naming_the_path(
    where: str, body: str, tmp_path: Path
) -> None:
    error = _lua_embedded(body) if where == "embedded" else _lua_worker(body, tmp_path)
    assert type(error).__name__ == "InvalidResult"
    assert re.match(
        r"(replace\.value(\[0\]){30}|modified\.data(\.a){30}): nested deeper than 30", str(error)
    ), error


def test_execute_refuses_a_context_over_the_limits_with_invalid_argument() -> None:
    too_deep = executor_service_pb2.ExecuteRequest()
    too_deep.context.point = hook_pb2.HOOK_POINT_SESSION_START
    too_deep.context.data.CopyFrom(_unchecked_object(nested_objects(MAX_JSON_DEPTH + 1)))
    chain = hook_pb2.HookContext(point=hook_pb2.HOOK_POINT_SESSION_START)
    for _ in range(MAX_CONTEXT_PARENTS + 1):
        chain = hook_pb2.HookContext(point=hook_pb2.HOOK_POINT_SESSION_START, parent=chain)
    too_many_parents = executor_service_pb2.ExecuteRequest(context=chain)

    async def body(server: HookwireServer) -> None:
        async with aio.insecure_channel(server.address) as channel:
            stub = executor_service_pb2_grpc.ExecutorServiceStub(channel)
            for request, where in (
                (too_deep, "context.data" + ".k" * MAX_JSON_DEPTH),
                (too_many_parents, "context.parent"),
            ):
                with pytest.raises(aio.AioRpcError) as info:
                    await stub.Execute(request)
                assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
                assert (info.value.details() or "").startswith(where + ": "), info.value.details()
            ok = executor_service_pb2.ExecuteRequest()
            ok.context.point = hook_pb2.HOOK_POINT_SESSION_START
            ok.context.data.CopyFrom(_unchecked_object(nested_objects(MAX_JSON_DEPTH)))
            answer = await stub.Execute(ok)
            assert answer.execution.context.data == ok.context.data

    _serve(body)


LUA_CHANGED_RESULTS = [
    "local r = hookwire.retry(1, 1); r.delay_ms = 1e308; return r",
    "local r = hookwire.retry(1, 1); r.delay_ms = 0/0; return r",
    "local r = hookwire.cache('k', 1); r.ttl_ms = 1e300; return r",
    "local r = hookwire.cache('k', 1); r.ttl_ms = -1; return r",
]


@pytest.mark.parametrize("where", ["embedded", "worker"])
@pytest.mark.parametrize("body", LUA_CHANGED_RESULTS, ids=["inf", "nan", "huge-ttl", "negative"])
def test_lua_result_durations_cannot_be_changed_after_the_helper(
    where: str, body: str, tmp_path: Path
) -> None:
    # The helpers check durations; a result is read-only afterwards, so no hook can slip an
    # out-of-range duration past them (the same error in the embedded state and the worker).
    error = _lua_embedded(body) if where == "embedded" else _lua_worker(body, tmp_path)
    assert type(error).__name__ == "HookFailed"
    assert str(error).endswith("hookwire results are read-only"), str(error)


def test_a_context_too_deep_for_a_worker_fails_that_call_only(tmp_path: Path) -> None:
    from hookwire.runtime.lua_process import LuaProcessWorker, find_lua

    if find_lua() is None:
        pytest.skip("lua5.4 is not installed (apt-get install lua5.4)")
    path = tmp_path / "h.lua"
    path.write_text(
        'hookwire.register("session_start", function(ctx) return hookwire.modified{seen = true}'
        ' end, {name = "h"})\n'
    )
    reg = Registry()
    worker = LuaProcessWorker([path], registry=reg, blocking=True)
    worker.start()
    try:
        ex = Executor(reg)
        run = ex.execute("session_start", HookContext("session_start", nested_objects(31)))
        [entry] = run.trace
        assert entry.outcome.value == "ERROR"
        assert entry.reason.startswith(f"context.data{'.k' * MAX_JSON_DEPTH}: {TOO_DEEP}")
        run = ex.execute("session_start", HookContext("session_start", nested_objects(30)))
        assert run.context.data["seen"] is True
    finally:
        worker.stop()
