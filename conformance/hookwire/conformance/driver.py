"""The driver interface: how the runner turns a hook's behaviour into a real hook of one language.

A **driver** (one per language adapter) is opened once per scenario run with a `HookEnv`
(the run's virtual clock, call log and executor) and gives a `DriverSession` that

- `build_hook(hook)` builds a hook from a `HookDef` whose `behaviour` is set (never a composite:
  the runner builds composites from the runtime's `Composite` and asks the session for the
  children). It returns anything `Registry.register` accepts (a callable, an `async def`, or a
  `HookAdapter`) and must, on its Nth call, do `hook.behaviour.step_for(N)`: call
  `env.log.begin(name)` first (it returns N), then in this order advance the virtual clock by
  `advance_ms` while the call runs, `env.log.record(name, ctx)` if `record`,
  publish each event through the language's own SDK (`hookwire.publish` in Lua, the JS
  worker's `call.publish`, the Python worker's `Worker.publish`; those reaching the bus as
  worker-stream frames are then noted with `env.note_published`, and a publish that would wait
  on a full BACKPRESSURE queue is refused first with `env.refuse_blocking_publish`; in-process
  Python hooks call `env.publish(name, event, language)`), run `execute` as a nested
  execution through `env.executor` and hand it to `env.log.nested(...)` (`env.run_nested` /
  `env.arun_nested` do both), and finally end the call the language's native way (return the
  result, return nothing, raise, or return an invalid value);
- `language_for(hook)` says which language the session builds that hook in;
- `execute(point, ctx)` executes a point with the session's executor entry point (sync or async);
- `close()` releases whatever the session started (processes, event loops, connections).

Adding a Lua, JS or remote driver means implementing these three methods in a new module and
adding it to `DRIVERS` in `drivers.py`; scenarios do not change.

Example:
    >>> from hookwire.conformance.drivers import DRIVERS
    >>> {"py-sync", "py-async"} <= set(DRIVERS)
    True
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from hookwire.runtime.bus import NO_DATA, Backpressure, EventBus
from hookwire.runtime.clock import VirtualClock
from hookwire.runtime.context import DistributedContext, HookContext
from hookwire.runtime.errors import FailedPrecondition, HookwireError
from hookwire.runtime.hook_call import current_hook_call

if TYPE_CHECKING:
    from hookwire.conformance.scenario import HookDef, NestedExecute
    from hookwire.runtime.executor import Executor
    from hookwire.runtime.trace import Execution

__all__ = [
    "CallLog",
    "Driver",
    "DriverSession",
    "HookEnv",
    "NestedRun",
    "Refusal",
    "SeenContext",
    "publish_event",
    "publish_or_refusal",
    "waiting_subscriptions",
]


@dataclass(frozen=True, slots=True)
class SeenContext:
    """A context a hook recorded, as plain JSON-like values."""

    hook: str
    point: str
    data: dict[str, Any]
    metadata: dict[str, str]
    correlation_id: str

    def to_json(self) -> dict[str, Any]:
        return {
            "point": self.point,
            "data": self.data,
            "metadata": self.metadata,
            "correlationId": self.correlation_id,
        }


@dataclass(frozen=True, slots=True)
class NestedRun:
    """A nested execution a hook ran, with what came back (an Execution or the error)."""

    hook: str
    spec: NestedExecute
    outcome: Execution | BaseException


@dataclass(frozen=True, slots=True)
class Refusal:
    """A publish a hook's step expected to be refused, as the hook's language saw it refused:
    the error's code where the language's error carries one (else ""), and its message."""

    hook: str
    type: str
    code: str
    message: str


@dataclass(slots=True)
class CallLog:
    """What the hooks of one scenario run did: call counts, recorded contexts, nested runs.

    Example:
        >>> log = CallLog()
        >>> (log.begin("a"), log.begin("a"), log.calls)
        (0, 1, {'a': 2})
    """

    calls: dict[str, int] = field(default_factory=dict)
    seen: list[SeenContext] = field(default_factory=list)
    nested_runs: list[NestedRun] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    # (hook, language it said it is written in, sequence) for every event a hook published.
    published: list[tuple[str, str, int]] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)

    def emit(self, type: str, payload: dict[str, Any]) -> None:
        """EventSink: keep what the runtime publishes (breaker transitions, executions)."""
        self.events.append((type, payload))

    def begin(self, hook: str) -> int:
        """Count a call of `hook` and return its 0-based index."""
        n = self.calls.get(hook, 0)
        self.calls[hook] = n + 1
        return n

    def record(self, hook: str, ctx: HookContext) -> None:
        """Keep a deep copy of what `hook` saw."""
        self.seen.append(
            SeenContext(
                hook,
                ctx.point,
                copy.deepcopy(ctx.data),
                dict(ctx.metadata),
                ctx.correlation_id,
            )
        )

    def refused(self, hook: str, type: str, code: str, message: str) -> None:
        """Hook `hook` saw its publish of `type` refused (a step's `refused` event)."""
        self.refusals.append(Refusal(hook, type, code, message))

    def nested(self, hook: str, spec: NestedExecute, outcome: Execution | BaseException) -> None:
        self.nested_runs.append(NestedRun(hook, spec, outcome))


@dataclass(slots=True)
class HookEnv:
    """What a driver's hooks may use during one scenario run: the virtual clock, the call log,
    the executor and the run's event bus (a fresh `EventBus` on the same clock)."""

    clock: VirtualClock
    log: CallLog
    executor: Executor
    bus: EventBus | None = None
    # hook name -> the language its session built it in (set by the runner).
    language_of: Callable[[str], str] | None = None
    # The scenario has `concurrently` steps: a session that runs executions synchronously by
    # default switches to `Executor.aexecute` for the whole run (set by the runner).
    concurrent: bool = False
    # Called after each publish of `publish`: returns once the bus's subscribers have been
    # offered the event (set by the runner; over JetStream it comes back from the stream).
    settle: Callable[[], None] = field(default=lambda: None)

    def context(self, point: str, raw: dict[str, Any]) -> HookContext:
        """A fresh context for `point` from a scenario's `context` object."""
        return HookContext(
            point=point,
            data=copy.deepcopy(raw.get("data", {})),
            metadata=dict(raw.get("metadata", {})),
            language="python",
            correlation_id=raw.get("correlationId", ""),
            timestamp_ns=self.clock.time_ns(),
            distributed=DistributedContext(
                traceparent=raw.get("traceparent", ""), tracestate=raw.get("tracestate", "")
            )
            if "traceparent" in raw or "tracestate" in raw
            else None,
        )

    def run_nested(self, hook: str, spec: NestedExecute) -> None:
        """Run a hook's nested execution `spec` with `executor.execute` and log what came back
        (the Execution, or the exception: reported by the runner, not swallowed)."""
        ctx = self.context(spec.point, spec.context)
        try:
            out: Execution | BaseException = self.executor.execute(spec.point, ctx)
        except Exception as e:
            out = e
        self.log.nested(hook, spec, out)

    async def arun_nested(self, hook: str, spec: NestedExecute) -> None:
        """`run_nested` with `executor.aexecute`, for hooks that run on the event loop."""
        ctx = self.context(spec.point, spec.context)
        try:
            out: Execution | BaseException = await self.executor.aexecute(spec.point, ctx)
        except Exception as e:
            out = e
        self.log.nested(hook, spec, out)

    def publish(
        self,
        hook: str,
        event: dict[str, Any],
        language: str | None = None,
        time_ns: int | None = None,
        hook_fields: Mapping[str, str] | None = None,
    ) -> int:
        """Publish a scenario event (`{type, payload, source, correlationId, metadata, ttlMs}`)
        from hook `hook` written in `language` (default: the language its session built it
        in) on the run's bus; returns its sequence.

        `hook_fields` are the hook call's event attributes (correlation id, causation id, trace
        context) as the hook's adapter derived them; None: those of the Python hook call
        running now (`current_hook_call()`). The scenario event's own `correlationId` wins.

        `time_ns` is the event's time as the hook saw it; leave it None when the hook advanced
        `clock` itself (in-process hooks), pass it when the hook's time lives elsewhere (a
        remote hook's per-call clock is added to `clock` only when the call returns).

        Bus errors (INVALID_ARGUMENT, RESOURCE_EXHAUSTED for the rate limit) are raised into
        the hook, as a real hook would see them. A publish that would wait for room in a full
        BACKPRESSURE queue is refused with FailedPrecondition and reported as a scenario
        problem: nothing could drain the queue while the chain runs, so it would hang.
        """
        if self.bus is None:
            self.log.problems.append(f"hook {hook!r} publishes, but this run has no event bus")
            raise FailedPrecondition("bus", "this run has no event bus")
        blocked = waiting_subscriptions(self.bus, event["type"])
        if blocked:
            problem = (
                f"hook {hook!r} publishes {event['type']!r}, which would wait for room in the "
                f"full BACKPRESSURE subscription(s) {blocked}; a hook cannot wait for that"
            )
            self.log.problems.append(problem)
            raise FailedPrecondition("publish", problem)
        if language is None:
            language = self.language_of(hook) if self.language_of is not None else "python"
        if hook_fields is None:
            call = current_hook_call()
            hook_fields = call.event_fields() if call is not None else {}
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            seq = publish_event(self.bus, event, language, time_ns, hook_fields)
        else:
            # A coroutine hook: the bus refuses a synchronous publish on a running loop when a
            # BACKPRESSURE queue is full, even one whose zero timeout never waits. Waits were
            # refused above, so publishing from a helper thread cannot block.
            with ThreadPoolExecutor(1) as pool:
                seq = pool.submit(
                    publish_event, self.bus, event, language, time_ns, hook_fields
                ).result()
        self.settle()
        self.log.published.append((hook, language, seq))
        return seq

    def refuse_blocking_publish(self, hook: str, events: Sequence[dict[str, Any]]) -> None:
        """Before a hook whose events reach the bus from another thread or process runs: if one
        of `events` would wait for room in a full BACKPRESSURE queue (which nothing can drain
        while the chain runs), report it as a scenario problem and raise FailedPrecondition."""
        if self.bus is None:
            return
        for event in events:
            blocked = waiting_subscriptions(self.bus, event["type"])
            if blocked:
                problem = (
                    f"hook {hook!r} publishes {event['type']!r}, which would wait for room in "
                    f"the full BACKPRESSURE subscription(s) {blocked}; a hook cannot wait for that"
                )
                self.log.problems.append(problem)
                raise FailedPrecondition("publish", problem)

    def note_published(self, hook: str, from_sequence: int, count: int) -> None:
        """Record, for the source-language check, the events hook `hook` published through its
        SDK during a call that started when the bus's next sequence was `from_sequence`: the
        first `count` events since then not emitted by the runtime itself (a hook publishes
        before the nested executions it runs, and the runtime's own events say "native")."""
        if self.bus is None or count == 0:
            return
        # The retention log, read without opening a subscription (that would show in stats).
        retained = self.bus.retained(from_sequence, stored=True)
        mine = [e for e in retained if e.source_language not in ("", "native")][:count]
        for ev in mine:
            self.log.published.append((hook, ev.source_language, ev.sequence))


def publish_or_refusal(env: HookEnv, hook: str, event: dict[str, Any]) -> None:
    """An in-process Python hook's publish of a scenario event: an event the step expects to
    be `refused` is published in a `try`, and its refusal logged with the error's code."""
    if "refused" not in event:
        check_sequence(env, hook, event, env.publish(hook, event))
        return
    try:
        env.publish(hook, event)
    except HookwireError as exc:
        env.log.refused(hook, event["type"], exc.code, str(exc))


def check_sequence(env: HookEnv, hook: str, event: dict[str, Any], returned: Any) -> None:
    """A step event's `sequence`: what the hook's publish had to return."""
    want = event.get("sequence")
    if want is not None and returned != want:
        env.log.problems.append(
            f"hook {hook!r}: publish of {event['type']!r} returned {returned!r}, expected {want}"
        )


def publish_event(
    bus: EventBus,
    event: dict[str, Any],
    language: str = "",
    time_ns: int | None = None,
    hook_fields: Mapping[str, str] | None = None,
) -> int:
    """Publish a scenario event dict on `bus` (ms converted to ns); returns the sequence.
    `hook_fields`: the publishing hook call's attributes (the event's own `correlationId` wins).

    Example:
        >>> b = EventBus(clock=VirtualClock())
        >>> publish_event(b, {"type": "a.b", "payload": [1], "ttlMs": 5}, "lua")
        1
    """
    ttl = event.get("ttlMs")
    hook = hook_fields or {}
    return bus.publish(
        event["type"],
        event.get("payload", NO_DATA),
        source=event.get("source", ""),
        source_language=language,
        correlation_id=event.get("correlationId") or hook.get("correlation_id", ""),
        causation_id=hook.get("causation_id", ""),
        traceparent=hook.get("traceparent", ""),
        tracestate=hook.get("tracestate", ""),
        metadata=event.get("metadata"),
        ttl_ns=None if ttl is None else round(ttl * 1_000_000),
        time_ns=time_ns,
    )


def waiting_subscriptions(bus: EventBus, event_type: str) -> list[str]:
    """Names of the open BACKPRESSURE subscriptions a publish of `event_type` would wait on
    now (full, and a timeout other than zero)."""
    out = []
    for sub in bus.subscriptions():
        bp = sub.overflow
        if (
            isinstance(bp, Backpressure)
            and bp.timeout_ns != 0
            and len(sub) >= sub.capacity
            and sub.matches(event_type)
        ):
            out.append(sub.name or repr(sub))
    return out


class DriverSession(Protocol):
    """One driver's hooks and entry point for one scenario run."""

    def language_for(self, hook: HookDef) -> str:
        """The language `hook` is built in ("python", "lua", "javascript"); a mixed session
        answers per hook, and the runner registers the hook with it."""
        ...

    def build_hook(self, hook: HookDef) -> Any:
        """A hook that follows `hook.behaviour`, in what `Registry.register` accepts."""
        ...

    def execute(self, point: str, ctx: HookContext) -> Execution:
        """Execute `point` with `ctx` on the run's executor and return the execution."""
        ...

    def close(self) -> None:
        """Release what the session started."""
        ...


class Driver(Protocol):
    """A language adapter under test, e.g. `py-sync`."""

    name: str

    def open(self, env: HookEnv) -> DriverSession:
        """Start a session for one scenario run."""
        ...
