"""Where the non-Python files the runtime needs live: hookwire's host Lua sources and the
generated Lua modules.

The host Lua sources are one folder, `lua_dir()` (the repository's `sdk/lua`):

- `hookwire.lua`: the module hook files use (`hookwire.register`, results, `publish`...);
- `sandbox.lua`: the environment hook files run in (budget, safe library, `require`);
- `convert.lua`: JSON values between the host and the sandbox (lazy proxies in, tokens out);
- `worker.lua`: the out-of-process worker's loop (frames on stdin/stdout).

The embedded runtime (`hookwire.runtime.lua`) builds its sandbox from the first three; the
worker process runs `worker.lua`, which builds the same sandbox from the same three files
beside it. In a checkout (editable install) the folders are the repository's `sdk/lua` and
`generated/lua`; a wheel ships copies under `hookwire/runtime/_share/` (pyproject.toml
`force-include`).

`HOOKWIRE_LUA_DIST` names an unpacked Lua distribution (`hookwire-lua-VERSION.tar.gz`, in the
repository's layout) to take both from instead: the release gate runs the conformance
matrix's Lua columns on the artefact users install that way.

Example:
    >>> sorted(p.name for p in lua_dir().glob("*.lua"))
    ['convert.lua', 'hookwire.lua', 'sandbox.lua', 'worker.lua']
    >>> (generated_lua_dir() / "hookwire" / "pb.lua").is_file()
    True
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["DIST_ENV", "generated_lua_dir", "lua_dir"]

_HERE = Path(__file__).resolve().parent
DIST_ENV = "HOOKWIRE_LUA_DIST"
_CHECKOUT = _HERE.parents[2]  # runtime/hookwire/runtime -> repository root
_WHEEL = _HERE / "_share"


def _dist(*parts: str) -> Path | None:
    """`parts` inside the distribution HOOKWIRE_LUA_DIST names, or None when it is unset."""
    root = os.environ.get(DIST_ENV)
    if not root:
        return None
    path = Path(root).joinpath(*parts)
    if not path.is_dir():
        raise FileNotFoundError(
            f"{DIST_ENV}={root}: no {'/'.join(parts)} there (expected an unpacked "
            "hookwire-lua tarball)"
        )
    return path


def _pick(*parts: str) -> Path:
    dist = _dist(*parts)
    if dist is not None:
        return dist
    checkout = _CHECKOUT.joinpath(*parts)
    return checkout if checkout.is_dir() else _WHEEL.joinpath(*parts)


def lua_dir() -> Path:
    """The folder of hookwire's host Lua sources: `hookwire.lua`, `sandbox.lua`,
    `convert.lua` and `worker.lua` (see the module doc)."""
    return _pick("sdk", "lua")


def generated_lua_dir() -> Path:
    """The root of the generated Lua modules (`hookwire/pb.lua`, `hookwire/v1/*.lua`, ...)."""
    return _pick("generated", "lua")
