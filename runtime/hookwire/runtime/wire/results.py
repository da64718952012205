"""HookResult <-> hookwire.v1.HookResult (the answer of a remote hook, a recorded result).

Example:
    >>> from hookwire.runtime.results import Cancel, Retry
    >>> result_to_proto(Cancel("no")).cancel.reason
    'no'
    >>> result_from_proto(result_to_proto(Retry(60_000_000, 3)))
    Retry(delay_ns=60000000, max_attempts=3)
"""

from __future__ import annotations

from hookwire.runtime.errors import InvalidArgument
from hookwire.runtime.results import (
    CONTINUE,
    Cache,
    Cancel,
    Continue,
    Fork,
    ForkOperation,
    HookResult,
    Modified,
    Redirect,
    Replace,
    Retry,
    Skipped,
)
from hookwire.runtime.wire.duration import duration_from_proto, duration_to_proto
from hookwire.runtime.wire.json import (
    from_proto_object,
    from_proto_value,
    to_proto_object,
    to_proto_value,
)
from hookwire.v1 import hook_pb2

__all__ = ["result_from_proto", "result_to_proto"]


def result_to_proto(result: HookResult) -> hook_pb2.HookResult:
    """Convert a native result to hookwire.v1.HookResult."""
    pb = hook_pb2.HookResult()
    t = type(result)
    if t is Continue:
        getattr(pb, "continue").SetInParent()
    elif isinstance(result, Modified):
        pb.modified.data.CopyFrom(to_proto_object(result.data, "result.modified.data"))
    elif isinstance(result, Cancel):
        pb.cancel.reason = result.reason
    elif isinstance(result, Redirect):
        pb.redirect.target = result.target
    elif isinstance(result, Replace):
        pb.replace.value.CopyFrom(to_proto_value(result.value, "result.replace.value"))
    elif isinstance(result, Retry):
        duration_to_proto(result.delay_ns, pb.retry.delay)
        pb.retry.max_attempts = result.max_attempts
    elif isinstance(result, Fork):
        pb.fork.SetInParent()
        for i, op in enumerate(result.operations):
            o = pb.fork.operations.add()
            o.operation = op.operation
            o.parameters.CopyFrom(
                to_proto_object(op.parameters, f"result.fork.operations[{i}].parameters")
            )
    elif isinstance(result, Cache):
        pb.cache.key = result.key
        duration_to_proto(result.ttl_ns, pb.cache.ttl)
    elif isinstance(result, Skipped):
        pb.skipped.reason = result.reason
    else:
        raise InvalidArgument("result", f"must be a HookResult, got {type(result).__name__}")
    return pb


def result_from_proto(pb: hook_pb2.HookResult, field: str = "result") -> HookResult:
    """Convert hookwire.v1.HookResult to a native result; an empty one is InvalidArgument."""
    kind = pb.WhichOneof("kind")
    if kind == "continue":
        return CONTINUE
    if kind == "modified":
        return Modified(from_proto_object(pb.modified.data, f"{field}.modified.data"))
    if kind == "cancel":
        return Cancel(pb.cancel.reason)
    if kind == "redirect":
        return Redirect(pb.redirect.target)
    if kind == "replace":
        return Replace(from_proto_value(pb.replace.value, f"{field}.replace.value"))
    if kind == "retry":
        return Retry(duration_from_proto(pb.retry.delay), pb.retry.max_attempts)
    if kind == "fork":
        return Fork(
            tuple(
                ForkOperation(
                    o.operation,
                    from_proto_object(o.parameters, f"{field}.fork.operations[{i}].parameters"),
                )
                for i, o in enumerate(pb.fork.operations)
            )
        )
    if kind == "cache":
        return Cache(pb.cache.key, duration_from_proto(pb.cache.ttl))
    if kind == "skipped":
        return Skipped(pb.skipped.reason)
    raise InvalidArgument(field, "no result kind is set (an empty HookResult is invalid)")
