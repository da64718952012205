"""Golden vectors for the cross-language codec tests (conformance/vectors/).

Usage: python -m hookwire.codegen.vectors [OUT_DIR]   (default: conformance/vectors)

Every vector is one JSON file::

    {"name": "json_value_int_min", "message": "hookwire.v1.JsonValue",
     "json": {"intValue": "-9223372036854775808"}, "binary_hex": "18ffff...01"}

``json`` is the message's proto3 JSON form and ``binary_hex`` its deterministic binary encoding
(map entries sorted by key), both produced by the Python protobuf runtime from messages built
here, so the files are reproducible: ``tests/codegen/test_vectors.py`` checks that the committed
files equal what ``build_vectors()`` gives, and pins a few encodings worked out by hand from the
wire format so the vectors are not only checked against themselves.

Example:
    >>> vectors = build_vectors()
    >>> vectors["json_value_int_minus_one"].SerializeToString().hex()
    '1801'
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from google.protobuf import json_format
from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from hookwire.v1 import (
    common_pb2,
    event_pb2,
    event_service_pb2,
    executor_service_pb2,
    hook_pb2,
    json_pb2,
    replay_pb2,
)

PB2_MODULES = (
    common_pb2,
    event_pb2,
    event_service_pb2,
    executor_service_pb2,
    hook_pb2,
    json_pb2,
    replay_pb2,
)
INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)
UINT64_MAX = 2**64 - 1
UINT32_MAX = 2**32 - 1
INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1
PI_TEXT = "3.14159265358979323846264338327950288"
ACK_ERROR = "ALREADY_EXISTS: hook 'a' is registered"


# --- small builders --------------------------------------------------------------------------


def jv(value: Any) -> json_pb2.JsonValue:
    """A JsonValue from plain Python: None, bool, int, float, str, list, dict.

    ``Text(...)`` marks a number kept as decimal text.
    """
    out = json_pb2.JsonValue()
    if value is None:
        out.null_value = json_pb2.JSON_NULL
    elif isinstance(value, bool):
        out.bool_value = value
    elif isinstance(value, Text):
        out.number_text = value.text
    elif isinstance(value, int):
        out.int_value = value
    elif isinstance(value, float):
        out.double_value = value
    elif isinstance(value, str):
        out.string_value = value
    elif isinstance(value, list):
        out.array_value.SetInParent()
        out.array_value.values.extend(jv(v) for v in value)
    elif isinstance(value, dict):
        out.object_value.CopyFrom(jo(value))
    else:
        raise TypeError(f"jv: unsupported {type(value).__name__}")
    return out


def jo(value: dict[str, Any]) -> json_pb2.JsonObject:
    out = json_pb2.JsonObject()
    for key, item in value.items():
        out.fields[key].CopyFrom(jv(item))
    return out


class Text:
    """A JSON number kept as exact decimal text (JsonValue.number_text)."""

    def __init__(self, text: str) -> None:
        self.text = text


def continue_result() -> hook_pb2.HookResult:
    """HookResult{continue: {}} (``continue`` is a Python keyword, hence getattr)."""
    result = hook_pb2.HookResult()
    getattr(result, "continue").SetInParent()
    return result


def ts(seconds: int, nanos: int = 0) -> Timestamp:
    return Timestamp(seconds=seconds, nanos=nanos)


def dur(seconds: int, nanos: int = 0) -> Duration:
    return Duration(seconds=seconds, nanos=nanos)


def trace_context() -> common_pb2.TraceContext:
    return common_pb2.TraceContext(
        traceparent="00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        tracestate="rojo=00f067aa0ba902b7,congo=t61rcWkgMzE",
    )


def context(depth: int) -> hook_pb2.HookContext:
    """A rich HookContext with ``depth`` ancestors (parent, parent of parent, ...)."""
    ctx = hook_pb2.HookContext(
        point=hook_pb2.HOOK_POINT_BEFORE_TOOL_EXECUTION if depth else hook_pb2.HOOK_POINT_CUSTOM,
        custom_point="" if depth else "my.custom-point",
        component=hook_pb2.ComponentId(id=f"tool-{depth}", type=hook_pb2.COMPONENT_TYPE_TOOL),
        data=jo({"query": "héllo wörld ✓", "count": depth, "nested": {"list": [1, None, "x"]}}),
        metadata={"b": "2", "a": "1", "ключ": "значение"},
        language=common_pb2.LANGUAGE_LUA,
        correlation_id=f"corr-{depth}",
        timestamp=ts(1_700_000_000 + depth, 123_456_789),
    )
    if depth:
        ctx.parent.CopyFrom(context(depth - 1))
    return ctx


def event(sequence: int) -> event_pb2.UniversalEvent:
    return event_pb2.UniversalEvent(
        id=f"evt-{sequence}",
        time=ts(1_700_000_000, 1),
        type="tool.invoked",
        source="hookwire://executor/main",
        source_language=common_pb2.LANGUAGE_PYTHON,
        payload=jv({"tokens": 9_007_199_254_740_993, "ok": True}),
        sequence=sequence,
        correlation_id="run-1",
        causation_id="evt-0",
        metadata={"z": "last", "a": "first", "m": ""},
        ttl=dur(30, 500_000_000),
        trace_context=trace_context(),
    )


def registration(name: str, priority: int) -> hook_pb2.HookRegistration:
    return hook_pb2.HookRegistration(
        name=name,
        point=hook_pb2.HOOK_POINT_AFTER_TOOL_EXECUTION,
        priority=priority,
        language=common_pb2.LANGUAGE_JAVASCRIPT,
        timeout=dur(0, 100_000_000),
        failure_policy=hook_pb2.FAILURE_POLICY_FAIL_CLOSED,
        tags=["audit", "pii"],
        feature="beta",
    )


def trace_entry(name: str, outcome: hook_pb2.HookOutcome.ValueType) -> hook_pb2.TraceEntry:
    return hook_pb2.TraceEntry(
        hook_name=name,
        language=common_pb2.LANGUAGE_PYTHON,
        outcome=outcome,
        reason="timeout" if outcome == hook_pb2.HOOK_OUTCOME_TIMEOUT else "",
        duration=dur(0, 60_000_000),
        slow=True,
        breaker_state=hook_pb2.BREAKER_STATE_HALF_OPEN,
    )


def breaker_status() -> hook_pb2.BreakerStatus:
    return hook_pb2.BreakerStatus(
        hook_name="flaky",
        state=hook_pb2.BREAKER_STATE_OPEN,
        window_calls=10,
        window_failures=UINT32_MAX,
        window_slow=1,
        current_open_duration=dur(300),
        probes_in_flight=2,
        good_probes=1,
    )


# --- the vectors -----------------------------------------------------------------------------


def _vectors() -> list[tuple[str, Callable[[], Message]]]:
    hr = hook_pb2.HookResult
    ws = executor_service_pb2
    es = event_service_pb2
    return [
        # Empty message: zero bytes, {} in JSON.
        ("empty_continue_result", lambda: hook_pb2.ContinueResult()),
        ("empty_hook_context", lambda: hook_pb2.HookContext()),
        # Every JsonValue case.
        ("json_value_null", lambda: jv(None)),
        ("json_value_bool_true", lambda: jv(True)),
        ("json_value_bool_false", lambda: jv(False)),
        ("json_value_int_zero", lambda: jv(0)),
        ("json_value_int_minus_one", lambda: jv(-1)),
        ("json_value_int_max", lambda: jv(INT64_MAX)),
        ("json_value_int_min", lambda: jv(INT64_MIN)),
        ("json_value_int_beyond_2_53", lambda: jv(2**53 + 1)),
        ("json_value_double", lambda: jv(-2.5e-3)),
        ("json_value_double_max", lambda: jv(1.7976931348623157e308)),
        ("json_value_double_subnormal", lambda: jv(5e-324)),
        ("json_value_string_unicode", lambda: jv('héllo ✓ 😀 \u0000 "q" \\ 日本')),
        ("json_value_string_empty", lambda: jv("")),
        ("json_value_number_text_beyond_uint64", lambda: jv(Text("18446744073709551616"))),
        (
            "json_value_number_text_decimal",
            lambda: jv(Text(PI_TEXT)),
        ),
        ("json_value_array_nested", lambda: jv([1, None, [2, [3, []]], {"k": [None]}, "s", 0.5])),
        ("json_value_array_empty", lambda: jv([])),
        ("json_value_object_nested", lambda: jv({"a": {"b": {"c": None}}, "": 1, "é": [True]})),
        ("json_value_object_empty", lambda: jv({})),
        # Unset vs explicit null.
        (
            "operation_null_parameters_absent_result",
            lambda: hook_pb2.Operation(type="tool_call", id="op-1", parameters=jv(None)),
        ),
        (
            "operation_full",
            lambda: hook_pb2.Operation(
                type="llm_completion",
                id="op-2",
                parameters=jv({"model": "m", "max_tokens": 4096}),
                result=jv([{"text": "hi"}]),
                error=hook_pb2.OperationError(code="timeout", message="took 31 s"),
            ),
        ),
        # Every HookResult case.
        ("hook_result_continue", lambda: continue_result()),
        (
            "hook_result_modified",
            lambda: hr(modified=hook_pb2.ModifiedResult(data=jo({"a": 1, "b": None, "c": {}}))),
        ),
        ("hook_result_cancel", lambda: hr(cancel=hook_pb2.CancelResult(reason="policy: no ✗"))),
        ("hook_result_redirect", lambda: hr(redirect=hook_pb2.RedirectResult(target="safe_tool"))),
        ("hook_result_replace_null", lambda: hr(replace=hook_pb2.ReplaceResult(value=jv(None)))),
        ("hook_result_replace_unset", lambda: hr(replace=hook_pb2.ReplaceResult())),
        (
            "hook_result_retry",
            lambda: hr(retry=hook_pb2.RetryResult(delay=dur(0, 60_000_000), max_attempts=3)),
        ),
        (
            "hook_result_retry_negative_duration",
            lambda: hr(retry=hook_pb2.RetryResult(delay=dur(-1, -500_000_000), max_attempts=1)),
        ),
        (
            "hook_result_fork",
            lambda: hr(
                fork=hook_pb2.ForkResult(
                    operations=[
                        hook_pb2.ForkOperation(operation="audit", parameters=jo({"level": 2})),
                        hook_pb2.ForkOperation(operation="notify"),
                    ]
                )
            ),
        ),
        (
            "hook_result_cache",
            lambda: hr(cache=hook_pb2.CacheResult(key="k:1", ttl=dur(0, -1))),
        ),
        ("hook_result_skipped", lambda: hr(skipped=hook_pb2.SkippedResult(reason="circuit_open"))),
        # Nested and recursive; Timestamp with nanos; map with several keys.
        ("hook_context_parent_of_parent", lambda: context(2)),
        (
            "hook_context_distributed",
            lambda: hook_pb2.HookContext(
                point=hook_pb2.HOOK_POINT_CPU_USAGE_HIGH,
                operation=hook_pb2.Operation(type="state_write"),
                distributed=hook_pb2.DistributedContext(
                    remote_agent_id="agent-7",
                    propagation=hook_pb2.PropagationFlags(
                        propagate_to_remote=True, propagate_events=False, propagate_baggage=True
                    ),
                    trace_context=trace_context(),
                ),
                timestamp=ts(-1, 500_000_000),  # pre-1970: 1969-12-31T23:59:59.5Z
            ),
        ),
        ("universal_event_full", lambda: event(UINT64_MAX)),
        (
            "universal_event_pre_1970",
            lambda: event_pb2.UniversalEvent(
                id="old", time=ts(-62_135_596_800, 999_999_999), ttl=dur(-315_576_000_000)
            ),
        ),
        # Optional presence: zero values set explicitly vs unset.
        ("breaker_config_empty", lambda: hook_pb2.BreakerConfig()),
        (
            "breaker_config_zeros_present",
            lambda: hook_pb2.BreakerConfig(
                window_size=0,
                minimum_calls=0,
                failure_rate_threshold=0.0,
                slow_call_rate_threshold=0.0,
                backoff_multiplier=0.0,
                half_open_probes=0,
            ),
        ),
        (
            "breaker_config_full",
            lambda: hook_pb2.BreakerConfig(
                window_size=UINT32_MAX,
                minimum_calls=5,
                failure_rate_threshold=0.5,
                slow_call_duration=dur(0, 50_000_000),
                slow_call_rate_threshold=1.0,
                open_duration=dur(15),
                backoff_multiplier=2.0,
                max_open_duration=dur(300),
                half_open_probes=2,
            ),
        ),
        # int32 extremes (a negative int32 is a 10-byte varint); optional bool set to false.
        ("hook_registration_priority_highest", lambda: registration("first", INT32_MIN)),
        ("hook_registration_priority_lowest", lambda: registration("last", INT32_MAX)),
        (
            "hook_registration_disabled_with_breaker",
            lambda: hook_pb2.HookRegistration(
                name="off",
                point=hook_pb2.HOOK_POINT_CUSTOM,
                custom_point="custom.point",
                priority=-100,
                enabled=False,
                breaker=hook_pb2.BreakerConfig(window_size=3),
            ),
        ),
        ("breaker_status", breaker_status),
        (
            "execution",
            lambda: hook_pb2.Execution(
                result=hr(cancel=hook_pb2.CancelResult(reason="hook b failed: timeout")),
                context=context(1),
                trace=[
                    trace_entry("a", hook_pb2.HOOK_OUTCOME_MODIFIED),
                    trace_entry("b", hook_pb2.HOOK_OUTCOME_TIMEOUT),
                ],
            ),
        ),
        (
            "execution_record",
            lambda: replay_pb2.ExecutionRecord(
                point="before_tool_execution",
                context=context(0),
                trace=[trace_entry("a", hook_pb2.HOOK_OUTCOME_ERROR)],
                result=continue_result(),
                final_context=context(0),
                recorded_at=ts(1_700_000_000, 5),
                index=UINT64_MAX,
            ),
        ),
        # Executor service.
        ("execute_request", lambda: ws.ExecuteRequest(context=context(1))),
        (
            "execute_response",
            lambda: ws.ExecuteResponse(execution=hook_pb2.Execution(result=continue_result())),
        ),
        (
            "worker_message_hello",
            lambda: ws.WorkerMessage(
                hello=ws.WorkerHello(
                    worker_id="w-1",
                    language=common_pb2.LANGUAGE_JAVASCRIPT,
                    sdk="hookwire-js/0.1.0",
                    virtual_clock=True,
                )
            ),
        ),
        (
            "worker_message_register",
            lambda: ws.WorkerMessage(
                register=ws.RegisterHooks(
                    hooks=[registration("a", 0), registration("b", -100)], request_id=UINT64_MAX
                )
            ),
        ),
        (
            "worker_message_unregister",
            lambda: ws.WorkerMessage(unregister=ws.UnregisterHooks(names=["a", "b"], request_id=2)),
        ),
        (
            "worker_message_result_ok",
            lambda: ws.WorkerMessage(
                result=ws.HookCallResult(
                    call_id=7,
                    result=hr(redirect=hook_pb2.RedirectResult(target="t")),
                    clock_advance=dur(0, 60_000_000),
                )
            ),
        ),
        (
            "worker_message_result_error",
            lambda: ws.WorkerMessage(
                result=ws.HookCallResult(
                    call_id=UINT64_MAX,
                    error=ws.HookError(
                        type="TypeError", message="bad at hook.js:3", invalid_result=True
                    ),
                )
            ),
        ),
        (
            "executor_message_welcome",
            lambda: ws.ExecutorMessage(welcome=ws.WorkerWelcome(connection_id="c-1")),
        ),
        (
            "executor_message_register_ack",
            lambda: ws.ExecutorMessage(
                register_ack=ws.RegisterHooksAck(
                    request_id=1,
                    error=ACK_ERROR,
                    code="ALREADY_EXISTS",
                )
            ),
        ),
        (
            "executor_message_call_clock_max",
            lambda: ws.ExecutorMessage(
                call=ws.HookCall(
                    call_id=1,
                    hook_name="a",
                    context=context(0),
                    timeout=dur(0, 100_000_000),
                    clock_now_unix_nanos=INT64_MAX,
                )
            ),
        ),
        (
            "executor_message_call_clock_min",
            lambda: ws.ExecutorMessage(
                call=ws.HookCall(call_id=2, hook_name="b", clock_now_unix_nanos=INT64_MIN)
            ),
        ),
        ("executor_message_cancel", lambda: ws.ExecutorMessage(cancel=ws.CancelCall(call_id=3))),
        (
            "list_hooks_request",
            lambda: ws.ListHooksRequest(
                point=hook_pb2.HOOK_POINT_CUSTOM,
                custom_point="x",
                language=common_pb2.LANGUAGE_LUA,
                tags=["a", "b"],
            ),
        ),
        (
            "list_hooks_response",
            lambda: ws.ListHooksResponse(hooks=[registration("a", 0), registration("b", 100)]),
        ),
        ("get_breaker_state_request", lambda: ws.GetBreakerStateRequest(hook_names=["a", "b"])),
        (
            "get_breaker_state_response",
            lambda: ws.GetBreakerStateResponse(
                breakers=[breaker_status(), hook_pb2.BreakerStatus(hook_name="idle")]
            ),
        ),
        ("reset_breaker_request", lambda: ws.ResetBreakerRequest(hook_name="flaky")),
        ("reset_breaker_response", lambda: ws.ResetBreakerResponse(breaker=breaker_status())),
        # Event service; packed repeated uint64.
        (
            "publish_request",
            lambda: es.PublishRequest(events=[event(0), event_pb2.UniversalEvent(id="e")]),
        ),
        (
            "publish_response_packed",
            lambda: es.PublishResponse(sequences=[1, 300, 0, UINT64_MAX]),
        ),
        (
            "subscribe_request_drop_oldest",
            lambda: es.SubscribeRequest(
                patterns=["tool.*", "agent.>"],
                from_sequence=UINT64_MAX,
                capacity=0,
                overflow=es.OverflowStrategy(drop_oldest=es.DropOldest()),
                max_batch_size=UINT32_MAX,
            ),
        ),
        (
            "subscribe_request_drop_newest",
            lambda: es.SubscribeRequest(overflow=es.OverflowStrategy(drop_newest=es.DropNewest())),
        ),
        (
            "subscribe_request_backpressure",
            lambda: es.SubscribeRequest(
                capacity=1,
                overflow=es.OverflowStrategy(backpressure=es.Backpressure(timeout=dur(2, 5))),
            ),
        ),
        (
            "subscribe_request_backpressure_forever",
            lambda: es.SubscribeRequest(
                overflow=es.OverflowStrategy(backpressure=es.Backpressure())
            ),
        ),
        (
            "subscribe_request_sample",
            lambda: es.SubscribeRequest(
                overflow=es.OverflowStrategy(sample=es.Sample(rate=0.25, high_water_mark=0.0))
            ),
        ),
        (
            "subscribe_request_sample_default_mark",
            lambda: es.SubscribeRequest(overflow=es.OverflowStrategy(sample=es.Sample(rate=1.0))),
        ),
        (
            "event_batch",
            lambda: es.EventBatch(
                events=[event(1), event(2)],
                stats=es.SubscriptionStats(
                    received=UINT64_MAX,
                    delivered=2,
                    queued=0,
                    dropped_oldest=1,
                    dropped_newest=2,
                    sampled_out=3,
                    timed_out=4,
                    expired=5,
                ),
            ),
        ),
    ]


def build_vectors() -> dict[str, Message]:
    """Every golden vector, by name, as a freshly built protobuf message."""
    out: dict[str, Message] = {}
    for name, build in _vectors():
        if name in out:
            raise ValueError(f"vector name {name!r} is used twice")
        out[name] = build()
    return out


def to_json(message: Message) -> Any:
    """The proto3 JSON form of a message (camelCase names, int64 as strings)."""
    return json_format.MessageToDict(message, preserving_proto_field_name=False)


def vector_document(name: str, message: Message) -> str:
    """The text of one vector file (stable key order, UTF-8, trailing newline)."""
    document = {
        "name": name,
        "message": message.DESCRIPTOR.full_name,
        "json": to_json(message),
        "binary_hex": message.SerializeToString(deterministic=True).hex(),
    }
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def write_vectors(out_dir: Path) -> list[Path]:
    """Rewrite ``out_dir`` with one ``<name>.json`` per vector; stale vector files are removed."""
    out_dir.mkdir(parents=True, exist_ok=True)
    vectors = build_vectors()
    for stale in out_dir.glob("*.json"):
        if stale.stem not in vectors:
            stale.unlink()
    written = []
    for name, message in vectors.items():
        path = out_dir / f"{name}.json"
        path.write_text(vector_document(name, message), encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    out_dir = Path(args[0]) if args else Path("conformance") / "vectors"
    written = write_vectors(out_dir)
    print(f"wrote {len(written)} vectors to {out_dir}", flush=True)


if __name__ == "__main__":
    main()
