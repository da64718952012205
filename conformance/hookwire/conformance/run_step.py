"""The `run` step: one operation wrapped with its before, after and error points (SEMANTICS 7)
by the runtime's `Runner`, with the scenario's hooks in the driver's language at those points.

The operations are host code (the runner's Python functions), each following a list of calls:
`{"returns": value}` or `{"raises": message}` (call n does entry n; after the last, the last
again). The points' executions go through the session's own `execute`, so every adapter's
hooks (sync, async, embedded, out of process) are the ones `run()` consults.

Example:
    >>> ops = ScriptedOperations({"echo": [{"returns": 1}, {"raises": "down"}]})
    >>> ops.fn("echo")({}), ops.calls
    (1, {'echo': 1})
"""

from __future__ import annotations

from typing import Any

from hookwire.conformance.compare import Difference, json_diff
from hookwire.runtime.builtins.caching import CacheStore
from hookwire.runtime.clock import VirtualClock
from hookwire.runtime.context import HookContext
from hookwire.runtime.errors import HookwireError, OperationCancelled
from hookwire.runtime.run import OperationFn, OperationRegistry, Runner, RunPoints
from hookwire.runtime.trace import Execution

__all__ = ["OperationFailed", "ScriptedOperations", "SessionExecutor", "run_step"]


class OperationFailed(RuntimeError):
    """What a scripted operation's `raises` call raises."""


class ScriptedOperations:
    """Operations that follow the scenario's per-call lists, counting their calls."""

    def __init__(self, scripts: dict[str, list[dict[str, Any]]]) -> None:
        self.scripts = scripts
        self.calls: dict[str, int] = {}
        self.params: dict[str, list[dict[str, Any]]] = {}

    def fn(self, name: str) -> OperationFn:
        script = self.scripts[name]

        def operation(params: dict[str, Any]) -> Any:
            n = self.calls.get(name, 0)
            self.calls[name] = n + 1
            self.params.setdefault(name, []).append(params)
            step = script[min(n, len(script) - 1)]
            if "raises" in step:
                raise OperationFailed(step["raises"])
            return step.get("returns")

        return operation


class SessionExecutor:
    """What `Runner` calls for each point: the driver session's own way of executing."""

    def __init__(self, session: Any, clock: VirtualClock) -> None:
        self.session = session
        self.clock = clock

    def execute(self, point: str, ctx: HookContext) -> Execution:
        result: Execution = self.session.execute(point, ctx)
        return result

    async def aexecute(self, point: str, ctx: HookContext) -> Execution:
        raise NotImplementedError("the run step drives Runner.run (synchronous)")


def _points(raw: Any) -> RunPoints:
    if raw is None or raw == "tool":
        return RunPoints.tool()
    if raw == "agent":
        return RunPoints.agent()
    return RunPoints(raw["before"], raw["after"], raw["error"])


def run_step(
    session: Any, clock: VirtualClock, step: dict[str, Any], path: str
) -> list[Difference]:
    """Run the step's operation and compare with its `expect`."""
    spec = step["run"]
    ops = ScriptedOperations(spec["operations"])
    registry = OperationRegistry()
    for name in spec["operations"]:
        registry.register(name, ops.fn(name))
    runner = Runner(
        SessionExecutor(session, clock),
        operations=registry,
        cache=CacheStore(clock),
        clock=clock,
        points=_points(spec.get("points")),
    )
    expect: dict[str, Any] = step.get("expect", {})
    diffs: list[Difference] = []
    actual: dict[str, Any] = {}
    for _ in range(step.get("repeat", 1)):
        actual = {}
        try:
            out = runner.run(spec["operation"], spec.get("params", {}))
        except OperationCancelled as exc:
            actual["cancelled"] = exc.reason
        except OperationFailed as exc:
            actual["raises"] = str(exc)
        except HookwireError as exc:
            actual["error"] = {"code": exc.code, "message": str(exc)}
        else:
            actual.update(
                output=out.output,
                source=out.source,
                operation=out.operation,
                attempts=out.attempts,
                forks=[
                    {"operation": f.operation, "output": f.output}
                    if f.ok
                    else {"operation": f.operation, "raises": str(f.error)}
                    for f in out.forks
                ],
            )
    actual["operationCalls"] = dict(ops.calls)
    actual["operationParams"] = ops.params
    for key, want in expect.items():
        if key == "error":
            got = actual.get("error")
            if (
                got is None
                or got["code"] != want["code"]
                or want.get("messageContains", "") not in got["message"]
            ):
                diffs.append(Difference(f"{path}.error", want, got or "<no error>"))
            continue
        if key not in actual:
            diffs.append(Difference(f"{path}.{key}", want, f"<absent; run gave {actual}>"))
            continue
        json_diff(want, actual[key], f"{path}.{key}", diffs)
    return diffs
