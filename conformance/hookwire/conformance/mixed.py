"""The `mixed` driver: each scenario's hooks are assigned round-robin to Python (in-process,
`py-sync`), Lua (embedded, `lua`) and JavaScript (node worker, `js-remote`) in one chain.

The session holds one session of each language's driver for the same run (same clock, call
log, executor and bus) and hands each hook to the next language the first time it sees the
hook's name (composite children included, in the order the runner builds them), so
`language_for` and `build_hook` always agree and the registry records the hook's real language.
Scenarios do not assert trace languages, so their expectations hold whatever the assignment;
what a hook publishes carries its own language as `source_language`.

A language whose driver cannot be imported (not installed in this checkout) is left out of the
rotation; `LANGUAGES` says which ones take part.

Example:
    >>> MixedDriver().name
    'mixed'
    >>> "python" in LANGUAGES
    True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hookwire.conformance.driver import DriverSession, HookEnv
from hookwire.conformance.py_sync import PySyncSession
from hookwire.conformance.scenario import HookDef
from hookwire.runtime.context import HookContext
from hookwire.runtime.trace import Execution

__all__ = ["LANGUAGES", "MixedDriver", "MixedSession"]

_FACTORIES: list[tuple[str, Callable[[HookEnv], DriverSession]]] = [("python", PySyncSession)]
try:
    from hookwire.conformance.lua_embedded import LuaEmbeddedSession

    _FACTORIES.append(("lua", LuaEmbeddedSession))
except ImportError:  # pragma: no cover - the lua driver is not in this checkout
    pass
try:
    from hookwire.conformance.js_remote import JsRemoteSession

    _FACTORIES.append(("javascript", JsRemoteSession))
except ImportError:  # pragma: no cover - the js-remote driver is not in this checkout
    pass

LANGUAGES: tuple[str, ...] = tuple(lang for lang, _ in _FACTORIES)


class MixedSession:
    """One session per language for one scenario run; hooks go round-robin."""

    def __init__(self, env: HookEnv) -> None:
        self.env = env
        self.sessions: list[tuple[str, DriverSession]] = []
        try:
            for lang, factory in _FACTORIES:
                self.sessions.append((lang, factory(env)))
        except BaseException:
            self.close()
            raise
        self.assigned: dict[str, int] = {}

    def _index(self, hook: HookDef) -> int:
        i = self.assigned.get(hook.name)
        if i is None:
            i = len(self.assigned) % len(self.sessions)
            self.assigned[hook.name] = i
        return i

    def language_for(self, hook: HookDef) -> str:
        return self.sessions[self._index(hook)][0]

    def build_hook(self, hook: HookDef) -> Any:
        return self.sessions[self._index(hook)][1].build_hook(hook)

    def execute(self, point: str, ctx: HookContext) -> Execution:
        # Every language's hook runs under the synchronous entry point (Python functions,
        # embedded Lua, and the js-remote adapter, which waits for node on this thread).
        return self.env.executor.execute(point, ctx)

    def close(self) -> None:
        for _, session in self.sessions:
            session.close()


class MixedDriver:
    """Python, Lua and JS hooks mixed in one chain, assigned round-robin."""

    name = "mixed"

    def open(self, env: HookEnv) -> MixedSession:
        return MixedSession(env)
