"""The drivers the runner knows, by name (the `--adapters` values).

Example:
    >>> DRIVERS["py-sync"]().name
    'py-sync'
"""

from __future__ import annotations

from collections.abc import Callable

from hookwire.conformance.driver import Driver
from hookwire.conformance.jetstream import JetStreamDriver
from hookwire.conformance.js_remote import JsRemoteDriver
from hookwire.conformance.lua_embedded import LuaEmbeddedDriver
from hookwire.conformance.lua_process import LuaProcessDriver
from hookwire.conformance.mixed import MixedDriver
from hookwire.conformance.py_async import PyAsyncDriver
from hookwire.conformance.py_remote import PyRemoteDriver
from hookwire.conformance.py_sync import PySyncDriver

__all__ = ["DRIVERS"]

DRIVERS: dict[str, Callable[[], Driver]] = {
    "py-sync": PySyncDriver,
    "py-async": PyAsyncDriver,
    "js-remote": JsRemoteDriver,
    "lua": LuaEmbeddedDriver,
    "lua-process": LuaProcessDriver,
    "py-remote": PyRemoteDriver,
    "mixed": MixedDriver,
    # The bus scenarios on a NATS JetStream transport (hookwire.conformance.jetstream).
    "jetstream": JetStreamDriver,
}
