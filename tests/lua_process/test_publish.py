"""hookwire.publish in the Lua worker process: a WorkerMessage.publish frame the supervisor
publishes on its bus in stream order (before the call's result), stamped with the hook's time."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from hookwire.runtime.bus import EventBus
from hookwire.runtime.bus.event import NO_DATA, Event
from hookwire.runtime.clock import VirtualClock
from hookwire.runtime.context import DistributedContext, HookContext
from hookwire.runtime.executor import Executor
from hookwire.runtime.lua_process import LuaProcessWorker
from hookwire.runtime.registry import Registry
from hookwire.runtime.results import Cancel

HookFile = Callable[[str, str], Path]
START_NS = 1_700_000_000_000_000_000


def hook(body: str) -> str:
    return f'hookwire.register("session_start", function(ctx)\n{body}\nend, {{name = "h"}})\n'


def start(
    hook_file: HookFile, workers: list[LuaProcessWorker], body: str, bus: EventBus | None
) -> tuple[LuaProcessWorker, Registry, VirtualClock]:
    """A started worker running one Lua hook `body` at session_start (stopped at teardown)."""
    clock = VirtualClock(START_NS)
    reg = Registry()
    w = LuaProcessWorker(
        [hook_file("h.lua", hook(body))],
        registry=reg,
        blocking=True,
        clock=clock,
        virtual_clock=True,
        bus=bus,
    )
    workers.append(w)
    w.start()
    return w, reg, clock


def run(
    hook_file: HookFile,
    workers: list[LuaProcessWorker],
    body: str,
    bus: EventBus | None,
    ctx: HookContext | None = None,
) -> tuple[LuaProcessWorker, list[str], str]:
    """Execute one Lua hook; returns the worker, the bus's event types in order, the outcome."""
    w, reg, clock = start(hook_file, workers, body, bus)
    order: list[str] = []
    if bus is not None:
        bus.subscribe(">", callback=lambda e: order.append(e.type))
    execution = Executor(reg, clock=clock, events=bus).execute(
        "session_start", ctx if ctx is not None else HookContext("session_start", {})
    )
    [entry] = execution.trace
    return w, order, f"{entry.outcome.value} {entry.reason}".strip()


def test_events_reach_the_bus_in_order_with_the_hooks_time(
    hook_file: HookFile, workers: list[LuaProcessWorker]
) -> None:
    bus = EventBus(clock=VirtualClock(START_NS))
    got: list[Event] = []
    bus.subscribe("app.>", callback=got.append)
    body = (
        "advance_clock_ms(60)\n"
        'hookwire.publish("app.one", {n = 1, tags = hookwire.array{"é", hookwire.null}})\n'
        "advance_clock_ms(15)\n"
        'hookwire.publish("app.two", hookwire.null)\n'
        'hookwire.publish("app.three")'
    )
    w, order, outcome = run(hook_file, workers, body, bus)
    assert outcome == "CONTINUE"
    assert [(e.type, e.sequence, e.source_language) for e in got] == [
        ("app.one", 1, "lua"),
        ("app.two", 2, "lua"),
        ("app.three", 3, "lua"),
    ]
    # No payload given: an event without data (not `{}`), as in Python and JavaScript.
    assert [e.payload for e in got] == [{"n": 1, "tags": ["é", None]}, None, NO_DATA]
    # The hook's own time at each publish, not the executor's time when the call returned.
    assert [e.time_ns for e in got] == [
        START_NS + 60_000_000,
        START_NS + 75_000_000,
        START_NS + 75_000_000,
    ]
    # Published before the call's result was applied (hook.executed comes after the result).
    assert order.index("app.three") < order.index("hookwire.hook.executed")
    assert w.publish_errors == 0


