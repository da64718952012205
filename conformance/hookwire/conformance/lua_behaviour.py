"""Scenario behaviours as Lua hook files, and the Python side both Lua drivers share.

`hook_source(hook)` writes the text of a Lua hook file that registers `hook` with
`conformance/lua/behaviours.lua`: each step becomes a table whose `result` builds the step's
result with the SDK helpers (`hookwire.cancel("no")`, `hookwire.modified{...}`, ...), so the
result a scenario expects is made by real Lua code through the SDK, and whose `publish` lists
the events the Lua code publishes with `hookwire.publish(type, payload)`. `LuaBehaviourAdapter`
wraps the Lua hook's adapter: it counts the call (`env.log.begin`), lets the Lua hook run (it
advances the virtual clock, publishes, and ends the Lua way), then does the step's Python-side
effects (record, nested execute) and returns or raises what Lua gave.

`LuaStepEvents` is the bus the Lua side publishes into (the embedded sandbox's `bus`, the worker
process's `bus`): it checks each event against the step's next expected event and publishes it
on the run's bus with `env.publish`, with the hook call's attributes the Lua side gave it
(correlation id, causation id, trace context). The Lua SDK's `hookwire.publish(type, payload)`
carries no ttl, source or metadata: those come from the scenario's event.

Example:
    >>> lua_value({"a": [1, None], "b": "x"})
    '{["a"] = hookwire.array{1, hookwire.null}, ["b"] = "x"}'
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from hookwire.conformance.driver import HookEnv, SeenContext
from hookwire.conformance.scenario import CallStep, HookDef
from hookwire.conformance.share import data_dir
from hookwire.runtime.adapter import HookAdapter, HookFailed, InvalidResult
from hookwire.runtime.bus.event import NO_DATA, Event
from hookwire.runtime.context import HookContext
from hookwire.runtime.errors import FailedPrecondition
from hookwire.runtime.results import (
    Cache,
    Cancel,
    Continue,
    Fork,
    HookResult,
    Modified,
    Redirect,
    Replace,
    Retry,
    Skipped,
    result_from_json,
)

__all__ = [
    "BEHAVIOURS_DIR",
    "LuaBehaviourAdapter",
    "LuaStepEvents",
    "hook_source",
    "lua_result",
    "lua_value",
]

#: Where behaviours.lua lives (hook files `require("behaviours")` from beside them).
BEHAVIOURS_DIR = data_dir("lua")
_NS_PER_MS = 1_000_000
#: The event type a Lua hook's `record` is handed over with (kept off the run's bus).
SEEN_EVENT = "conformance.seen"
#: ... and a refusal its step expected.
REFUSED_EVENT = "conformance.refused"
#: What a Lua hook reports when its publish returned another sequence than the step's.
PROBLEM_EVENT = "conformance.problem"
_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1


def lua_string(text: str) -> str:
    """A Lua string literal holding `text` (UTF-8; bytes outside printable ASCII escaped)."""
    out = ['"']
    for b in text.encode():
        if b in (0x22, 0x5C) or b < 0x20 or b >= 0x7F:
            out.append(f"\\{b:03d}")
        else:
            out.append(chr(b))
    out.append('"')
    return "".join(out)


def lua_value(value: Any) -> str:
    """A Lua expression for a JSON value: objects as tables, arrays marked with
    `hookwire.array`, null as `hookwire.null`."""
    if value is None:
        return "hookwire.null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        if value == _INT64_MIN:
            # Lua reads the literal -9223372036854775808 as minus a float (2^63 overflows).
            return "math.mininteger"
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise ValueError(f"{value} is beyond Lua's 64-bit integers")
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} is not a JSON number")
        return repr(value)  # always a float literal in Lua: "1.0", "-0.0", "1e+308"
    if isinstance(value, str):
        return lua_string(value)
    if isinstance(value, list):
        return "hookwire.array{" + ", ".join(lua_value(v) for v in value) + "}"
    if isinstance(value, dict):
        items = ", ".join(f"[{lua_string(k)}] = {lua_value(v)}" for k, v in value.items())
        return "{" + items + "}"
    raise TypeError(f"{type(value).__name__} is not a JSON value")


def _ms(ns: int) -> str:
    return repr(ns / _NS_PER_MS)


def lua_result(result: HookResult) -> str:
    """The SDK call that builds `result` in Lua."""
    if isinstance(result, Continue):
        return "hookwire.continue()"
    if isinstance(result, Modified):
        return f"hookwire.modified({lua_value(result.data)})"
    if isinstance(result, Cancel):
        return f"hookwire.cancel({lua_string(result.reason)})"
    if isinstance(result, Redirect):
        return f"hookwire.redirect({lua_string(result.target)})"
    if isinstance(result, Replace):
        return f"hookwire.replace({lua_value(result.value)})"
    if isinstance(result, Retry):
        return f"hookwire.retry({_ms(result.delay_ns)}, {result.max_attempts})"
    if isinstance(result, Cache):
        return f"hookwire.cache({lua_string(result.key)}, {_ms(result.ttl_ns)})"
    if isinstance(result, Skipped):
        return f"hookwire.skipped({lua_string(result.reason)})"
    if isinstance(result, Fork):
        ops = ", ".join(
            f"{{operation = {lua_string(op.operation)}, parameters = {lua_value(op.parameters)}}}"
            for op in result.operations
        )
        return f"hookwire.fork{{{ops}}}"
    raise TypeError(f"no Lua helper for {type(result).__name__}")


def _event(event: dict[str, Any]) -> str:
    payload = f", payload = {lua_value(event['payload'])}" if "payload" in event else ""
    refused = ", refused = true" if "refused" in event else ""
    sequence = f", sequence = {int(event['sequence'])}" if "sequence" in event else ""
    return f"{{type = {lua_string(event['type'])}{payload}{refused}{sequence}}}"


def _step(step: CallStep) -> str:
    parts = []
    if step.advance_ms:
        parts.append(f"advance_ms = {float(step.advance_ms)!r}")
    if step.record:
        parts.append("record = true")
    if step.publish:
        parts.append("publish = {" + ", ".join(_event(e) for e in step.publish) + "}")
    if step.raises is not None:
        parts.append(f'ends = "raises", message = {lua_string(step.raises)}')
    elif step.returns_invalid:
        parts.append('ends = "invalid"')
    elif step.returns is not None:
        body = lua_result(result_from_json(step.returns))
        parts.append(f'ends = "returns", result = function() return {body} end')
    else:
        parts.append('ends = "nothing"')
    return "{ " + ", ".join(parts) + " }"


def hook_source(hook: HookDef, start: int = 0) -> str:
    """The text of a Lua hook file registering `hook` (its behaviour, counting calls from
    `start`) under its name and point."""
    behaviour = hook.behaviour
    if behaviour is None:
        raise ValueError(f"hook {hook.name!r} has no behaviour")
    steps = ",\n    ".join(_step(s) for s in behaviour.calls)
    cycle = "true" if behaviour.repeat == "cycle" else "false"
    return (
        "-- Generated by hookwire.conformance.lua_behaviour for one scenario hook.\n"
        'local behaviours = require("behaviours")\n'
        f"hookwire.register({lua_string(hook.point)}, behaviours.build({{\n"
        f"  name = {lua_string(hook.name)}, start = {start}, cycle = {cycle},\n"
        f"  calls = {{\n    {steps},\n  }},\n"
        f"}}), {{ name = {lua_string(hook.name)} }})\n"
    )


class LuaStepEvents:
    """The bus Lua hooks publish into during a scenario run (see the module docstring)."""

    def __init__(self, env: HookEnv) -> None:
        self.env = env
        self.hook = ""
        self.pending: list[dict[str, Any]] = []
        self.refusable: list[dict[str, Any]] = []

    def expect(self, hook: str, events: Sequence[dict[str, Any]]) -> None:
        """Hook `hook` is about to run a step publishing `events` (those it expects to be
        refused may never get here: the worker process refuses a bad type itself)."""
        self.hook = hook
        self.pending = [e for e in events if "refused" not in e]
        self.refusable = [e for e in events if "refused" in e]

    def finish(self) -> None:
        """The call ended: an expected event the Lua code did not publish is a problem."""
        for event in self.pending:
            self.env.log.problems.append(
                f"Lua hook {self.hook!r} did not publish its step's {event['type']!r} event"
            )
        self.pending = []

    def observed(self, type: str, payload: Any) -> bool:
        """A `conformance.seen` publish (the Lua hook's `record`) is kept here, off the bus:
        the context as the Lua code held it, written by Lua as JSON text; so is a
        `conformance.refused` one (a publish the step expected to be refused was)."""
        if type == PROBLEM_EVENT:
            self.env.log.problems.append(f"Lua hook {self.hook!r}: {payload!r}")
            return True
        if type == REFUSED_EVENT:
            try:
                self.env.log.refused(payload["hook"], payload["type"], "", payload["message"])
            except (TypeError, KeyError) as exc:
                self.env.log.problems.append(f"Lua hook reported refusal {payload!r}: {exc}")
            return True
        if type != SEEN_EVENT:
            return False
        try:
            seen = json.loads(payload["seen"])
            self.env.log.seen.append(
                SeenContext(
                    payload["hook"],
                    seen["point"],
                    seen["data"],
                    seen["metadata"],
                    seen["correlationId"],
                )
            )
        except (TypeError, KeyError, ValueError) as exc:
            self.env.log.problems.append(f"Lua hook {self.hook!r} recorded {payload!r}: {exc}")
        return True

    def _scenario_event(self, type: str, payload: Any) -> dict[str, Any]:
        for event in self.refusable:
            if event["type"] == type:  # meant to be refused: the run's bus decides
                self.refusable.remove(event)
                return event
        if not self.pending or self.pending[0]["type"] != type:
            wanted = self.pending[0]["type"] if self.pending else "nothing"
            problem = f"Lua hook {self.hook!r} published {type!r} where its step publishes {wanted}"
            self.env.log.problems.append(problem)
            raise FailedPrecondition("publish", problem)
        event = dict(self.pending.pop(0))
        if "payload" in event:
            if payload != event["payload"]:
                self.env.log.problems.append(
                    f"Lua hook {self.hook!r} published {type!r} with payload {payload!r}, "
                    f"expected {event['payload']!r}"
                )
            event["payload"] = payload
        elif payload is not NO_DATA:
            self.env.log.problems.append(
                f"Lua hook {self.hook!r} published {type!r} with payload {payload!r}, expected none"
            )
        return event

    def publish(
        self,
        type: str,
        payload: Any = NO_DATA,
        *,
        source_language: str = "",
        correlation_id: str = "",
        causation_id: str = "",
        traceparent: str = "",
        tracestate: str = "",
    ) -> int:
        """LuaBus: `hookwire.publish` in the embedded sandbox (the hook advanced the run's clock
        itself, so the bus stamps the event with the hook's time)."""
        if self.observed(type, payload):
            return 0
        fields = {
            "correlation_id": correlation_id,
            "causation_id": causation_id,
            "traceparent": traceparent,
            "tracestate": tracestate,
        }
        return self.env.publish(
            self.hook, self._scenario_event(type, payload), source_language, hook_fields=fields
        )

    def subscribe(self, *patterns: str, callback: Callable[[Any], object] | None = None) -> Any:
        """LuaBus: subscriptions go straight to the run's bus."""
        assert self.env.bus is not None
        return self.env.bus.subscribe(*patterns, callback=callback)

    def publish_batch(self, events: Iterable[Event]) -> list[Event]:
        """EventPublisher: a Lua worker process's publish frame, stamped with the hook's
        virtual time by the worker."""
        out = []
        for ev in events:
            if self.observed(ev.type, ev.payload):
                out.append(ev)
                continue
            event = self._scenario_event(ev.type, ev.payload)
            attrs = {
                "correlation_id": ev.correlation_id,
                "causation_id": ev.causation_id,
                "traceparent": ev.traceparent,
                "tracestate": ev.tracestate,
            }
            seq = self.env.publish(self.hook, event, ev.source_language, ev.time_ns, attrs)
            out.append(ev.replace(sequence=seq))  # what the worker's publish returns
        return out


class LuaBehaviourAdapter:
    """A Lua hook's adapter plus the scenario step's Python-side effects (see the module)."""

    __slots__ = ("env", "events", "hook", "inner", "is_async")
    language = "lua"

    def __init__(
        self, inner: HookAdapter, env: HookEnv, hook: HookDef, events: LuaStepEvents
    ) -> None:
        self.inner = inner
        self.env = env
        self.hook = hook
        self.events = events
        self.is_async = inner.is_async

    def _step(self) -> CallStep:
        behaviour = self.hook.behaviour
        assert behaviour is not None
        step = behaviour.step_for(self.env.log.begin(self.hook.name))
        self.events.expect(self.hook.name, step.publish)
        return step

    def _effects(self, step: CallStep, ctx: HookContext) -> None:
        self.events.finish()

    def call(self, ctx: HookContext, timeout_ns: int) -> HookResult:
        step = self._step()
        try:
            result: HookResult | Exception = self.inner.call(ctx, timeout_ns)
        except (HookFailed, InvalidResult) as exc:
            result = exc
        self._effects(step, ctx)
        if step.execute is not None:
            self.env.run_nested(self.hook.name, step.execute)
        if isinstance(result, Exception):
            raise result
        return result

    async def acall(self, ctx: HookContext, timeout_ns: int) -> HookResult:
        step = self._step()
        try:
            result: HookResult | Exception = await self.inner.acall(ctx, timeout_ns)
        except (HookFailed, InvalidResult) as exc:
            result = exc
        self._effects(step, ctx)
        if step.execute is not None:
            await self.env.arun_nested(self.hook.name, step.execute)
        if isinstance(result, Exception):
            raise result
        return result

    def __repr__(self) -> str:
        return f"LuaBehaviourAdapter({self.hook.name!r}, {self.inner!r})"
