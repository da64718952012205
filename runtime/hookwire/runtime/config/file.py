"""Reading a `hookwire.toml` into a validated HookwireConfig, and turning its hook declarations
into registrations (see docs/operations.md for the format, hookwire.schema.json for its schema).

Every problem is a ConfigError naming the file, the key path and the reason, e.g.
`hookwire.toml: hooks.python[0].import: cannot import module 'myhooks': No module named ...`.
Relative paths in the file (Lua files, token file, TLS files, python_path) are relative to the
file's directory.

Example:
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "hookwire.toml"
    >>> _ = p.write_text('[server]\\nport = "x"\\n')
    >>> try:
    ...     load_config(p)
    ... except ConfigError as exc:
    ...     print(exc.errors)
    [SchemaError('server.port', "must be an integer, got 'x'")]
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hookwire.runtime.breaker import BreakerConfig
from hookwire.runtime.bus.transport import InProcessTransport, Transport
from hookwire.runtime.clock import Clock
from hookwire.runtime.config.schema import SchemaError, validate
from hookwire.runtime.errors import HookwireError
from hookwire.runtime.server.config import ServerConfig

__all__ = [
    "TRANSPORTS",
    "TRANSPORT_MODULES",
    "BusSettings",
    "ConfigError",
    "Declared",
    "HookwireConfig",
    "declare_hooks",
    "load_config",
    "register_transport",
]

_MS = 1_000_000


class ConfigError(HookwireError, code="INVALID_ARGUMENT"):
    """A configuration file is unusable: every violation found, each with its key path."""

    def __init__(self, file: str | Path, errors: list[SchemaError]) -> None:
        self.file = str(file)
        self.errors = errors
        super().__init__("\n".join(f"{self.file}: {e}" for e in errors))


@dataclass(frozen=True, slots=True)
class BusSettings:
    """The `[bus]` table: transport name, retention, rate limit, default subscription capacity."""

    transport: str = "in-process"
    retention: int | None = None
    rate_limit: tuple[float, int] | None = None
    default_capacity: int | None = None
    nats: Mapping[str, Any] = field(default_factory=dict)


# Transport factories by the name `bus.transport` gives. A transport module registers its
# factory at import (`register_transport`); TRANSPORT_MODULES names the module imported the
# first time a file asks for a transport not registered yet. When that import fails (the
# `hookwire[nats]` extra is not installed), the file is refused at load time, naming the key.
TransportFactory = Callable[[BusSettings, Clock], Transport]
TRANSPORTS: dict[str, TransportFactory] = {}
TRANSPORT_MODULES: dict[str, str] = {"nats": "hookwire.runtime.config.nats_transport"}


def register_transport(name: str, factory: TransportFactory) -> None:
    """Make `bus.transport = name` build its transport with `factory(settings, clock)`."""
    TRANSPORTS[name] = factory


def _in_process(settings: BusSettings, clock: Clock) -> Transport:
    if settings.retention is None:
        return InProcessTransport()
    return InProcessTransport(settings.retention)


register_transport("in-process", _in_process)


@dataclass(frozen=True, slots=True)
class HookwireConfig:
    """A validated configuration file (hooks are declared with `declare_hooks`)."""

    path: Path
    server: ServerConfig
    bus: BusSettings
    features: Mapping[str, bool]
    hooks: Mapping[str, Any]
    python_path: tuple[Path, ...] = ()
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"
    # What the file set explicitly in [server] (command-line flags override these).
    server_keys: frozenset[str] = frozenset()

    def transport(self, clock: Clock) -> Transport:
        """The bus transport `bus.transport` names."""
        return TRANSPORTS[self.bus.transport](self.bus, clock)


def _nats_settings(nats: Mapping[str, Any], base: Path) -> Mapping[str, Any]:
    """`[bus.nats]` with its credentials file resolved against the config file's folder."""
    if "creds" not in nats:
        return nats
    return {**nats, "creds": str(base / nats["creds"])}


def _fail(file: Path, path: str, reason: str) -> ConfigError:
    return ConfigError(file, [SchemaError(path, reason)])


