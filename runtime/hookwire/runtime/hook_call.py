"""The hook call: what an event published from inside a hook is tied to.

An event a hook publishes carries, unless the hook set them itself:

- `correlation_id`: the execution's (`ctx.correlation_id`, which the server fills from the
  `x-correlation-id` call metadata);
- `causation_id`: the hook call, `"<point>/<hook name>"` (`causation_id(point, hook)`), e.g.
  `before_tool_execution/audit`. A hook runs at most once per execution, so the pair
  (correlation id, causation id) names one hook call of one execution;
- `traceparent` / `tracestate`: the hook's W3C trace context: the context the hook received
  (`ctx.distributed`; under `HookTracer` that is the executor's hook span), or the span a
  worker SDK started around the call when OpenTelemetry traces the worker.

A value the hook gives explicitly (a non-empty `correlation_id=...`, ...) wins over the derived
one, field by field. Every adapter derives the same values: in-process Python hooks and embedded
Lua hooks through `current_hook_call()` (set by `HookCalls` while each hook runs), the Lua worker
process, the JavaScript and the Python worker SDKs from the HookCall they serve.

Example:
    >>> from hookwire.runtime.bus.bus import EventBus
    >>> from hookwire.runtime.context import HookContext
    >>> from hookwire.runtime.executor import Executor
    >>> from hookwire.runtime.registry import Registry
    >>> bus = EventBus()
    >>> sub = bus.subscribe("audit.*")
    >>> def audit(ctx):
    ...     publish(bus, "audit.seen", {"user": ctx.data["user"]})
    >>> reg = Registry()
    >>> _ = reg.register(audit, name="audit", point="session_start")
    >>> ex = Executor(reg, observers=[HookCalls()])
    >>> _ = ex.execute("session_start", HookContext("session_start", {"user": "ann"},
    ...                                             correlation_id="run-7"))
    >>> ev = sub.poll()[0]
    >>> ev.correlation_id, ev.causation_id
    ('run-7', 'session_start/audit')
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from types import CoroutineType
from typing import Any

from hookwire.runtime.context import HookContext

__all__ = [
    "HookCall",
    "HookCalls",
    "calling",
    "causation_id",
    "current_hook_call",
    "hook_call_running",
    "in_hook_call",
    "publish",
]


def causation_id(point: str, hook: str) -> str:
    """The causation id of events hook `hook` publishes while called at `point`.

    Example:
        >>> causation_id("custom:deploy", "guard")
        'custom:deploy/guard'
    """
    return f"{point}/{hook}"


@dataclass(slots=True, eq=False)
class HookCall:
    """One call of one hook: its name and the context it received."""

    hook: str
    ctx: HookContext

    @property
    def causation_id(self) -> str:
        return causation_id(self.ctx.point, self.hook)

    def event_fields(self, traceparent: str = "") -> dict[str, str]:
        """The attributes of an event published during this call (see the module docstring);
        `traceparent` is a span the publishing side started for the call (a worker's), which
        then wins over the context's."""
        d = self.ctx.distributed
        return {
            "correlation_id": self.ctx.correlation_id,
            "causation_id": self.causation_id,
            "traceparent": traceparent or (d.traceparent if d is not None else ""),
            "tracestate": d.tracestate if d is not None else "",
        }

    def merged(self, fields: dict[str, Any], traceparent: str = "") -> dict[str, Any]:
        """`fields` (a publish's keyword fields) with the empty hook-call attributes filled in:
        what the hook gave explicitly wins."""
        out = dict(fields)
        if out.get("attrs") is not None:
            return out  # a ready EventAttrs object: the publisher chose every attribute
        for name, value in self.event_fields(traceparent).items():
            if not out.get(name):
                out[name] = value
        return out


# (hook name, context) of the running hook call: a tuple, the cheapest thing to build per call;
# `current_hook_call()` makes the HookCall only when an event is published.
_CURRENT: ContextVar[tuple[str, HookContext] | None] = ContextVar(
    "hookwire_hook_call", default=None
)
_set = _CURRENT.set
_reset = _CURRENT.reset


def current_hook_call() -> HookCall | None:
    """The hook call running in this thread or task (None outside hooks, or when the
    executor runs without `HookCalls`).

    Example:
        >>> current_hook_call() is None
        True
    """
    running = _CURRENT.get()
    return None if running is None else HookCall(*running)


_NO_PAYLOAD: Any = object()


def hook_call_running() -> bool:
    """True while a hook call is current (cheaper than `current_hook_call() is not None`)."""
    return _CURRENT.get() is not None


def publish(bus: Any, type: str, payload: Any = _NO_PAYLOAD, **fields: Any) -> int:
    """Publish on `bus` from inside a hook, with the hook call's attributes (explicit `fields`
    win); outside a hook call it is `bus.publish`. Returns the event's sequence. Without
    `payload` the event has none (the bus's NO_DATA); None is JSON null."""
    call = current_hook_call()
    if call is not None:
        fields = call.merged(fields)
    # The core does not import the bus: leave the payload out rather than name NO_DATA.
    seq: int = (
        bus.publish(type, **fields)
        if payload is _NO_PAYLOAD
        else bus.publish(type, payload, **fields)
    )
    return seq


def calling(hook: str, ctx: HookContext, fn: Callable[[HookContext], Any]) -> Any:
    """Call `fn(ctx)` as hook `hook`'s call: `current_hook_call()` is that call meanwhile. A
    coroutine `fn` gets the call for the whole of its run."""
    token = _set((hook, ctx))
    try:
        value = fn(ctx)
    finally:
        _reset(token)
    if type(value) is CoroutineType:
        return _awaited(hook, ctx, value)
    return value


@contextmanager
def in_hook_call(hook: str, ctx: HookContext) -> Iterator[HookCall]:
    """Run the block as hook `hook`'s call on `ctx` (what a worker SDK does around the hook
    it serves).

    Example:
        >>> with in_hook_call("audit", HookContext("session_start")) as call:
        ...     current_hook_call().causation_id
        'session_start/audit'
    """
    token = _set((hook, ctx))
    try:
        yield HookCall(hook, ctx)
    finally:
        _reset(token)


async def _awaited(hook: str, ctx: HookContext, coro: Any) -> Any:
    token = _set((hook, ctx))
    try:
        return await coro
    finally:
        _reset(token)


class HookCalls:
    """A call wrapper (hookwire.runtime.observer.CallWrapper) that makes each hook call
    `current_hook_call()` while the hook runs, so that `publish(bus, ...)` and embedded Lua's
    `hookwire.publish` tie the events to it: `Executor(registry, observers=[HookCalls(),
    ...])`. List it before `HookTracer`, so the context it records is the one the hook
    receives (with the hook span's traceparent)."""

    active = True

    def begin(self, point: str, ctx: HookContext) -> object:
        return self  # a token for every execution: its hooks' events are tied to their calls

    def wrap(self, entry: Any, call: Callable[[HookContext], Any]) -> Callable[[HookContext], Any]:
        name = entry.name

        def called(ctx: HookContext) -> Any:
            return calling(name, ctx, call)

        return called

    def end(
        self, token: object, point: str, execution: Any, started_ns: int, ended_ns: int
    ) -> None:
        pass

    def abort(self, token: object, exc: BaseException) -> None:
        pass
