"""The `js-remote` driver: behaviours become real JS hook functions in a node worker process
(`conformance/js/driver_worker.mjs`, built with the JS SDK), called through the gRPC executor
service's worker protocol on the run's virtual clock. It is the generic worker driver
(`worker_cmd.py`, the testee protocol of conformance/README.md) run with that program, from
the JS source tree (hookwire.conformance.share.js_root).

Example:
    >>> JsRemoteDriver().name
    'js-remote'
"""

from __future__ import annotations

from hookwire.conformance.driver import HookEnv
from hookwire.conformance.share import js_root, js_script
from hookwire.conformance.worker_cmd import (
    WorkerCmdDriver,
    WorkerHarness,
    WorkerSession,
    behaviour_to_json,
)

__all__ = ["WORKER_SCRIPT", "JsRemoteDriver", "JsRemoteSession", "behaviour_to_json", "js_command"]

#: The node side, in the JS source tree (hookwire.conformance.share.js_root).
WORKER_SCRIPT = "conformance/js/driver_worker.mjs"


def js_command() -> tuple[str, ...]:
    """The testee command of the JS worker (`{address}`: the run's server)."""
    return ("node", str(js_script(WORKER_SCRIPT)), "{address}")


class _Harness:
    """The shared node worker of this process (for tests: `_Harness.get().proc.pid`)."""

    @staticmethod
    def get() -> WorkerHarness:
        return WorkerHarness.get(js_command(), "js-remote", js_root())


class JsRemoteSession(WorkerSession):
    """JS hooks of one scenario run."""

    def __init__(self, env: HookEnv) -> None:
        super().__init__(env, _Harness.get())


class JsRemoteDriver(WorkerCmdDriver):
    """JS hooks in a node worker, through the gRPC executor service."""

    def __init__(self) -> None:
        super().__init__(js_command(), "js-remote", js_root())
