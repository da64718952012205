"""The `hookwire.toml` configuration of `hookwire serve` (format: docs/operations.md; schema:
hookwire.schema.json next to this file, `SCHEMA_PATH`).

Example:
    >>> from hookwire.runtime.config import SCHEMA_PATH
    >>> SCHEMA_PATH.name
    'hookwire.schema.json'
"""

from hookwire.runtime.config.file import (
    TRANSPORTS,
    BusSettings,
    ConfigError,
    Declared,
    HookwireConfig,
    declare_hooks,
    load_config,
    register_transport,
)
from hookwire.runtime.config.hooks import ConfiguredHooks, configured_registry
from hookwire.runtime.config.schema import SCHEMA_PATH, SchemaError, schema, validate

__all__ = [
    "SCHEMA_PATH",
    "TRANSPORTS",
    "BusSettings",
    "ConfigError",
    "ConfiguredHooks",
    "Declared",
    "HookwireConfig",
    "SchemaError",
    "configured_registry",
    "declare_hooks",
    "load_config",
    "register_transport",
    "schema",
    "validate",
]
