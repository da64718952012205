"""The `js-remote` driver: behaviours become real JS hook functions in a node worker process
(`conformance/js/driver_worker.mjs`, built with the JS SDK), called through the gRPC executor
service's worker protocol on the run's virtual clock. It is the generic worker driver
(`worker_cmd.py`, the testee protocol of conformance/README.md) run with that program.

Example:
    >>> JsRemoteDriver().name
    'js-remote'
"""

from __future__ import annotations

from hookwire.conformance.driver import HookEnv
from hookwire.conformance.worker_cmd import (
    REPO,
    WorkerCmdDriver,
    WorkerHarness,
    WorkerSession,
    behaviour_to_json,
)

__all__ = ["JS_COMMAND", "WORKER_SCRIPT", "JsRemoteDriver", "JsRemoteSession", "behaviour_to_json"]

WORKER_SCRIPT = REPO / "conformance" / "js" / "driver_worker.mjs"
#: The testee command of the JS worker (`{address}`: the run's server).
JS_COMMAND = ("node", str(WORKER_SCRIPT), "{address}")


class _Harness:
    """The shared node worker of this process (for tests: `_Harness.get().proc.pid`)."""

    @staticmethod
    def get() -> WorkerHarness:
        return WorkerHarness.get(JS_COMMAND, "js-remote")


class JsRemoteSession(WorkerSession):
    """JS hooks of one scenario run."""

    def __init__(self, env: HookEnv) -> None:
        super().__init__(env, _Harness.get())


class JsRemoteDriver(WorkerCmdDriver):
    """JS hooks in a node worker, through the gRPC executor service."""

    def __init__(self) -> None:
        super().__init__(JS_COMMAND, "js-remote")