def test_invalid_type_is_a_lua_error_naming_the_type(
    hook_file: HookFile, workers: list[LuaProcessWorker]
) -> None:
    bus = EventBus(clock=VirtualClock(START_NS))
    _, order, outcome = run(hook_file, workers, 'hookwire.publish("a..b", {})', bus)
    assert outcome == (
        'ERROR h.lua:2: hookwire.publish: invalid event type "a..b": expected dot-separated '
        "tokens of [A-Za-z0-9_-]+"
    )
    assert "a..b" not in order


def test_without_a_bus_the_refusal_is_logged_and_counted(
    hook_file: HookFile, workers: list[LuaProcessWorker], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        w, _, outcome = run(hook_file, workers, 'hookwire.publish("a.b", {n = 1})', None)
    # As embedded: publish waits for the executor's answer, so the refusal fails the hook.
    assert outcome == (
        "ERROR h.lua:2: hookwire.publish: bus: this LuaProcessWorker was given no event bus"
    )
    assert w.publish_errors == 1
    assert "this LuaProcessWorker was given no event bus" in caplog.text


def test_rate_limited_publish_is_counted_and_the_worker_goes_on(
    hook_file: HookFile, workers: list[LuaProcessWorker]
) -> None:
    bus = EventBus(clock=VirtualClock(START_NS), rate_limit=(1.0, 1))
    got: list[Event] = []
    bus.subscribe("app.>", callback=got.append)
    body = (
        'hookwire.publish("app.a", 1)\n'
        'local ok = pcall(hookwire.publish, "app.b", 2)\n'
        'return hookwire.cancel(ok and "sent" or "refused")'
    )
    w, _, outcome = run(hook_file, workers, body, bus)
    assert outcome == "CANCEL"  # the hook caught the refusal and ran on to its own result
    assert [e.type for e in got] == ["app.a"]
    assert w.publish_errors == 1


def test_events_carry_the_hook_call_and_the_hooks_trace_context(
    hook_file: HookFile, workers: list[LuaProcessWorker]
) -> None:
    bus = EventBus(clock=VirtualClock(START_NS))
    got: list[Event] = []
    bus.subscribe("app.>", callback=got.append)
    tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    ctx = HookContext(
        "session_start",
        correlation_id="run-9",
        distributed=DistributedContext(traceparent=tp, tracestate="v=1"),
    )
    # The hook sees the trace context too (ctx.distributed, as embedded hooks do).
    body = 'hookwire.publish("app.seen", {tp = ctx.distributed.traceparent})'
    _, _, outcome = run(hook_file, workers, body, bus, ctx)
    assert outcome == "CONTINUE"
    [ev] = got
    assert ev.payload == {"tp": tp}
    assert (ev.correlation_id, ev.causation_id, ev.traceparent, ev.tracestate) == (
        "run-9",
        "session_start/h",
        tp,
        "v=1",
    )


def test_publish_returns_the_sequence_and_a_refusal_is_an_error_in_the_hook(
    hook_file: HookFile, workers: list[LuaProcessWorker]
) -> None:
    bus = EventBus(clock=VirtualClock(START_NS), rate_limit=(1e-9, 3))
    bus.publish("app.before")  # sequence 1: the hook's events get 2 and 3
    body = (
        'local a = hookwire.publish("app.one", 1)\n'
        'local b = hookwire.publish("app.two")\n'
        'local ok, err = pcall(hookwire.publish, "app.three")  -- over the rate limit\n'
        'return hookwire.cancel(table.concat({a, b, tostring(ok), err}, "|"))'
    )
    _, reg, clock = start(hook_file, workers, body, bus)
    ex = Executor(reg, clock=clock).execute("session_start", HookContext("session_start", {}))
    [entry] = ex.trace
    assert entry.outcome.value == "CANCEL", entry.reason
    assert isinstance(ex.result, Cancel)
    a, b, ok, err = ex.result.reason.split("|")
    assert (a, b, ok) == ("2", "3", "false")
    assert "hookwire.publish" in err and "rate" in err.lower()
