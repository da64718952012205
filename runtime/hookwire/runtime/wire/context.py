"""HookContext <-> hookwire.v1.HookContext: where a context becomes bytes and comes back.

Also its parts: ComponentId, Operation (with OperationError) and DistributedContext. A context
crosses the wire in the Execute RPC, in every call to a remote worker (gRPC stream or stdio
process) and in recordings. `timestamp_ns == 0` leaves the timestamp unset; unset messages read
back as None. Data and operation values are checked like any JSON value (depth, types), and a
context's ancestors are limited to MAX_CONTEXT_PARENTS, both ways.

Example:
    >>> from hookwire.runtime.context import HookContext
    >>> ctx = HookContext("before_tool_execution", {"tool": "search"}, language="lua")
    >>> pb = context_to_proto(ctx)
    >>> (pb.point, pb.data.fields["tool"].string_value)
    (10, 'search')
    >>> context_from_proto(pb) == ctx
    True
"""

from __future__ import annotations

from typing import Any

from hookwire.runtime.context import (
    COMPONENT_TYPES,
    ComponentId,
    DistributedContext,
    HookContext,
    Operation,
    OperationError,
)
from hookwire.runtime.errors import InvalidArgument
from hookwire.runtime.limits import check_parents
from hookwire.runtime.wire.duration import timestamp_from_proto, timestamp_to_proto
from hookwire.runtime.wire.enums import (
    COMPONENT_TYPE,
    language_from_proto,
    language_to_proto,
    point_from_proto,
    point_to_proto,
)
from hookwire.runtime.wire.json import (
    fill_proto_object,
    from_proto_object,
    from_proto_value,
    to_proto_value,
)
from hookwire.v1 import common_pb2, hook_pb2

__all__ = [
    "component_from_proto",
    "component_to_proto",
    "context_from_proto",
    "context_to_proto",
    "distributed_from_proto",
    "distributed_to_proto",
    "fill_context",
    "operation_from_proto",
    "operation_to_proto",
]

_COMPONENT_NUMBER = COMPONENT_TYPE.to_number


def component_to_proto(component: ComponentId) -> hook_pb2.ComponentId:
    """hookwire.v1.ComponentId of a ComponentId (`type` one of COMPONENT_TYPES or "")."""
    try:
        ct = _COMPONENT_NUMBER[component.type]
    except (KeyError, TypeError):
        raise InvalidArgument(
            "component.type",
            f"unknown component type {component.type!r} (expected one of {COMPONENT_TYPES})",
        ) from None
    return hook_pb2.ComponentId(id=component.id, type=ct, name=component.name)  # type: ignore[arg-type]


def component_from_proto(pb: hook_pb2.ComponentId) -> ComponentId:
    """The ComponentId of a hookwire.v1.ComponentId."""
    return ComponentId(pb.id, COMPONENT_TYPE.name(pb.type, "component.type"), pb.name)


def operation_to_proto(operation: Operation) -> hook_pb2.Operation:
    """hookwire.v1.Operation of an Operation (None parameters / result stay unset)."""
    pb = hook_pb2.Operation(type=operation.type, id=operation.id)
    if operation.parameters is not None:
        pb.parameters.CopyFrom(to_proto_value(operation.parameters, "operation.parameters"))
    if operation.result is not None:
        pb.result.CopyFrom(to_proto_value(operation.result, "operation.result"))
    if operation.error is not None:
        pb.error.code = operation.error.code
        pb.error.message = operation.error.message
    return pb


def operation_from_proto(pb: hook_pb2.Operation) -> Operation:
    """The Operation of a hookwire.v1.Operation (unset values read as None)."""
    return Operation(
        pb.type,
        pb.id,
        from_proto_value(pb.parameters, "operation.parameters")
        if pb.HasField("parameters")
        else None,
        from_proto_value(pb.result, "operation.result") if pb.HasField("result") else None,
        OperationError(pb.error.code, pb.error.message) if pb.HasField("error") else None,
    )


