"""Lua hooks out of process: a supervised `lua5.4` worker (sdk/lua/worker.lua) speaking the
worker protocol as length-delimited protobuf frames on its stdin/stdout. See docs/lua-process.md.

Example:
    >>> from hookwire.runtime.lua_process import LuaProcessWorker, find_lua
    >>> find_lua() is not None
    True
"""

from hookwire.runtime.framing import FrameReader, MalformedFrame, encode_frame
from hookwire.runtime.lua_process.adapter import LuaProcessHookAdapter
from hookwire.runtime.lua_process.worker import (
    LuaProcessWorker,
    LuaWorkerError,
    WorkerGone,
    default_worker_script,
    find_lua,
)

__all__ = [
    "FrameReader",
    "LuaProcessHookAdapter",
    "LuaProcessWorker",
    "LuaWorkerError",
    "MalformedFrame",
    "WorkerGone",
    "default_worker_script",
    "encode_frame",
    "find_lua",
]
