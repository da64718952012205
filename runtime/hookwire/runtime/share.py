"""Where the non-Python files the runtime needs live: the Lua SDK and the generated Lua modules.

In a checkout (editable install) they are the repository's `sdk/lua` and `generated/lua`; a
wheel ships copies under `hookwire/runtime/_share/` (see pyproject.toml `force-include`).

Example:
    >>> (sdk_lua_dir() / "hookwire.lua").is_file()
    True
    >>> (generated_lua_dir() / "hookwire" / "pb.lua").is_file()
    True
"""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent
_CHECKOUT = _HERE.parents[2]  # runtime/hookwire/runtime -> repository root
_WHEEL = _HERE / "_share"


def _pick(*parts: str) -> Path:
    checkout = _CHECKOUT.joinpath(*parts)
    return checkout if checkout.is_dir() else _WHEEL.joinpath(*parts)


def sdk_lua_dir() -> Path:
    """The folder holding `hookwire.lua` (the Lua SDK) and `worker.lua`."""
    return _pick("sdk", "lua")


def generated_lua_dir() -> Path:
    """The root of the generated Lua modules (`hookwire/pb.lua`, `hookwire/v1/*.lua`, ...)."""
    return _pick("generated", "lua")
