"""Run one scenario on one driver: fresh clock, registry, monitor and executor, then each step.

Example:
    >>> from hookwire.conformance.loader import load_scenarios, DEFAULT_SCENARIO_DIR
    >>> from hookwire.conformance.py_sync import PySyncDriver
    >>> sc = next(s for s in load_scenarios([DEFAULT_SCENARIO_DIR]) if s.id == "exec.no-hooks")
    >>> run_scenario(sc, PySyncDriver()).passed
    True
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hookwire.conformance.bus_steps import BUS_STEPS, BusSteps, RuntimeEvents, make_bus
from hookwire.conformance.compare import (
    Difference,
    json_diff,
    json_equal,
    normalize_result,
    number_types_observable,
)
from hookwire.conformance.driver import (
    CallLog,
    Driver,
    DriverSession,
    HookEnv,
    Refusal,
    SeenContext,
)
from hookwire.conformance.run_step import run_step
from hookwire.conformance.scenario import HookDef, Scenario
from hookwire.runtime.breaker import BreakerConfig
from hookwire.runtime.clock import VirtualClock
from hookwire.runtime.composite import Composite, CompositeKind, TieBreaker
from hookwire.runtime.errors import HookwireError, NotFound
from hookwire.runtime.executor import Executor
from hookwire.runtime.hook_call import HookCalls
from hookwire.runtime.monitor import PerformanceMonitor
from hookwire.runtime.registry import FailurePolicy, HookSpec, Registry
from hookwire.runtime.results import result_to_json
from hookwire.runtime.trace import Execution

__all__ = ["RunResult", "run_scenario"]

_NS_PER_MS = 1_000_000

# Scenario breaker keys -> BreakerConfig fields (durations converted from ms to ns).
_BREAKER_FIELDS: dict[str, tuple[str, bool]] = {
    "windowSize": ("window_size", False),
    "minimumCalls": ("minimum_calls", False),
    "failureRateThreshold": ("failure_rate_threshold", False),
    "slowCallDurationMs": ("slow_call_duration_ns", True),
    "slowCallRateThreshold": ("slow_call_rate_threshold", False),
    "openDurationMs": ("open_duration_ns", True),
    "backoffMultiplier": ("backoff_multiplier", False),
    "maxOpenDurationMs": ("max_open_duration_ns", True),
    "halfOpenProbes": ("half_open_probes", False),
}

_BREAKER_EVENT_PREFIX = "hookwire.breaker."


def _ns(ms: float) -> int:
    return round(ms * _NS_PER_MS)


@dataclass(slots=True)
class RunResult:
    """The outcome of one scenario on one driver."""

    scenario: str
    driver: str
    failures: list[str] = field(default_factory=list)
    #: Why the scenario did not run on this driver (empty: it ran).
    skipped: str = ""

    @property
    def passed(self) -> bool:
        return not self.failures


#: Why a synchronous session skips a scenario with a `concurrently` step.
CONCURRENCY_UNSUPPORTED = (
    "concurrent steps need an asynchronous entry point: this adapter runs executions with the "
    "synchronous Executor.execute, one call at a time, so calls cannot be in flight together"
)


class Unsupported(Exception):
    """The driver cannot run this scenario (the reason says why); reported as skipped."""


class StepFailed(Exception):
    """A step's expectations were not met (carries every difference found in it)."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        super().__init__("\n".join(lines))


def breaker_config(overrides: dict[str, Any]) -> BreakerConfig:
    """The default BreakerConfig with a scenario's overrides applied."""
    changes: dict[str, Any] = {}
    for key, value in overrides.items():
        name, is_ms = _BREAKER_FIELDS[key]
        changes[name] = _ns(value) if is_ms else value
    return dataclasses.replace(BreakerConfig.default(), **changes)


