"""The `py-remote` driver: behaviours become `async def` hooks on the Python SDK's `Worker` in
a separate Python process (`hookwire.conformance.py_worker`), called through the gRPC
executor service's worker protocol on the run's virtual clock. It is the generic worker driver
(`worker_cmd.py`, the testee protocol of conformance/README.md) run with that program, the
same contract `js-remote` and any other language's worker follow.

Example:
    >>> PyRemoteDriver().name
    'py-remote'
"""

from __future__ import annotations

import sys

from hookwire.conformance.worker_cmd import WorkerCmdDriver

__all__ = ["PY_COMMAND", "PyRemoteDriver"]

#: The testee command of the Python worker (`{address}`: the run's server).
PY_COMMAND = (sys.executable, "-m", "hookwire.conformance.py_worker", "{address}")


class PyRemoteDriver(WorkerCmdDriver):
    """Python hooks in a worker process built with the Python SDK, through the gRPC service."""

    def __init__(self) -> None:
        super().__init__(PY_COMMAND, "py-remote")
