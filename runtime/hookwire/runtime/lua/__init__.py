"""Embedded Lua 5.4 hooks (lupa): sandbox, JSON conversion, adapter and hook-file loader.

Example:
    >>> from hookwire.runtime.registry import Registry
    >>> sb = LuaSandbox()
    >>> [reg] = sb.load_source('hookwire.register("session_start", function() end)', "x.lua")
    >>> Registry().register(LuaHookAdapter(sb, reg.fn), name="x", point=reg.point).language
    'lua'
"""

from hookwire.runtime.lua.adapter import LuaHookAdapter
from hookwire.runtime.lua.loader import load_lua_hooks, read_lua_hooks
from hookwire.runtime.lua.sandbox import LuaLoadError, LuaRegistration, LuaSandbox

__all__ = [
    "LuaHookAdapter",
    "LuaLoadError",
    "LuaRegistration",
    "LuaSandbox",
    "load_lua_hooks",
    "read_lua_hooks",
]