class _Run:
    """State of one scenario run on one driver."""

    def __init__(self, scenario: Scenario, driver: Driver) -> None:
        self.scenario = scenario
        self.clock = VirtualClock()
        self.log = CallLog()
        self.registry = Registry()
        self.monitor = PerformanceMonitor(self.clock)
        # A driver may put the run on a bus of its own (another transport), with what to call
        # after a publish so that the subscribers have been offered it.
        bus_for = getattr(driver, "bus_for", None)
        settle: Callable[[], None]
        if bus_for is None:
            self.bus, settle = make_bus(scenario.bus, self.clock), _settled
        else:
            self.bus, settle = bus_for(scenario, self.clock)
        self.bus_steps = BusSteps(self.bus, settle)
        self.executor = Executor(
            self.registry,
            clock=self.clock,
            monitor=self.monitor,
            events=RuntimeEvents(self.log, self.bus, settle),
            observers=[HookCalls()],
        )
        self.env = HookEnv(self.clock, self.log, self.executor, self.bus, settle=settle)
        self.env.concurrent = any("concurrently" in s for s in scenario.steps)
        self.session: DriverSession = driver.open(self.env)
        self.hook_defs = {h.name: h for top in scenario.hooks for h in top.walk()}
        self.bus_steps.hook_names = set(self.hook_defs)
        self.env.language_of = lambda name: self.session.language_for(self.hook_defs[name])

    # -- hooks ---------------------------------------------------------------------------------

    def build(self, hook: HookDef) -> Any:
        """A registrable hook for `hook`: the driver's hook, or a runtime Composite."""
        comp = hook.composite
        if comp is None:
            return self.session.build_hook(hook)
        children = [(self.spec(c), self.build(c)) for c in comp.children]
        options: dict[str, Any] = {}
        if comp.threshold is not None:
            options["threshold"] = comp.threshold
        if comp.tie_breaker is not None:
            options["tie_breaker"] = TieBreaker[comp.tie_breaker]
        return Composite(CompositeKind[comp.kind], children, **options)

    def spec(self, hook: HookDef) -> HookSpec:
        return HookSpec(
            name=hook.name,
            point=hook.point,
            priority=hook.priority,
            language=self.session.language_for(hook),
            timeout_ns=_ns(hook.timeout_ms),
            failure_policy=FailurePolicy[hook.failure_policy],
            breaker=breaker_config(hook.breaker),
            enabled=hook.enabled,
            tags=frozenset(hook.tags),
            feature=hook.feature,
        )

    def register(self, hook: HookDef) -> None:
        self.registry.register(
            self.build(hook),
            name=hook.name,
            point=hook.point,
            priority=hook.priority,
            language=self.session.language_for(hook),
            timeout_ms=hook.timeout_ms,
            failure_policy=FailurePolicy[hook.failure_policy],
            breaker=breaker_config(hook.breaker),
            tags=hook.tags,
            feature=hook.feature,
            enabled=hook.enabled,
            honours=hook.honours,
        )

    # -- steps ---------------------------------------------------------------------------------

    def run(self) -> list[str]:
        if self.env.concurrent and not hasattr(self.session, "execute_concurrently"):
            raise Unsupported(CONCURRENCY_UNSUPPORTED)
        try:
            for h in self.scenario.hooks:
                if h.registered:
                    self.register(h)
        except Exception as e:  # the runtime refused or crashed: a failure, with its type
            return [f"registering the scenario's hooks raised {type(e).__name__}: {e}"]
        opened = self.bus_steps.open_subscriptions(list(self.scenario.subscriptions))
        if opened:
            return opened
        for i, step in enumerate(self.scenario.steps):
            where = f"steps[{i}]"
            try:
                published_from = len(self.log.published)
                self.step(step, where)
                after = [
                    *self.bus_steps.after_step(),
                    *self.check_source_languages(self.log.published[published_from:]),
                ]
                if after:
                    raise StepFailed(after)
            except StepFailed as f:
                return [f"{where} ({_describe(step)}):", *("  " + line for line in f.lines)]
            except Unsupported:
                raise
            except Exception as e:  # a crash in the runtime is a failure, with its type
                return [f"{where} ({_describe(step)}): raised {type(e).__name__}: {e}"]
            if self.log.problems:
                return [f"{where} ({_describe(step)}):", *("  " + p for p in self.log.problems)]
        return self.bus_steps.finish()

    def step(self, step: dict[str, Any], where: str) -> None:
        if "execute" in step:
            self.execute_step(step, where)
        elif "concurrently" in step:
            self.concurrent_step(step, where)
        elif "run" in step:
            _raise_if(run_step(self.session, self.clock, step, f"{where}.expect"))
        elif "advanceMs" in step:
            self.clock.advance_ms(step["advanceMs"])
        elif "check" in step:
            diffs: list[Difference] = []
            self.check_state(step["check"], f"{where}.check", diffs)
            _raise_if(diffs)
        elif "setFeature" in step:
            self.registry.set_feature(step["setFeature"]["feature"], step["setFeature"]["enabled"])
        elif any(k in step for k in BUS_STEPS):
            _raise_if([], lines=self.bus_steps.step(step))
        else:
            self.registry_step(step, where)

    def check_source_languages(self, published: list[tuple[str, str, int]]) -> list[str]:
        """A hook's events carry the language the hook is written in (SEMANTICS 9)."""
        out = []
        for hook, language, seq in published:
            built_in = self.session.language_for(self.hook_defs[hook])
            if language != built_in:
                out.append(
                    f"event {seq} published by hook {hook!r} says source language "
                    f"{language!r}, but the hook is written in {built_in!r}"
                )
        return out

    def registry_step(self, step: dict[str, Any], where: str) -> None:
        expect_error = step.get("expectError")
        try:
            if "resetBreaker" in step:
                self.executor.reset_breaker(step["resetBreaker"])
            elif "enable" in step:
                self.registry.enable(step["enable"])
            elif "disable" in step:
                self.registry.disable(step["disable"])
            elif "unregister" in step:
                self.registry.unregister(step["unregister"])
            elif "register" in step:
                self.register(self.scenario.hook(step["register"]))
        except HookwireError as e:
            if expect_error is None:
                raise
            lines = []
            if e.code != expect_error["code"]:
                lines.append(f"error code: expected {expect_error['code']}, got {e.code} ({e})")
            if expect_error.get("messageContains", "") not in str(e):
                lines.append(
                    f"error message: expected to contain {expect_error['messageContains']!r},"
                    f" got {str(e)!r}"
                )
            if lines:
                raise StepFailed(lines) from e
            return
        if expect_error is not None:
            raise StepFailed([f"expected error {expect_error['code']}, but the step succeeded"])

    def execute_step(self, step: dict[str, Any], where: str) -> None:
        spec = step["execute"]
        seen_from = len(self.log.seen)
        nested_from = len(self.log.nested_runs)
        events_from = len(self.log.events)
        refusals_from = len(self.log.refusals)
        calls_before = dict(self.log.calls)
        execution: Execution | None = None
        for _ in range(step.get("repeat", 1)):
            seen_from = len(self.log.seen)
            ctx = self.env.context(spec["point"], spec.get("context", {}))
            execution = self.session.execute(spec["point"], ctx)
        assert execution is not None
        diffs: list[Difference] = []
        expect = step.get("expect", {})
        self.check_execution(expect, execution, f"{where}.expect", diffs)
        if "seen" in expect:
            self.check_seen(
                expect["seen"], self.log.seen[seen_from:], f"{where}.expect.seen", diffs
            )
        self.check_state(expect, f"{where}.expect", diffs)
        if "breakerEvents" in expect:
            self.check_breaker_events(
                expect["breakerEvents"], self.log.events[events_from:], f"{where}.expect", diffs
            )
        self.check_refusals(calls_before, self.log.refusals[refusals_from:], where, diffs)
        for k, run in enumerate(self.log.nested_runs[nested_from:]):
            npath = f"{where}.nested[{k}] (by {run.hook})"
            if run.spec.refused is not None:
                _check_refusal(run.spec.refused, run.outcome, npath, diffs)
            elif isinstance(run.outcome, BaseException):
                diffs.append(Difference(npath, "an execution", f"raised {run.outcome!r}"))
            else:
                self.check_execution(run.spec.expect, run.outcome, npath + ".expect", diffs)
        _raise_if(diffs, execution)

    def concurrent_step(self, step: dict[str, Any], where: str) -> None:
        """Start every execution of the step together and let them run to the end with their
        calls in flight at once (SEMANTICS 5 HALF_OPEN probes, 6 PARALLEL); then check each
        execution's expectations and the step's state expectations."""
        run = getattr(self.session, "execute_concurrently", None)
        if run is None:
            raise Unsupported(CONCURRENCY_UNSUPPORTED)
        items: list[dict[str, Any]] = step["concurrently"]
        calls = [
            (
                i["execute"]["point"],
                self.env.context(i["execute"]["point"], i["execute"].get("context", {})),
            )
            for i in items
        ]
        executions: list[Execution] = run(calls)
        diffs: list[Difference] = []
        for k, (item, execution) in enumerate(zip(items, executions, strict=True)):
            self.check_execution(
                item.get("expect", {}), execution, f"{where}.concurrently[{k}].expect", diffs
            )
        self.check_state(step.get("expect", {}), f"{where}.expect", diffs)
        if diffs:
            lines = [str(d) for d in diffs]
            for k, execution in enumerate(executions):
                lines.append(
                    f"execution {k}: result {result_to_json(execution.result)}, trace "
                    + ", ".join(f"{e.hook_name}:{e.outcome}({e.reason})" for e in execution.trace)
                )
            raise StepFailed(lines)

    # -- expectations --------------------------------------------------------------------------

    def check_refusals(
        self,
        calls_before: dict[str, int],
        reported: list[Refusal],
        where: str,
        out: list[Difference],
    ) -> None:
        """Every publish a call step of this execute expects `refused` was refused, in the
        hook's own language, with the code (where the language's error carries one) and text."""
        expected: list[tuple[str, dict[str, Any]]] = []
        for name, count in self.log.calls.items():
            behaviour = self.hook_defs[name].behaviour if name in self.hook_defs else None
            if behaviour is None:
                continue
            for n in range(calls_before.get(name, 0), count):
                for event in behaviour.step_for(n).publish:
                    if "refused" in event:
                        expected.append((name, event))
        left = list(reported)
        for name, event in expected:
            path = f"{where}.refused ({name} publishing {event['type']!r})"
            got = next((r for r in left if r.hook == name and r.type == event["type"]), None)
            if got is None:
                out.append(Difference(path, f"refused {event['refused']}", "not refused"))
                continue
            left.remove(got)
            want = event["refused"]
            if got.code and "code" in want and got.code != want["code"]:
                out.append(Difference(f"{path}.code", want["code"], f"{got.code} ({got.message})"))
            if want.get("messageContains", "") not in got.message:
                out.append(
                    Difference(
                        f"{path}.message", f"contains {want['messageContains']!r}", got.message
                    )
                )
        for r in left:
            out.append(Difference(f"{where}.refused ({r.hook})", "no refusal", f"{r}"))

    def check_execution(
        self, expect: dict[str, Any], execution: Execution, path: str, out: list[Difference]
    ) -> None:
        if "result" in expect:
            json_diff(
                normalize_result(expect["result"]),
                normalize_result(result_to_json(execution.result)),
                f"{path}.result",
                out,
            )
        if "data" in expect:
            json_diff(expect["data"], execution.context.data, f"{path}.data", out)
        if "trace" in expect:
            self.check_trace(expect["trace"], execution, f"{path}.trace", out)

    def check_trace(
        self, expected: list[dict[str, Any]], execution: Execution, path: str, out: list[Difference]
    ) -> None:
        actual = [_trace_json(e) for e in execution.trace]
        if len(actual) != len(expected):
            out.append(
                Difference(
                    f"{path} (length)",
                    [f"{e['hook']}:{e['outcome']}" for e in expected],
                    [f"{a['hook']}:{a['outcome']}" for a in actual],
                )
            )
        for i, (e, a) in enumerate(zip(expected, actual, strict=False)):
            p = f"{path}[{i}]"
            for key in ("hook", "outcome", "reason", "slow", "breaker"):
                if key in e and not json_equal(e[key], a[key]):
                    out.append(Difference(f"{p}.{key}", e[key], a[key]))
            if "reasonContains" in e and e["reasonContains"] not in a["reason"]:
                out.append(
                    Difference(f"{p}.reason", f"contains {e['reasonContains']!r}", a["reason"])
                )
            if "durationMs" in e and _ns(e["durationMs"]) != a["durationNs"]:
                out.append(
                    Difference(f"{p}.durationMs", e["durationMs"], a["durationNs"] / _NS_PER_MS)
                )

    def check_breaker_events(
        self,
        expected: list[dict[str, Any]],
        events: list[tuple[str, dict[str, Any]]],
        path: str,
        out: list[Difference],
    ) -> None:
        actual = [
            {
                "type": t,
                "hook": p.get("hook"),
                "failureRate": p.get("failure_rate"),
                "slowRate": p.get("slow_rate"),
                "openDurationMs": p.get("open_duration_ms"),
            }
            for t, p in events
            if t.startswith(_BREAKER_EVENT_PREFIX)
        ]
        if len(actual) != len(expected):
            out.append(
                Difference(
                    f"{path}.breakerEvents (length)",
                    [f"{e['type']}:{e['hook']}" for e in expected],
                    [f"{a['type']}:{a['hook']}" for a in actual],
                )
            )
        for i, (e, a) in enumerate(zip(expected, actual, strict=False)):
            for key, value in e.items():
                json_diff(value, a[key], f"{path}.breakerEvents[{i}].{key}", out, strict=False)

    def check_seen(
        self,
        expected: dict[str, list[dict[str, Any]]],
        seen: list[SeenContext],
        path: str,
        out: list[Difference],
    ) -> None:
        for hook, contexts in expected.items():
            actual = [s.to_json() for s in seen if s.hook == hook]
            # What each language received, compared as strictly as that language can tell.
            strict = number_types_observable(self.session.language_for(self.hook_defs[hook]))
            if len(actual) != len(contexts):
                out.append(Difference(f"{path}.{hook} (count)", len(contexts), len(actual)))
            for i, (e, a) in enumerate(zip(contexts, actual, strict=False)):
                for key, value in e.items():
                    json_diff(value, a[key], f"{path}.{hook}[{i}].{key}", out, strict)

    def check_state(self, expect: dict[str, Any], path: str, out: list[Difference]) -> None:
        for name, want in expect.get("breakers", {}).items():
            try:
                status = self.executor.breaker(name).status()
            except HookwireError as e:
                out.append(Difference(f"{path}.breakers.{name}", want, f"error {e}"))
                continue
            have = {
                "state": str(status.state),
                "windowCalls": status.window_calls,
                "windowFailures": status.window_failures,
                "windowSlow": status.window_slow,
                "currentOpenDurationMs": status.current_open_duration_ns / _NS_PER_MS,
                "probesInFlight": status.probes_in_flight,
                "goodProbes": status.good_probes,
            }
            for key, value in want.items():
                json_diff(value, have[key], f"{path}.breakers.{name}.{key}", out, strict=False)
        for name, want in expect.get("monitor", {}).items():
            try:
                stats = self.monitor.stats(name)
                have = {
                    "count": stats.count,
                    "failures": stats.failures,
                    "errors": stats.errors,
                    "timeouts": stats.timeouts,
                    "skipped": stats.skipped,
                    "slow": stats.slow,
                }
            except NotFound:  # nothing recorded for this hook yet
                have = dict.fromkeys(
                    ("count", "failures", "errors", "timeouts", "skipped", "slow"), 0
                )
            for key, value in want.items():
                json_diff(value, have[key], f"{path}.monitor.{name}.{key}", out, strict=False)
        for name, n in expect.get("calls", {}).items():
            json_diff(n, self.log.calls.get(name, 0), f"{path}.calls.{name}", out, strict=False)


