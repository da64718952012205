"""Events published from inside a hook carry the hook call (hookwire.runtime.hook_call): the
execution's correlation id, `<point>/<hook>` as causation id, the trace context the hook
received (the hook span's under HookTracer); what the hook gives itself wins."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hookwire.runtime.bus import Event, EventBus
from hookwire.runtime.composite import Composite, CompositeKind
from hookwire.runtime.context import DistributedContext, HookContext
from hookwire.runtime.executor import Executor
from hookwire.runtime.hook_call import HookCall, HookCalls, current_hook_call, publish
from hookwire.runtime.lua import LuaHookAdapter, LuaSandbox
from hookwire.runtime.registry import HookSpec, Registry

POINT = "before_tool_execution"
TP = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def ctx(**kw: Any) -> HookContext:
    return HookContext(
        POINT,
        {"n": 1},
        correlation_id="run-1",
        distributed=DistributedContext(traceparent=TP, tracestate="v=1"),
        **kw,
    )


def attrs(ev: Event) -> tuple[str, str, str, str]:
    return (ev.correlation_id, ev.causation_id, ev.traceparent, ev.tracestate)


def test_python_hooks_sync_and_async_publish_with_the_hook_call() -> None:
    bus = EventBus()
    sub = bus.subscribe("app.>")
    reg = Registry()
    reg.register(lambda c: publish(bus, "app.sync", c.data) and None, name="s", point=POINT)

    async def later(c: HookContext) -> None:
        await asyncio.sleep(0)  # suspended: the call is still current when it resumes
        publish(bus, "app.async")

    reg.register(later, name="a", point=POINT, priority=1)
    reg.register(
        lambda c: publish(bus, "app.own", correlation_id="mine", causation_id="c") and None,
        name="o",
        point=POINT,
        priority=2,
    )
    asyncio.run(Executor(reg, observers=[HookCalls()]).aexecute(POINT, ctx()))
    got = sub.poll()
    assert [(e.type, attrs(e)) for e in got] == [
        ("app.sync", ("run-1", f"{POINT}/s", TP, "v=1")),
        ("app.async", ("run-1", f"{POINT}/a", TP, "v=1")),
        ("app.own", ("mine", "c", TP, "v=1")),
    ]
    assert current_hook_call() is None
    # Outside a hook call, publish is the bus's publish.
    publish(bus, "app.outside")
    assert attrs(sub.poll()[0]) == ("", "", "", "")


def test_without_hook_calls_nothing_is_added() -> None:
    bus = EventBus()
    sub = bus.subscribe("app.>")
    reg = Registry()
    reg.register(lambda c: publish(bus, "app.x") and None, name="s", point=POINT)
    Executor(reg).execute(POINT, ctx())
    assert attrs(sub.poll()[0]) == ("", "", "", "")


def _lua_publishing(bus: EventBus) -> LuaHookAdapter:
    """An embedded Lua hook that publishes `app.lua` on `bus`."""
    sandbox = LuaSandbox(bus=bus)
    [lua] = sandbox.load_source(
        'hookwire.register("before_tool_execution", function() hookwire.publish("app.lua") end)',
        "h.lua",
    )
    return LuaHookAdapter(sandbox, lua.fn)


def test_embedded_lua_and_composite_children_name_their_own_call() -> None:
    bus = EventBus()
    sub = bus.subscribe("app.>")
    reg = Registry()
    reg.register(_lua_publishing(bus), name="lua-hook", point=POINT)

    def child(c: HookContext) -> None:
        publish(bus, "app.child")

    for kind in (CompositeKind.SEQUENTIAL, CompositeKind.FIRST_MATCH, CompositeKind.PARALLEL):
        comp = Composite(kind, [(HookSpec(name=f"kid-{kind.value}", point=POINT), child)])
        reg.register(comp, name=f"comp-{kind.value}", point=POINT, priority=1)
    Executor(reg, observers=[HookCalls()]).execute(POINT, ctx())
    got = sub.poll()
    assert [(e.type, e.source_language, e.causation_id) for e in got] == [
        ("app.lua", "lua", f"{POINT}/lua-hook"),
        *[
            ("app.child", "", f"{POINT}/kid-{k.value}")
            for k in CompositeKind
            if k.value != "VOTING"
        ],
    ]
    assert {attrs(e)[::2] for e in got} == {("run-1", TP)}


def test_under_hook_tracer_events_carry_the_hook_span() -> None:
    sdk = pytest.importorskip("opentelemetry.sdk.trace")
    from hookwire.runtime.otel.tracing import HookTracer
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    spans = InMemorySpanExporter()
    provider = sdk.TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    bus = EventBus()
    sub = bus.subscribe("app.>")
    reg = Registry()
    reg.register(lambda c: publish(bus, "app.py") and None, name="py", point=POINT)
    reg.register(_lua_publishing(bus), name="lua", point=POINT, priority=1)
    ex = Executor(reg, observers=[HookCalls(), HookTracer(provider)])
    ex.execute(POINT, ctx())
    by_name = {s.name: s for s in spans.get_finished_spans()}
    got = {e.type: e.traceparent for e in sub.poll()}
    for hook, etype in (("py", "app.py"), ("lua", "app.lua")):
        span = by_name[f"hookwire.hook {hook}"]
        trace_id, span_id = got[etype].split("-")[1:3]
        # The hook span's own id (a child of the incoming trace), not the caller's span.
        assert (int(trace_id, 16), int(span_id, 16)) == (
            span.context.trace_id,
            span.context.span_id,
        )
        assert got[etype] != TP


def test_a_workers_own_span_wins_over_the_context_and_explicit_fields_over_both() -> None:
    span_tp = "00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01"
    call = HookCall("audit", ctx())
    assert call.merged({}, span_tp) == {
        "correlation_id": "run-1",
        "causation_id": f"{POINT}/audit",
        "traceparent": span_tp,
        "tracestate": "v=1",
    }
    explicit = {"correlation_id": "mine", "traceparent": "tp", "source": "s"}
    assert call.merged(explicit, span_tp) == {
        **explicit,
        "causation_id": f"{POINT}/audit",
        "tracestate": "v=1",
    }
    attrs_given = {"attrs": object()}
    assert call.merged(attrs_given) == attrs_given
