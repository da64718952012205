"""The event-bus side of a scenario run (docs/semantics.md section 8): subscriptions, publish,
subscribe, expectDelivered, expectBusStats, and the stats invariant after every step.

Each run gets a fresh `EventBus` on the run's `VirtualClock` (with the scenario's `bus`
settings); the executor's runtime events (breaker transitions, hook executions) are published
on it too, so they share one sequence order with direct publishes and hook publishes.

A publish that must wait for room in a full BACKPRESSURE queue (`"blocks": true`) runs on a
helper thread; the runner waits until the bus has it waiting (so its timeout starts at the
step's virtual time), and after every later step releases it once every full queue it waits
on has room or its timeout has passed on the virtual clock. A publish that would wait without
`blocks` fails the step instead of hanging the run.

Example:
    >>> from hookwire.runtime.clock import VirtualClock
    >>> steps = BusSteps(make_bus({}, VirtualClock()))
    >>> steps.open_subscriptions([{"id": "all", "pattern": ">"}])
    []
    >>> steps.step({"publish": {"type": "tool.invoked", "payload": 1}, "expectSequence": 1})
    []
    >>> steps.step({"expectDelivered": {"subscription": "all", "events": [{"sequence": 1}]}})
    []
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hookwire.conformance.compare import Difference, json_diff, number_types_observable
from hookwire.conformance.consumers import Consumer, consumer_for
from hookwire.conformance.driver import CallLog, publish_event, waiting_subscriptions
from hookwire.runtime.bus import (
    DEFAULT_RETENTION,
    Backpressure,
    DropNewest,
    DropOldest,
    EventBus,
    OverflowStrategy,
    Sample,
    Subscription,
)
from hookwire.runtime.clock import VirtualClock
from hookwire.runtime.errors import HookwireError

__all__ = ["BUS_STEPS", "BusSteps", "RuntimeEvents", "make_bus"]

BUS_STEPS = ("publish", "subscribe", "expectDelivered", "expectBusStats")

_NS_PER_MS = 1_000_000
_RUN_KEY = re.compile(r"r\d+\.(.+)")
# Real-time bounds on helper-thread hand-offs; virtual time never passes while we wait.
_HANDOFF_S = 5.0

_STATS_FIELDS = {
    "received": "received",
    "delivered": "delivered",
    "queued": "queued",
    "droppedOldest": "dropped_oldest",
    "droppedNewest": "dropped_newest",
    "sampledOut": "sampled_out",
    "timedOut": "timed_out",
    "expired": "expired",
}


def make_bus(config: dict[str, Any], clock: VirtualClock) -> EventBus:
    """A fresh bus on `clock` with a scenario's `bus` settings (rateLimit, retention)."""
    rate = config.get("rateLimit")
    return EventBus(
        clock=clock,
        retention=config.get("retention", DEFAULT_RETENTION),
        rate_limit=None if rate is None else (rate["rate"], rate["burst"]),
    )


class RuntimeEvents:
    """The executor's EventSink in a run: every runtime event goes to the call log (for
    `breakerEvents`) and is published on the run's bus.

    A runtime event that would wait for room in a full BACKPRESSURE subscription is not
    published (the chain cannot wait for a drain); it is reported as a scenario problem.
    """

    def __init__(
        self, log: CallLog, bus: EventBus, settle: Callable[[], None] = lambda: None
    ) -> None:
        self.log = log
        self.bus = bus
        self.settle = settle  # see BusSteps

    def emit(self, type: str, payload: dict[str, Any]) -> None:
        self.log.emit(type, payload)
        blocked = waiting_subscriptions(self.bus, type)
        if blocked:
            self.log.problems.append(
                f"runtime event {type!r} would wait for room in the full BACKPRESSURE "
                f"subscription(s) {blocked}; narrow the subscription's pattern"
            )
            return
        self.bus.emit(type, payload)
        self.settle()


def overflow_of(raw: dict[str, Any]) -> OverflowStrategy:
    """The overflow strategy a scenario subscription names (DROP_OLDEST by default)."""
    kind = raw.get("overflow", "DROP_OLDEST")
    if kind == "DROP_NEWEST":
        return DropNewest()
    if kind == "BACKPRESSURE":
        timeout = raw.get("backpressureTimeoutMs")
        return Backpressure(timeout_ns=None if timeout is None else round(timeout * _NS_PER_MS))
    if kind == "SAMPLE":
        return Sample(
            rate=raw.get("sampleRate", 1.0), high_water_mark=raw.get("highWaterMark", 0.8)
        )
    return DropOldest()


@dataclass(slots=True)
class _Pending:
    """A publish waiting on a helper thread for room in full BACKPRESSURE queues."""

    step: dict[str, Any]
    started_ns: int
    waits_on: list[Subscription]
    thread: threading.Thread
    sequence: int | None = None
    error: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)