def _trace_json(e: Any) -> dict[str, Any]:
    return {
        "hook": e.hook_name,
        "outcome": str(e.outcome),
        "reason": e.reason,
        "durationNs": e.duration_ns,
        "slow": e.slow,
        "breaker": str(e.breaker_state),
    }


def _raise_if(
    diffs: list[Difference], execution: Execution | None = None, lines: list[str] | None = None
) -> None:
    if not diffs and not lines:
        return
    lines = [*(lines or ()), *(str(d) for d in diffs)]
    if execution is not None:
        lines.append(f"actual result: {result_to_json(execution.result)}")
        lines.append(f"actual data:   {execution.context.data}")
        lines.append("actual trace:")
        for e in execution.trace:
            t = _trace_json(e)
            lines.append(
                f"  {t['hook']}: {t['outcome']} reason={t['reason']!r}"
                f" durationMs={t['durationNs'] / _NS_PER_MS} slow={t['slow']}"
                f" breaker={t['breaker']}"
            )
    raise StepFailed(lines)


def _describe(step: dict[str, Any]) -> str:
    if "execute" in step:
        return f"execute {step['execute']['point']}"
    if "concurrently" in step:
        return f"concurrently x{len(step['concurrently'])}"
    if "run" in step:
        return f"run {step['run']['operation']}"
    key = next(k for k in step if k not in ("comment", "expectError", "expectSequence", "blocks"))
    value = step[key]
    return f"{key} {value}" if isinstance(value, (str, int, float)) else key