def distributed_to_proto(distributed: DistributedContext) -> hook_pb2.DistributedContext:
    """hookwire.v1.DistributedContext of a DistributedContext."""
    return hook_pb2.DistributedContext(
        remote_agent_id=distributed.remote_agent_id,
        propagation=hook_pb2.PropagationFlags(
            propagate_to_remote=distributed.propagate_to_remote,
            propagate_events=distributed.propagate_events,
            propagate_baggage=distributed.propagate_baggage,
        ),
        trace_context=common_pb2.TraceContext(
            traceparent=distributed.traceparent, tracestate=distributed.tracestate
        ),
    )


def distributed_from_proto(pb: hook_pb2.DistributedContext) -> DistributedContext:
    """The DistributedContext of a hookwire.v1.DistributedContext."""
    p = pb.propagation
    return DistributedContext(
        remote_agent_id=pb.remote_agent_id,
        propagate_to_remote=p.propagate_to_remote,
        propagate_events=p.propagate_events,
        propagate_baggage=p.propagate_baggage,
        traceparent=pb.trace_context.traceparent,
        tracestate=pb.trace_context.tracestate,
    )


def context_to_proto(ctx: HookContext) -> hook_pb2.HookContext:
    """hookwire.v1.HookContext of a HookContext."""
    pb = hook_pb2.HookContext()
    fill_context(pb, ctx)
    return pb


def fill_context(pb: hook_pb2.HookContext, ctx: HookContext) -> None:
    """Write `ctx` into `pb` (an empty HookContext, e.g. a field of a message being built),
    which saves the copy that `field.CopyFrom(context_to_proto(ctx))` would make."""
    # Field by field, skipping defaults: this runs for every call to a remote hook.
    pb.point, custom = point_to_proto(ctx.point, "context.point")  # type: ignore[assignment]
    if custom:
        pb.custom_point = custom
    if ctx.language:
        pb.language = language_to_proto(ctx.language, "context.language")  # type: ignore[assignment]
    if ctx.correlation_id:
        pb.correlation_id = ctx.correlation_id
    fill_proto_object(pb.data, ctx.data, "context.data")
    if ctx.metadata:
        metadata = pb.metadata
        for k, v in ctx.metadata.items():
            if not isinstance(k, str) or not isinstance(v, str):
                raise InvalidArgument("context.metadata", f"keys and values must be strings: {k!r}")
            metadata[k] = v
    if ctx.component is not None:
        pb.component.CopyFrom(component_to_proto(ctx.component))
    if ctx.timestamp_ns:
        timestamp_to_proto(ctx.timestamp_ns, pb.timestamp)
    if ctx.operation is not None:
        pb.operation.CopyFrom(operation_to_proto(ctx.operation))
    if ctx.parent is not None:
        check_parents(ctx.parent, "context.parent")
        fill_context(pb.parent, ctx.parent)
    if ctx.distributed is not None:
        pb.distributed.CopyFrom(distributed_to_proto(ctx.distributed))


def _parent_pb(pb: Any) -> Any:
    return pb.parent if pb.HasField("parent") else None


def context_from_proto(pb: hook_pb2.HookContext) -> HookContext:
    """The HookContext of a hookwire.v1.HookContext; unset messages become None."""
    if pb.HasField("parent"):
        check_parents(pb.parent, "context.parent", _parent_pb)
    return HookContext(
        point_from_proto(pb.point, pb.custom_point, "context.point"),
        from_proto_object(pb.data, "context.data"),
        dict(pb.metadata),
        component_from_proto(pb.component) if pb.HasField("component") else None,
        language_from_proto(pb.language, "context.language"),
        pb.correlation_id,
        timestamp_from_proto(pb.timestamp) if pb.HasField("timestamp") else 0,
        operation_from_proto(pb.operation) if pb.HasField("operation") else None,
        context_from_proto(pb.parent) if pb.HasField("parent") else None,
        distributed_from_proto(pb.distributed) if pb.HasField("distributed") else None,
    )
