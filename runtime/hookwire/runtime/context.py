"""HookContext: everything a hook sees when it is called.

Its hookwire.v1 form (the bytes a worker or the Execute RPC carries) is built in
hookwire.runtime.wire.context.

Example:
    >>> ctx = HookContext("before_tool_execution", {"tool": "search"})
    >>> ctx2 = ctx.with_data({"tool": "fetch"})
    >>> (ctx.data, ctx2.data, ctx2.point)
    ({'tool': 'search'}, {'tool': 'fetch'}, 'before_tool_execution')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "COMPONENT_TYPES",
    "ComponentId",
    "DistributedContext",
    "HookContext",
    "Operation",
    "OperationError",
]

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


@dataclass(slots=True)
class ComponentId:
    """The component whose activity reached the point; `type` is one of COMPONENT_TYPES or ""."""

    id: str = ""
    type: str = ""
    name: str = ""

    def to_json(self) -> dict[str, Any]:
        """The plain JSON form hooks read (`ctx.component` in Lua, a field path's root).

        Example:
            >>> ComponentId("t1", "tool", "search").to_json()
            {'id': 't1', 'type': 'tool', 'name': 'search'}
        """
        return {"id": self.id, "type": self.type, "name": self.name}


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

    def to_json(self) -> dict[str, Any]:
        """The plain JSON form hooks read (`ctx.operation` in Lua, a field path's root); an
        absent member (None) is left out.

        Example:
            >>> Operation("tool", "op-1", error=OperationError("E", "boom")).to_json()
            {'type': 'tool', 'id': 'op-1', 'error': {'code': 'E', 'message': 'boom'}}
        """
        out: dict[str, Any] = {"type": self.type, "id": self.id}
        if self.parameters is not None:
            out["parameters"] = self.parameters
        if self.result is not None:
            out["result"] = self.result
        if self.error is not None:
            out["error"] = {"code": self.error.code, "message": self.error.message}
        return out


@dataclass(slots=True)
class DistributedContext:
    """Context that crosses hosts: remote agent, propagation flags, W3C trace context."""

    remote_agent_id: str = ""
    propagate_to_remote: bool = False
    propagate_events: bool = False
    propagate_baggage: bool = False
    traceparent: str = ""
    tracestate: str = ""


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
