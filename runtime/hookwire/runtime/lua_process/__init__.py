"""Lua hooks out of process: a supervised Lua 5.4 worker (sdk/lua/worker.lua) speaking the
worker protocol as length-delimited protobuf frames on its stdin/stdout, run by the system
`lua5.4` or, when there is none, by the fallback (lupa's Lua 5.4 in a child Python process).
See docs/lua-process.md.

Example:
    >>> from hookwire.runtime.lua_process import LUPA, choose_interpreter, find_lua
    >>> choose_interpreter() == (find_lua() or LUPA)
    True
"""

from hookwire.runtime.framing import FrameReader, MalformedFrame, encode_frame
from hookwire.runtime.lua_process.adapter import LuaProcessHookAdapter
from hookwire.runtime.lua_process.interpreter import (
    LUPA,
    choose_interpreter,
    describe_interpreter,
    find_lua,
    interpreter_command,
)
from hookwire.runtime.lua_process.worker import (
    LuaProcessWorker,
    LuaWorkerError,
    WorkerGone,
    default_worker_script,
)

__all__ = [
    "LUPA",
    "FrameReader",
    "LuaProcessHookAdapter",
    "LuaProcessWorker",
    "LuaWorkerError",
    "MalformedFrame",
    "WorkerGone",
    "choose_interpreter",
    "default_worker_script",
    "describe_interpreter",
    "encode_frame",
    "find_lua",
    "interpreter_command",
]
