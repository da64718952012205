"""The hooks a configuration file put into a registry, installed and replaced as one unit.

`ConfiguredHooks.apply` runs synchronously on the thread that executes the registry's chains
(the server's event loop), so no execution sees a half-applied file: executions already running
keep the chain (plan) they started with and finish on it, the next ones see the new chain. If a
declaration is refused (a name taken by a worker's hook, an unknown point) the previous hooks
are put back and the ConfigError names the key.

Example:
    >>> from hookwire.runtime.registry import Registry
    >>> reg = Registry()
    >>> hooks = ConfiguredHooks(reg)
    >>> hooks.apply([Declared("hooks.python[0]", lambda ctx: None,
    ...                       {"name": "a", "point": "session_start"})], {}, path="x.toml")
    >>> hooks.names, [e.name for e in reg.chain("session_start")]
    (('a',), ['a'])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from hookwire.runtime.clock import Clock
from hookwire.runtime.config.file import (
    ConfigError,
    Declared,
    HookwireConfig,
    _prefixed,
    declare_hooks,
)
from hookwire.runtime.config.schema import SchemaError
from hookwire.runtime.errors import HookwireError
from hookwire.runtime.registry import Registry

__all__ = ["ConfiguredHooks", "configured_registry"]


class ConfiguredHooks:
    """Tracks which of a registry's hooks came from the configuration file."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.names: tuple[str, ...] = ()
        # Lua sandboxes the current hooks run in (kept alive with them).
        self.sandboxes: list[Any] = []

    def apply(
        self,
        declared: Sequence[Declared],
        features: Mapping[str, bool],
        *,
        path: str | Path,
        sandboxes: Sequence[Any] = (),
    ) -> None:
        """Replace the file's hooks with `declared` and set `features`, all or nothing."""
        reg = self.registry
        old = [(reg.get(n), reg.entry(n).adapter) for n in self.names if n in reg]
        for spec, _adapter in old:
            reg.unregister(spec.name)
        added: list[str] = []
        try:
            for d in declared:
                try:
                    reg.register(d.hook, **d.kwargs)
                except HookwireError as exc:
                    raise ConfigError(
                        path, [SchemaError(_prefixed(d.where, exc), exc.reason)]
                    ) from None
                added.append(d.name)
            for feature, on in features.items():
                reg.set_feature(feature, on)
        except BaseException:
            for name in added:
                reg.unregister(name)
            for spec, adapter in old:
                reg.register_spec(spec, adapter)
            raise
        self.names = tuple(added)
        self.sandboxes = list(sandboxes)


def configured_registry(
    config: HookwireConfig, clock: Clock, *, lua_bus: Any = None
) -> tuple[Registry, ConfiguredHooks]:
    """A new Registry on `clock` holding the file's hooks and features (ConfigError naming
    the key if one is refused), for embedding, checking or replaying a configuration.

    Example:
        >>> from hookwire.runtime.clock import VirtualClock
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "hookwire.toml"
        >>> _ = p.write_text("[features]\\nbeta = true\\n")
        >>> from hookwire.runtime.config.file import load_config
        >>> registry, hooks = configured_registry(load_config(p), VirtualClock())
        >>> registry.feature_enabled("beta"), hooks.names
        (True, ())
    """
    registry = Registry(clock=clock)
    hooks = ConfiguredHooks(registry)
    declared, sandboxes = declare_hooks(config, clock, lua_bus=lua_bus)
    hooks.apply(declared, config.features, path=config.path, sandboxes=sandboxes)
    return registry, hooks
