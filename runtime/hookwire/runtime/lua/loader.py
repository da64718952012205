"""Load Lua hook files into a sandbox and register their hooks.

Each file calls `hookwire.register(point, fn, opts)` at its top level; every call becomes one
hook: name `opts.name` or "file:line", priority, timeout_ms, failure_policy, tags, feature,
enabled from `opts`, language "lua".

Example:
    >>> import tempfile, pathlib
    >>> from hookwire.runtime.registry import Registry
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "audit.lua").write_text(
    ...     'hookwire.register("session_start", function(ctx) end, {name = "audit", priority = 5})')
    >>> [spec] = load_lua_hooks(d, Registry(), LuaSandbox())
    >>> spec.name, spec.priority, spec.language
    ('audit', 5, 'lua')
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hookwire.runtime.errors import HookwireError, InvalidArgument
from hookwire.runtime.lua.adapter import LuaHookAdapter
from hookwire.runtime.lua.sandbox import LuaLoadError, LuaRegistration, LuaSandbox
from hookwire.runtime.registry import HookSpec, Registry

__all__ = ["LuaLoadError", "load_lua_hooks", "read_lua_hooks"]


def _files(path: Path) -> list[tuple[Path, str]]:
    if path.is_dir():
        return [(p, p.relative_to(path).as_posix()) for p in sorted(path.rglob("*.lua"))]
    if path.is_file():
        return [(path, path.name)]
    raise InvalidArgument("path", f"{path} is neither a Lua file nor a directory")


def read_lua_hooks(
    path: str | Path, sandbox: LuaSandbox
) -> list[tuple[LuaRegistration, LuaHookAdapter]]:
    """Load a `.lua` file, or every `.lua` file under a directory (sorted; messages name files
    relative to it), and return each registration with its adapter, without registering."""
    out: list[tuple[LuaRegistration, LuaHookAdapter]] = []
    for file, chunkname in _files(Path(path)):
        for reg in sandbox.load_file(file, chunkname):
            out.append((reg, LuaHookAdapter(sandbox, reg.fn, name=reg.name)))
    return out


def load_lua_hooks(path: str | Path, registry: Registry, sandbox: LuaSandbox) -> list[HookSpec]:
    """Load Lua hook files (see `read_lua_hooks`) and register their hooks in `registry`.

    All or nothing: if a file fails to load or a registration is refused (a taken name, an
    unknown point), the hooks registered by this call are removed again and the error is
    raised with the "file:line" of the offending register() call in its reason, e.g.
    "name: hooks/a.lua:2: a hook named 'audit' is already registered".
    """
    loaded = read_lua_hooks(path, sandbox)
    specs: list[HookSpec] = []
    try:
        for reg, adapter in loaded:
            kwargs: dict[str, Any] = {}
            if reg.timeout_ms is not None:
                kwargs["timeout_ms"] = reg.timeout_ms
            try:
                specs.append(
                    registry.register(
                        adapter,
                        name=reg.name,
                        point=reg.point,
                        priority=reg.priority,
                        language="lua",
                        failure_policy=reg.failure_policy,
                        tags=reg.tags,
                        feature=reg.feature,
                        enabled=reg.enabled,
                        **kwargs,
                    )
                )
            except HookwireError as exc:
                # Same type and field; the reason gains the "file:line" of the register() call.
                reason = f"{reg.where}: {exc.reason}"
                if exc.field:
                    raise type(exc)(exc.field, reason) from None
                raise type(exc)(reason) from None
    except BaseException:
        for spec in specs:
            registry.unregister(spec.name)
        raise
    return specs
