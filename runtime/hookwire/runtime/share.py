"""Where the non-Python files the runtime needs live: the Lua SDK, the generated Lua modules and
the host halves of the Lua sandbox.

In a checkout (editable install) the first two are the repository's `sdk/lua` and
`generated/lua`; a wheel ships copies under `hookwire/runtime/_share/` (see pyproject.toml
`force-include`). The sandbox halves (`sandbox.lua`, `convert.lua`) live in the
`hookwire.runtime.lua` package itself, in both.

`HOOKWIRE_LUA_DIST` names an unpacked Lua distribution (`hookwire-lua-VERSION.tar.gz`, in the
repository's layout) to take all three from instead: the release gate runs the conformance
matrix's Lua columns on the artefact users install that way.

Example:
    >>> (sdk_lua_dir() / "hookwire.lua").is_file()
    True
    >>> (generated_lua_dir() / "hookwire" / "pb.lua").is_file()
    True
    >>> (lua_host_dir() / "sandbox.lua").is_file()
    True
"""

from __future__ import annotations

import os
from pathlib import Path

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


def sdk_lua_dir() -> Path:
    """The folder holding `hookwire.lua` (the Lua SDK) and `worker.lua`."""
    return _pick("sdk", "lua")


def generated_lua_dir() -> Path:
    """The root of the generated Lua modules (`hookwire/pb.lua`, `hookwire/v1/*.lua`, ...)."""
    return _pick("generated", "lua")


def lua_host_dir() -> Path:
    """The folder holding `sandbox.lua` and `convert.lua`, which the embedded runtime and the
    out-of-process worker (`worker.lua --sandbox-dir`) both build their sandbox from."""
    dist = _dist("runtime", "hookwire", "runtime", "lua")
    return dist if dist is not None else _HERE / "lua"