def _read_file(file: Path, base: Path, value: str, key: str) -> bytes:
    p = base / value
    try:
        return p.read_bytes()
    except OSError as exc:
        raise _fail(file, key, f"cannot read {str(p)!r}: {exc.strerror}") from None


def load_config(path: str | Path, env: Mapping[str, str] | None = None) -> HookwireConfig:
    """Parse and validate a configuration file (schema, then values); ConfigError if unusable.

    `env` (default os.environ) is where `server.token_env` is looked up.
    """
    file = Path(path)
    env = os.environ if env is None else env
    try:
        text = file.read_bytes().decode("utf-8")
    except OSError as exc:
        raise _fail(file, "", f"cannot read the file: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise _fail(file, "", f"not UTF-8: {exc.reason} at byte {exc.start}") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _fail(file, "", f"not valid TOML: {exc}") from None
    except RecursionError:  # tomllib reads nested arrays and tables recursively
        raise _fail(file, "", "not valid TOML here: nested too deeply to read") from None
    errors = validate(doc)
    if errors:
        raise ConfigError(file, errors)
    base = file.resolve().parent
    srv: dict[str, Any] = doc.get("server", {})
    if "token_env" in srv and "token_file" in srv:
        raise _fail(file, "server.token_file", "give token_env or token_file, not both")
    token: str | None = None
    if "token_env" in srv:
        token = env.get(srv["token_env"]) or None
        if token is None:
            raise _fail(
                file, "server.token_env", f"environment variable {srv['token_env']} is not set"
            )
    elif "token_file" in srv:
        token = _read_file(file, base, srv["token_file"], "server.token_file").decode().strip()
        if not token:
            raise _fail(file, "server.token_file", f"{srv['token_file']} is empty")
    if ("tls_cert" in srv) != ("tls_key" in srv):
        missing = "server.tls_key" if "tls_cert" in srv else "server.tls_cert"
        raise _fail(file, missing, "TLS needs both tls_cert and tls_key")
    kwargs: dict[str, Any] = {
        k: srv[k]
        for k in (
            "host",
            "port",
            "max_message_bytes",
            "max_publish_batch",
            "worker_queue_bytes",
            "worker_queue_messages",
            "max_hooks_per_worker",
            "shutdown_grace_s",
        )
        if k in srv
    }
    if "tls_cert" in srv:
        kwargs["tls_cert_pem"] = _read_file(file, base, srv["tls_cert"], "server.tls_cert")
        kwargs["tls_key_pem"] = _read_file(file, base, srv["tls_key"], "server.tls_key")
    if token is not None:
        kwargs["token"] = token
    if "default_capacity" in doc.get("bus", {}):
        kwargs["default_capacity"] = doc["bus"]["default_capacity"]
    try:
        server = ServerConfig(**kwargs).validated()
    except HookwireError as exc:
        raise _fail(file, f"server.{exc.field}", exc.reason) from None
    b: dict[str, Any] = doc.get("bus", {})
    rl = b.get("rate_limit")
    bus = BusSettings(
        transport=b.get("transport", "in-process"),
        retention=b.get("retention"),
        rate_limit=(float(rl["rate"]), int(rl["burst"])) if rl else None,
        default_capacity=b.get("default_capacity"),
        nats=_nats_settings(b.get("nats", {}), base),
    )
    module = TRANSPORT_MODULES.get(bus.transport)
    if bus.transport not in TRANSPORTS and module is not None:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise _fail(file, "bus.transport", f"{bus.transport!r} needs {exc.name}") from None
    if bus.transport not in TRANSPORTS:
        raise _fail(
            file,
            "bus.transport",
            f"{bus.transport!r} is not available in this installation "
            f"(available: {', '.join(sorted(TRANSPORTS))})",
        )
    return HookwireConfig(
        path=file,
        server=server,
        bus=bus,
        features=dict(doc.get("features", {})),
        hooks=doc.get("hooks", {}),
        python_path=tuple(base / p for p in doc.get("python_path", ())),
        metrics_port=srv.get("metrics_port"),
        metrics_host=srv.get("metrics_host", "127.0.0.1"),
        server_keys=frozenset(srv),
    )


# -- hook declarations -----------------------------------------------------------------------


@dataclass(slots=True)
class Declared:
    """One hook the file declares: where (key path), and `Registry.register` arguments."""

    where: str
    hook: Any
    kwargs: dict[str, Any]

    @property
    def name(self) -> str:
        name: str = self.kwargs["name"]
        return name


def _breaker(d: Mapping[str, Any] | None) -> BreakerConfig | None:
    if d is None:
        return None
    kw = {k: v for k, v in d.items() if not k.endswith("_ms")}
    for k, v in d.items():
        if k.endswith("_ms"):
            kw[k[:-3] + "_ns"] = round(v * _MS)
    return BreakerConfig(**kw)


_COMMON = ("priority", "timeout_ms", "failure_policy", "tags", "feature", "enabled")


def _common(h: Mapping[str, Any]) -> dict[str, Any]:
    kw = {k: h[k] for k in _COMMON if k in h}
    if "breaker" in h:
        kw["breaker"] = _breaker(h["breaker"])
    return kw


def _import(target: str, python_path: tuple[Path, ...]) -> Any:
    module_name, _, attr = target.partition(":")
    for p in reversed(python_path):
        if str(p) not in sys.path:
            sys.path.insert(0, str(p))
    try:
        obj: Any = importlib.import_module(module_name)
    except Exception as exc:
        raise ValueError(f"cannot import module {module_name!r}: {exc}") from None
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ValueError(f"module {module_name!r} has no attribute {attr!r}") from None
    if not callable(obj):
        raise ValueError(f"{target} is not callable")
    return obj


def _prefixed(where: str, exc: HookwireError) -> str:
    """The key path of an error raised while building `where` (its field appended)."""
    if not exc.field:
        return where
    f = exc.field.removeprefix("breaker.")
    return f"{where}.breaker.{f}" if exc.field.startswith("breaker.") else f"{where}.{f}"


def declare_hooks(
    config: HookwireConfig, clock: Clock, *, lua_bus: Any = None
) -> tuple[list[Declared], list[Any]]:
    """Build every hook the file declares (imports Python hooks, loads Lua files, constructs
    built-ins and composites) without registering anything; ConfigError naming the key path.

    Returns the declarations and the Lua sandboxes created (the caller keeps them alive).
    """
    try:
        return _declare(config, clock, lua_bus)
    except _At as at:
        raise _fail(config.path, at.where, at.reason) from None


class _At(Exception):
    def __init__(self, where: str, reason: str) -> None:
        self.where = where
        self.reason = reason


def _declare(
    config: HookwireConfig, clock: Clock, lua_bus: Any
) -> tuple[list[Declared], list[Any]]:
    hooks = config.hooks
    out: list[Declared] = []
    sandboxes: list[Any] = []
    base = config.path.resolve().parent
    for i, h in enumerate(hooks.get("python", ())):
        where = f"hooks.python[{i}]"
        try:
            fn = _import(h["import"], config.python_path)
            kw = {"name": h["name"], "point": h["point"], **_common(h)}
        except ValueError as exc:
            raise _At(f"{where}.import", str(exc)) from None
        except HookwireError as exc:
            raise _At(_prefixed(where, exc), exc.reason) from None
        out.append(Declared(where, fn, kw))
    for i, h in enumerate(hooks.get("lua", ())):
        out.extend(_lua(f"hooks.lua[{i}]", h, base, clock, lua_bus, sandboxes))
    for i, h in enumerate(hooks.get("builtin", ())):
        out.append(_builtin(f"hooks.builtin[{i}]", h, clock))
    for i, h in enumerate(hooks.get("composite", ())):
        out.append(_composite(f"hooks.composite[{i}]", h, clock, config.python_path))
    return out, sandboxes


def _lua(
    where: str, h: Mapping[str, Any], base: Path, clock: Clock, bus: Any, sandboxes: list[Any]
) -> list[Declared]:
    from hookwire.runtime.lua.loader import read_lua_hooks
    from hookwire.runtime.lua.sandbox import LuaSandbox

    sb = h.get("sandbox", {})
    kw: dict[str, Any] = {"clock": clock, "bus": bus}
    if "memory_limit_bytes" in sb:
        kw["memory_limit"] = sb["memory_limit_bytes"]
    for k in ("check_every", "load_timeout_ms", "subscriber_timeout_ms"):
        if k in sb:
            kw[k] = sb[k]
    path = base / h["path"]
    if not path.exists():
        raise _At(f"{where}.path", f"{str(path)!r} does not exist")
    try:
        sandbox = LuaSandbox(**kw)
        loaded = read_lua_hooks(path, sandbox)
    except HookwireError as exc:
        raise _At(f"{where}.path", str(exc)) from None
    except Exception as exc:  # a Lua load error (syntax, runtime error at load)
        raise _At(f"{where}.path", str(exc)) from None
    sandboxes.append(sandbox)
    common = _common(h)
    out: list[Declared] = []
    for reg, adapter in loaded:
        if "point" in h and reg.point != h["point"]:
            raise _At(
                f"{where}.point", f"{reg.where} registers at {reg.point!r}, not {h['point']!r}"
            )
        kwargs: dict[str, Any] = {
            "name": reg.name,
            "point": reg.point,
            "language": "lua",
            "priority": reg.priority,
            "failure_policy": reg.failure_policy,
            "tags": (*reg.tags, *h.get("tags", ())),
            "feature": reg.feature,
            "enabled": reg.enabled,
        }
        if reg.timeout_ms is not None:
            kwargs["timeout_ms"] = reg.timeout_ms
        kwargs.update({k: v for k, v in common.items() if k != "tags"})
        out.append(Declared(f"{where} ({reg.where})", adapter, kwargs))
    return out


def _builtin(where: str, h: Mapping[str, Any], clock: Clock) -> Declared:
    from hookwire.runtime.builtins.logging_hook import LoggingHook
    from hookwire.runtime.builtins.metrics import MetricsHook
    from hookwire.runtime.builtins.rate_limit import RateLimitAction, RateLimitHook

    settings = dict(h.get("settings", {}))
    kind = h["kind"]
    try:
        hook: Any
        if kind == "logging":
            level = settings.get("level")
            if isinstance(level, str):
                resolved = logging.getLevelName(level.upper())
                if not isinstance(resolved, int):
                    raise _At(f"{where}.settings.level", f"unknown logging level {level!r}")
                settings["level"] = resolved
            hook = LoggingHook(clock, **settings)
        elif kind == "rate_limit":
            if "action" in settings:
                try:
                    settings["action"] = RateLimitAction(settings["action"])
                except ValueError:
                    choices = ", ".join(a.value for a in RateLimitAction)
                    raise _At(
                        f"{where}.settings.action",
                        f"must be one of {choices}, got {settings['action']!r}",
                    ) from None
            hook = RateLimitHook(clock, **settings)
        else:
            if settings:
                raise _At(f"{where}.settings", "the metrics built-in takes no settings")
            hook = MetricsHook(clock)
        kw = {"name": h["name"], "point": h["point"], **_common(h)}
    except TypeError as exc:
        raise _At(f"{where}.settings", f"not a setting of {kind}: {exc}") from None
    except HookwireError as exc:
        raise _At(
            f"{where}.settings.{exc.field}" if exc.field else f"{where}.settings", exc.reason
        ) from None
    return Declared(where, hook, kw)


def _composite(
    where: str, h: Mapping[str, Any], clock: Clock, python_path: tuple[Path, ...]
) -> Declared:
    from hookwire.runtime.composite import Composite, child

    children = []
    for j, c in enumerate(h["children"]):
        cw = f"{where}.children[{j}]"
        try:
            fn = _import(c["import"], python_path)
        except ValueError as exc:
            raise _At(f"{cw}.import", str(exc)) from None
        kw = {k: c[k] for k in ("timeout_ms", "failure_policy", "tags", "enabled") if k in c}
        try:
            children.append(child(fn, name=c["name"], breaker=_breaker(c.get("breaker")), **kw))
        except HookwireError as exc:
            raise _At(_prefixed(cw, exc), exc.reason) from None
    extra = {k: h[k] for k in ("threshold", "tie_breaker") if k in h}
    try:
        comp = Composite(h["kind"], children, clock=clock, **extra)
        kw = {"name": h["name"], "point": h["point"], **_common(h)}
    except HookwireError as exc:
        raise _At(_prefixed(where, exc), exc.reason) from None
    return Declared(where, comp, kw)
