"""arun / Runner.arun take run's / Runner.run's parameters by construction, for users, help()
and type checkers alike.

The type checkers' half is checked by mypy itself (the project's `mypy --strict` covers tests/):
`wrong_keywords_are_type_errors` below carries `# type: ignore[call-arg]` on calls that must be
rejected, and strict mode's `warn_unused_ignores` fails the run if one of them is accepted.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

from hookwire.runtime.builtins.caching import CacheStore
from hookwire.runtime.clock import VirtualClock
from hookwire.runtime.context import HookContext
from hookwire.runtime.executor import Executor
from hookwire.runtime.registry import Registry
from hookwire.runtime.results import Cache, HookResult
from hookwire.runtime.run import OperationRegistry, Runner, RunPoints, arun, run


def test_arun_shows_runs_parameters() -> None:
    assert inspect.signature(arun) == inspect.signature(run)
    assert list(inspect.signature(arun).parameters)[-1] == "context"
    assert inspect.signature(Runner.arun) == inspect.signature(Runner.run)
    runner = Runner(Executor(Registry(), clock=VirtualClock()))
    assert inspect.signature(runner.arun) == inspect.signature(runner.run)


def test_the_twins_keep_their_own_name_doc_and_kind() -> None:
    for twin in (arun, Runner.arun):
        assert twin.__name__ == "arun"
        assert "event loop" in (twin.__doc__ or "") or "Async" in (twin.__doc__ or "")
        assert inspect.iscoroutinefunction(twin)
    assert not inspect.iscoroutinefunction(run)


def test_arun_takes_every_parameter_of_run_by_keyword() -> None:
    def cache_it(ctx: HookContext) -> HookResult:
        return Cache("k", 10**9)

    def kwargs() -> dict[str, Any]:
        reg = Registry()
        reg.register(cache_it, name="cache_it", point="before_agent_execution")
        operations = OperationRegistry()
        operations.register("op", lambda p: p["n"] + 1)
        return {
            "executor": Executor(reg, clock=VirtualClock()),
            "operation": "op",
            "params": {"n": 1},
            "call": None,
            "points": RunPoints.agent(),
            "operations": operations,
            "cache": CacheStore(clock=VirtualClock()),
            "clock": VirtualClock(),
            "context": HookContext("before_agent_execution", correlation_id="corr-1"),
        }

    expected = run(**kwargs())
    got = asyncio.run(arun(**kwargs()))
    assert (got.output, got.source, got.operation, got.attempts) == (2, "operation", "op", 1)
    assert (got.output, got.source, got.operation, got.attempts) == (
        expected.output,
        expected.source,
        expected.operation,
        expected.attempts,
    )
    assert [e.context.correlation_id for e in got.executions] == ["corr-1", "corr-1"]


async def wrong_keywords_are_type_errors(runner: Runner) -> None:
    """Never called: mypy checks that each of these calls is rejected (see the docstring)."""
    await arun(runner.executor, "op", {}, pointz=None)  # type: ignore[call-arg]
    await runner.arun("op", {}, contxt=None)  # type: ignore[call-arg]
    await runner.arun("op", {}, operations=None)  # type: ignore[call-arg]
