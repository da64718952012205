"""HookContext: everything a hook sees when it is called, and its proto conversion.

Example:
    >>> ctx = HookContext("before_tool_execution", {"tool": "search"})
    >>> ctx2 = ctx.with_data({"tool": "fetch"})
    >>> (ctx.data, ctx2.data, ctx2.point)
    ({'tool': 'search'}, {'tool': 'fetch'}, 'before_tool_execution')
    >>> HookContext.from_proto(ctx.to_proto()) == ctx
    True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hookwire.runtime.errors import InvalidArgument
from hookwire.runtime.json_value import (
    fill_proto_object,
    from_proto_object,
    from_proto_value,
    to_proto_value,
)
from hookwire.runtime.language import language_from_proto, language_to_proto
from hookwire.runtime.limits import check_parents
from hookwire.runtime.points import point_from_proto, point_to_proto
from hookwire.v1 import common_pb2, hook_pb2

__all__ = [
    "COMPONENT_TYPES",
    "ComponentId",
    "DistributedContext",
    "HookContext",
    "Operation",
    "OperationError",
]

_NS = 1_000_000_000

COMPONENT_TYPES: tuple[str, ...] = (
    "agent",
    "tool",
    "workflow",
    "state",
    "system",
    "session",
    "event",
    "hook",
    "custom",
)
_CT_TO_PROTO: dict[str, int] = {"": hook_pb2.COMPONENT_TYPE_UNSPECIFIED}
_CT_TO_PROTO.update(
    {t: hook_pb2.ComponentType.Value(f"COMPONENT_TYPE_{t.upper()}") for t in COMPONENT_TYPES}
)
_CT_FROM_PROTO: dict[int, str] = {v: k for k, v in _CT_TO_PROTO.items()}


@dataclass(slots=True)
class ComponentId:
    """The component whose activity reached the point; `type` is one of COMPONENT_TYPES or ""."""

    id: str = ""
    type: str = ""
    name: str = ""

    def to_proto(self) -> hook_pb2.ComponentId:
        try:
            ct = _CT_TO_PROTO[self.type]
        except KeyError:
            raise InvalidArgument(
                "component.type",
                f"unknown component type {self.type!r} (expected one of {COMPONENT_TYPES})",
            ) from None
        return hook_pb2.ComponentId(id=self.id, type=ct, name=self.name)  # type: ignore[arg-type]

    @classmethod
    def from_proto(cls, pb: hook_pb2.ComponentId) -> ComponentId:
        try:
            t = _CT_FROM_PROTO[pb.type]
        except KeyError:
            raise InvalidArgument("component.type", f"unknown ComponentType {pb.type}") from None
        return cls(pb.id, t, pb.name)


@dataclass(slots=True)
class OperationError:
    """A failure reported by an operation (at *_error points)."""

    code: str = ""
    message: str = ""


@dataclass(slots=True)
class Operation:
    """The operation a point wraps. `parameters` / `result` are JSON values; None = absent."""

    type: str = ""
    id: str = ""
    parameters: Any = None
    result: Any = None
    error: OperationError | None = None

    def to_proto(self) -> hook_pb2.Operation:
        pb = hook_pb2.Operation(type=self.type, id=self.id)
        if self.parameters is not None:
            pb.parameters.CopyFrom(to_proto_value(self.parameters, "operation.parameters"))
        if self.result is not None:
            pb.result.CopyFrom(to_proto_value(self.result, "operation.result"))
        if self.error is not None:
            pb.error.code = self.error.code
            pb.error.message = self.error.message
        return pb

    @classmethod
    def from_proto(cls, pb: hook_pb2.Operation) -> Operation:
        return cls(
            pb.type,
            pb.id,
            from_proto_value(pb.parameters, "operation.parameters")
            if pb.HasField("parameters")
            else None,
            from_proto_value(pb.result, "operation.result") if pb.HasField("result") else None,
            OperationError(pb.error.code, pb.error.message) if pb.HasField("error") else None,
        )


@dataclass(slots=True)
class DistributedContext:
    """Context that crosses hosts: remote agent, propagation flags, W3C trace context."""

    remote_agent_id: str = ""
    propagate_to_remote: bool = False
    propagate_events: bool = False
    propagate_baggage: bool = False
    traceparent: str = ""
    tracestate: str = ""

    def to_proto(self) -> hook_pb2.DistributedContext:
        return hook_pb2.DistributedContext(
            remote_agent_id=self.remote_agent_id,
            propagation=hook_pb2.PropagationFlags(
                propagate_to_remote=self.propagate_to_remote,
                propagate_events=self.propagate_events,
                propagate_baggage=self.propagate_baggage,
            ),
            trace_context=common_pb2.TraceContext(
                traceparent=self.traceparent, tracestate=self.tracestate
            ),
        )

    @classmethod
    def from_proto(cls, pb: hook_pb2.DistributedContext) -> DistributedContext:
        p = pb.propagation
        return cls(
            pb.remote_agent_id,
            p.propagate_to_remote,
            p.propagate_events,
            p.propagate_baggage,
            pb.trace_context.traceparent,
            pb.trace_context.tracestate,
        )


@dataclass(slots=True)
class HookContext:
    """What a hook is called with. `data` is the JSON object MODIFIED results patch.

    The executor never mutates a context's `data` in place: applying a patch builds a new dict
    and a new context, so the caller's context is left as it was.
    """

    point: str
    data: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, str] = field(default_factory=dict)
    component: ComponentId | None = None
    language: str = ""
    correlation_id: str = ""
    timestamp_ns: int = 0
    operation: Operation | None = None
    parent: HookContext | None = None
    distributed: DistributedContext | None = None

    def with_data(self, data: dict[str, Any]) -> HookContext:
        """A shallow copy with `data` replaced (the other fields are shared)."""
        return HookContext(
            self.point,
            data,
            self.metadata,
            self.component,
            self.language,
            self.correlation_id,
            self.timestamp_ns,
            self.operation,
            self.parent,
            self.distributed,
        )

    def to_proto(self) -> hook_pb2.HookContext:
        """Convert to hookwire.v1.HookContext (timestamp_ns 0 leaves the timestamp unset)."""
        pb = hook_pb2.HookContext()
        self.fill_proto(pb)
        return pb

    def fill_proto(self, pb: hook_pb2.HookContext) -> None:
        """Write this context into `pb` (an empty HookContext, e.g. a field of a message being
        built), which saves the copy that `field.CopyFrom(ctx.to_proto())` would make."""
        # Field by field, skipping defaults: this runs for every call to a remote hook.
        pb.point, custom = point_to_proto(self.point, "context.point")  # type: ignore[assignment]
        if custom:
            pb.custom_point = custom
        if self.language:
            pb.language = language_to_proto(self.language, "context.language")  # type: ignore[assignment]
        if self.correlation_id:
            pb.correlation_id = self.correlation_id
        fill_proto_object(pb.data, self.data, "context.data")
        if self.metadata:
            metadata = pb.metadata
            for k, v in self.metadata.items():
                if not isinstance(k, str) or not isinstance(v, str):
                    raise InvalidArgument(
                        "context.metadata", f"keys and values must be strings: {k!r}"
                    )
                metadata[k] = v
        if self.component is not None:
            pb.component.CopyFrom(self.component.to_proto())
        if self.timestamp_ns:
            s, n = divmod(self.timestamp_ns, _NS)
            pb.timestamp.seconds = s
            pb.timestamp.nanos = n
        if self.operation is not None:
            pb.operation.CopyFrom(self.operation.to_proto())
        if self.parent is not None:
            check_parents(self.parent, "context.parent")
            self.parent.fill_proto(pb.parent)
        if self.distributed is not None:
            pb.distributed.CopyFrom(self.distributed.to_proto())

    @classmethod
    def from_proto(cls, pb: hook_pb2.HookContext) -> HookContext:
        """Build from hookwire.v1.HookContext; unset messages become None."""
        if pb.HasField("parent"):
            check_parents(pb.parent, "context.parent")
        return cls(
            point_from_proto(pb.point, pb.custom_point, "context.point"),
            from_proto_object(pb.data, "context.data"),
            dict(pb.metadata),
            ComponentId.from_proto(pb.component) if pb.HasField("component") else None,
            language_from_proto(pb.language, "context.language"),
            pb.correlation_id,
            pb.timestamp.seconds * _NS + pb.timestamp.nanos if pb.HasField("timestamp") else 0,
            Operation.from_proto(pb.operation) if pb.HasField("operation") else None,
            HookContext.from_proto(pb.parent) if pb.HasField("parent") else None,
            DistributedContext.from_proto(pb.distributed) if pb.HasField("distributed") else None,
        )
