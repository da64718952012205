"""HookResult <-> hookwire.v1.HookResult (the answer of a remote hook, a recorded result).

Example:
    >>> from hookwire.runtime.results import Cancel, Retry
    >>> result_to_proto(Cancel("no")).cancel.reason
    'no'
    >>> result_from_proto(result_to_proto(Retry(60_000_000, 3)))
    Retry(delay_ns=60000000, max_attempts=3)
"""

from __future__ import annotations

from hookwire.runtime import results
from hookwire.runtime.errors import InvalidArgument
from hookwire.runtime.wire.duration import duration_from_proto, duration_to_proto
from hookwire.runtime.wire.json import (
    from_proto_object,
    from_proto_value,
    to_proto_object,
    to_proto_value,
)
from hookwire.v1 import hook_pb2

__all__ = ["result_from_proto", "result_to_proto"]


def result_to_proto(result: results.HookResult) -> hook_pb2.HookResult:
    """Convert a native result to hookwire.v1.HookResult."""
    pb = hook_pb2.HookResult()
    t = type(result)
    if t is results.Continue:
        getattr(pb, "continue").SetInParent()
    elif isinstance(result, results.Modified):
        pb.modified.data.CopyFrom(to_proto_object(result.data, "result.modified.data"))
    elif isinstance(result, results.Cancel):
        pb.cancel.reason = result.reason
    elif isinstance(result, results.Redirect):
        pb.redirect.target = result.target
    elif isinstance(result, results.Replace):
        pb.replace.value.CopyFrom(to_proto_value(result.value, "result.replace.value"))
    elif isinstance(result, results.Retry):
        duration_to_proto(result.delay_ns, pb.retry.delay)
        pb.retry.max_attempts = result.max_attempts
    elif isinstance(result, results.Fork):
        pb.fork.SetInParent()
        for i, op in enumerate(result.operations):
            o = pb.fork.operations.add()
            o.operation = op.operation
            o.parameters.CopyFrom(
                to_proto_object(op.parameters, f"result.fork.operations[{i}].parameters")
            )
    elif isinstance(result, results.Cache):
        pb.cache.key = result.key
        duration_to_proto(result.ttl_ns, pb.cache.ttl)
    elif isinstance(result, results.Skipped):
        pb.skipped.reason = result.reason
    else:
        raise InvalidArgument("result", f"must be a HookResult, got {type(result).__name__}")
    return pb


def result_from_proto(pb: hook_pb2.HookResult, field: str = "result") -> results.HookResult:
    """Convert hookwire.v1.HookResult to a native result; an empty one is InvalidArgument."""
    kind = pb.WhichOneof("kind")
    if kind == "continue":
        return results.CONTINUE
    if kind == "modified":
        return results.Modified(from_proto_object(pb.modified.data, f"{field}.modified.data"))
    if kind == "cancel":
        return results.Cancel(pb.cancel.reason)
    if kind == "redirect":
        return results.Redirect(pb.redirect.target)
    if kind == "replace":
        return results.Replace(from_proto_value(pb.replace.value, f"{field}.replace.value"))
    if kind == "retry":
        return results.Retry(duration_from_proto(pb.retry.delay), pb.retry.max_attempts)
    if kind == "fork":
        return results.Fork(
            tuple(
                results.ForkOperation(
                    o.operation,
                    from_proto_object(o.parameters, f"{field}.fork.operations[{i}].parameters"),
                )
                for i, o in enumerate(pb.fork.operations)
            )
        )
    if kind == "cache":
        return results.Cache(pb.cache.key, duration_from_proto(pb.cache.ttl))
    if kind == "skipped":
        return results.Skipped(pb.skipped.reason)
    raise InvalidArgument(field, "no result kind is set (an empty HookResult is invalid)")
