"""What the remote drivers (`py-remote`, `js-remote`) share: one hookwire server on 127.0.0.1
whose executor's clock forwards to the current scenario run's VirtualClock.

A remote hook answers with `clock_advance`; the server's `RemoteHookAdapter` advances its clock
by that, and `RunClock` passes it on to the clock the runner's executor measures with, so
durations, `slow` and TIMEOUT are exact. Each scenario run takes a run number from
`RemoteHarness.begin_run` (its hooks are registered as `r<run>.<hook>`, see `run_key`), which
also points the server's clock and the workers' publish frames at that run's clock and bus.

Example:
    >>> clock = RunClock()
    >>> clock.advance_ms(5)
    >>> clock.target.monotonic_ns()
    5000000
    >>> run_key(3, "audit")
    'r3.audit'
"""

from __future__ import annotations

import contextlib
import itertools

from hookwire.conformance.driver import HookEnv
from hookwire.runtime.clock import VirtualClock
from hookwire.runtime.server.config import ServerConfig
from hookwire.runtime.server.server import ServerThread

__all__ = ["GUARD_S", "RemoteHarness", "RunClock", "run_key"]

# Real-time bound on one remote call (virtual time does not pass while the executor waits).
GUARD_S = 30.0


class RunClock(VirtualClock):
    """The server's clock: forwards to the current scenario run's VirtualClock, so a remote
    hook's `clock_advance` moves exactly the clock the runner's executor measures with."""

    __slots__ = ("target",)

    def __init__(self) -> None:
        super().__init__()
        self.target = VirtualClock()

    def monotonic_ns(self) -> int:
        return self.target.monotonic_ns()

    def time_ns(self) -> int:
        return self.target.time_ns()

    def advance(self, ns: int) -> None:
        self.target.advance(ns)

    def advance_ms(self, ms: float) -> None:
        self.target.advance_ms(ms)

    def sleep(self, seconds: float) -> None:
        self.target.sleep(seconds)

    async def asleep(self, seconds: float) -> None:
        await self.target.asleep(seconds)


def run_key(run: int, hook: str) -> str:
    """The name a scenario hook is registered under on the server: unique to its run."""
    return f"r{run}.{hook}"


class RemoteHarness:
    """The server a remote driver's sessions share (started by the constructor); subclasses
    add the worker that serves the hooks."""

    def __init__(self) -> None:
        self.clock = RunClock()
        self.server = ServerThread(
            config=ServerConfig(port=0, virtual_call_guard_s=GUARD_S, shutdown_grace_s=1.0),
            clock=self.clock,
        )
        self.address = self.server.start()
        self.runs = itertools.count(1)

    def begin_run(self, env: HookEnv) -> int:
        """The next run's number; the server's clock and the hooks' publish frames now go to
        this run's clock and bus (the ones the runner checks)."""
        self.clock.target = env.clock
        server = self.server.server
        assert server is not None
        server.executor_service.bus = env.bus
        return next(self.runs)

    def stop_server(self) -> None:
        with contextlib.suppress(RuntimeError):  # already stopped (atexit after a stop)
            self.server.stop(1.0)