class BusSteps:
    """Runs the bus steps of one scenario run on `bus`; each method returns failure lines."""

    def __init__(self, bus: EventBus, settle: Callable[[], None] = lambda: None) -> None:
        self.bus = bus
        # Called after each publish: returns once the subscribers have been offered it (on a
        # bus over JetStream, the event has come back from the stream).
        self.settle = settle
        # The scenario's hook names (set by the runner), for `scenario_causation`.
        self.hook_names: set[str] = set()
        clock = bus.clock
        assert isinstance(clock, VirtualClock)
        self.clock = clock
        self.subs: dict[str, Subscription] = {}
        self.consumers: dict[str, Consumer] = {}
        self.pending: _Pending | None = None

    # -- subscriptions ---------------------------------------------------------------------

    def subscribe(self, raw: dict[str, Any]) -> Subscription:
        patterns = raw["pattern"]
        if isinstance(patterns, str):
            patterns = [patterns]
        sub = self.bus.subscribe(
            *patterns,
            capacity=raw.get("capacity", 1024),
            overflow=overflow_of(raw),
            from_sequence=raw.get("fromSequence", 0),
            name=raw["id"],
        )
        self.subs[raw["id"]] = sub
        self.consumers[raw["id"]] = consumer_for(raw.get("consumer", "python"))
        return sub

    def open_subscriptions(self, subscriptions: list[dict[str, Any]]) -> list[str]:
        for i, raw in enumerate(subscriptions):
            if raw["id"] in self.subs:
                return [f"subscriptions[{i}]: id {raw['id']!r} is used twice"]
            try:
                self.subscribe(raw)
            except HookwireError as e:
                return [f"subscriptions[{i}] ({raw['id']}): {e.code} {e}"]
        return []

    # -- steps -----------------------------------------------------------------------------

    def step(self, step: dict[str, Any]) -> list[str]:
        """Run one bus step; returns what differed (empty: passed)."""
        if "publish" in step:
            return self.publish_step(step)
        if "subscribe" in step:
            return self.subscribe_step(step)
        if "expectDelivered" in step:
            return self.expect_delivered(step["expectDelivered"])
        return self.expect_stats(step["expectBusStats"])

    def publish_step(self, step: dict[str, Any]) -> list[str]:
        event = step["publish"]
        blocked = waiting_subscriptions(self.bus, event["type"])
        if step.get("blocks"):
            if not blocked:
                return ["expected the publish to wait (blocks), but no BACKPRESSURE queue is full"]
            if self.pending is not None:
                return ["only one publish may wait at a time; an earlier one still waits"]
            return self.start_pending(step)
        if blocked:
            return [
                f"the publish would wait for room in the full BACKPRESSURE subscription(s) "
                f'{blocked}; mark the step `"blocks": true` if that is intended'
            ]
        try:
            seq: int | None = publish_event(self.bus, event)
            self.settle()
            error: BaseException | None = None
        except HookwireError as e:
            seq, error = None, e
        return _check_publish(step, seq, error)

    def start_pending(self, step: dict[str, Any]) -> list[str]:
        names = set(waiting_subscriptions(self.bus, step["publish"]["type"]))
        waits_on = [s for s in self.subs.values() if s.name in names]
        pending = _Pending(step, self.clock.monotonic_ns(), waits_on, threading.Thread())

        def run() -> None:
            try:
                pending.sequence = publish_event(self.bus, step["publish"])
                self.settle()
            except BaseException as e:  # handed to the runner, which reports it
                pending.error = e
            finally:
                pending.done.set()

        pending.thread = threading.Thread(target=run, name="conformance-publish", daemon=True)
        pending.thread.start()
        # The bus reads the wait's start time before it flags the queue as waited on; only
        # then may a later step move virtual time.
        deadline = time.monotonic() + _HANDOFF_S
        while not any(s.has_waiters for s in waits_on):
            if pending.done.is_set() or time.monotonic() > deadline:
                pending.done.wait(_HANDOFF_S)
                return ["expected the publish to wait (blocks), but it completed at once"]
            time.sleep(0.0005)
        self.pending = pending
        return []

    def subscribe_step(self, step: dict[str, Any]) -> list[str]:
        raw = step["subscribe"]
        expect_error = step.get("expectError")
        if raw["id"] in self.subs:
            return [f"subscription id {raw['id']!r} is already used"]
        try:
            self.subscribe(raw)
        except HookwireError as e:
            if expect_error is None:
                return [f"subscribe raised {e.code}: {e}"]
            return _check_error(expect_error, e)
        if expect_error is not None:
            return [f"expected error {expect_error['code']}, but the subscribe succeeded"]
        return []

    def expect_delivered(self, spec: dict[str, Any]) -> list[str]:
        sub = self.subs.get(spec["subscription"])
        if sub is None:
            return [f"no subscription {spec['subscription']!r}"]
        consumer = self.consumers[spec["subscription"]]
        drained = sub.poll()
        try:
            actual = [s.to_json() for s in consumer.take(drained)]
        except Exception as exc:  # the consumer broke: a failure, with its language
            return [f"the {consumer.language} consumer of {spec['subscription']!r} raised {exc!r}"]
        # What ties an event to the execution that caused it, as the bus carries it.
        for a, ev in zip(actual, drained, strict=False):
            a["correlationId"] = ev.correlation_id
            a["causationId"] = self.scenario_causation(ev.causation_id)
            a["traceparent"] = ev.traceparent
            a["tracestate"] = ev.tracestate
        expected: list[dict[str, Any]] = spec["events"]
        diffs: list[Difference] = []
        path = f"expectDelivered.{spec['subscription']} ({consumer.language} consumer)"
        # JavaScript has one number type: an integral double arrives as a plain number and is
        # reported as an integer, so its consumer's numbers compare by value (still exactly).
        strict = number_types_observable(consumer.language)
        if len(actual) != len(expected):
            diffs.append(
                Difference(
                    f"{path} (length)",
                    [e.get("sequence", e.get("type")) for e in expected],
                    [f"{a['sequence']}:{a['type']}" for a in actual],
                )
            )
        for i, (e, a) in enumerate(zip(expected, actual, strict=False)):
            for key, value in e.items():
                if key == "payload" and a["noPayload"]:
                    diffs.append(Difference(f"{path}[{i}].payload", value, "no payload"))
                else:
                    json_diff(value, a[key], f"{path}[{i}].{key}", diffs, strict)
        if diffs:
            return [str(d) for d in diffs] + [
                "delivered: " + ", ".join(f"{a['sequence']}:{a['type']}" for a in actual)
            ]
        return []

    def scenario_causation(self, causation_id: str) -> str:
        """A hook event's causation id (`<point>/<hook>`) with the hook named as in the
        scenario: the remote drivers serve hooks under run-unique names (`r<run>.<hook>`,
        remote_session.run_key)."""
        point, sep, hook = causation_id.rpartition("/")
        m = _RUN_KEY.fullmatch(hook)
        if sep and m is not None and m.group(1) in self.hook_names:
            return f"{point}/{m.group(1)}"
        return causation_id

    def expect_stats(self, spec: dict[str, dict[str, int]]) -> list[str]:
        diffs: list[Difference] = []
        for name, want in spec.items():
            sub = self.subs.get(name)
            if sub is None:
                diffs.append(Difference(f"expectBusStats.{name}", want, "no such subscription"))
                continue
            stats = sub.stats()
            for key, value in want.items():
                attr = _STATS_FIELDS.get(key)
                if attr is None:
                    diffs.append(
                        Difference(f"expectBusStats.{name}.{key}", value, "no such counter")
                    )
                    continue
                json_diff(value, getattr(stats, attr), f"expectBusStats.{name}.{key}", diffs)
        return [str(d) for d in diffs]

    # -- between steps -----------------------------------------------------------------------

    def after_step(self) -> list[str]:
        """Complete a waiting publish that the step released; check the stats invariant."""
        out = self.settle_pending()
        for name, sub in self.subs.items():
            s = sub.stats()
            if not s.balanced:
                out.append(
                    f"stats invariant broken for {name!r}: received {s.received} != delivered "
                    f"{s.delivered} + dropped {s.dropped} + queued {s.queued}"
                )
        return out

    def settle_pending(self) -> list[str]:
        p = self.pending
        if p is None:
            return []
        now = self.clock.monotonic_ns()
        for sub in p.waits_on:
            bp = sub.overflow
            assert isinstance(bp, Backpressure)
            room = sub.closed or len(sub) < sub.capacity
            timed_out = bp.timeout_ns is not None and now - p.started_ns >= bp.timeout_ns
            if not (room or timed_out):
                return []
        if not p.done.wait(_HANDOFF_S):
            return ["a released publish did not complete"]
        self.pending = None
        return ["(waiting publish) " + line for line in _check_publish(p.step, p.sequence, p.error)]

    def finish(self) -> list[str]:
        """End of the run: nothing may still wait; close the bus (releases any waiter)."""
        out = []
        if self.pending is not None:
            out.append(
                f"a publish of {self.pending.step['publish']['type']!r} still waits for room "
                "at the end of the scenario"
            )
        self.bus.close()
        if self.pending is not None:
            self.pending.done.wait(_HANDOFF_S)
        return out


def _check_publish(step: dict[str, Any], seq: int | None, error: BaseException | None) -> list[str]:
    expect_error = step.get("expectError")
    if error is not None:
        if expect_error is None or not isinstance(error, HookwireError):
            return [f"publish raised {type(error).__name__}: {error}"]
        return _check_error(expect_error, error)
    if expect_error is not None:
        return [f"expected error {expect_error['code']}, but the publish got sequence {seq}"]
    if "expectSequence" in step and step["expectSequence"] != seq:
        return [f"sequence: expected {step['expectSequence']}, got {seq}"]
    return []


def _check_error(expect: dict[str, Any], e: HookwireError) -> list[str]:
    lines = []
    if e.code != expect["code"]:
        lines.append(f"error code: expected {expect['code']}, got {e.code} ({e})")
    if expect.get("messageContains", "") not in str(e):
        lines.append(
            f"error message: expected to contain {expect['messageContains']!r}, got {str(e)!r}"
        )
    return lines