def _settled() -> None:
    """After a publish on the in-process bus: nothing to wait for."""


def run_scenario(scenario: Scenario, driver: Driver) -> RunResult:
    """Run `scenario` on a fresh executor with `driver`'s hooks; failures say what differed."""
    result = RunResult(scenario.id, driver.name)
    try:
        run = _Run(scenario, driver)
    except Unsupported as e:
        result.skipped = str(e)
        return result
    except Exception as e:
        result.failures.append(f"setting up the run raised {type(e).__name__}: {e}")
        return result
    try:
        result.failures.extend(run.run())
    except Unsupported as e:
        result.skipped = str(e)
    finally:
        run.session.close()
        run.bus.close()  # releases a publish still waiting, if a step failed early
    return result


def _check_refusal(
    want: dict[str, Any], outcome: Execution | BaseException, path: str, out: list[Difference]
) -> None:
    """A nested execution the step expects to be refused was refused with that error."""
    if not isinstance(outcome, HookwireError):
        got = f"raised {outcome!r}" if isinstance(outcome, BaseException) else "an execution"
        out.append(Difference(f"{path}.refused", f"refused {want}", got))
        return
    if "code" in want and outcome.code != want["code"]:
        out.append(Difference(f"{path}.refused.code", want["code"], f"{outcome.code} ({outcome})"))
    if want.get("messageContains", "") not in str(outcome):
        out.append(
            Difference(
                f"{path}.refused.message", f"contains {want['messageContains']!r}", str(outcome)
            )
        )
