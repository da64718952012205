"""A `lua5.4`-compatible launcher on lupa's bundled Lua 5.4: the Lua worker's fallback interpreter.

    python -m hookwire.runtime.lua_process.lupa_lua SCRIPT [ARGS...]

runs SCRIPT the way `lua5.4 SCRIPT ARGS...` does, in this process: the global `arg` holds the
arguments (`arg[0]` is SCRIPT, `arg[-1]` the interpreter), the chunk gets them as `...`, the
standard libraries are Lua's own (`io.stdin`/`io.stdout`/`io.stderr` are the process's binary
C streams, `os.exit` ends the process with its status), `package.path` comes from
`LUA_PATH_5_4`/`LUA_PATH` (`;;` standing for the default), and an uncaught error prints
`lua5.4: <message>` with a traceback on stderr and exits with status 1, like the standalone
interpreter. Nothing of Python is visible to the script: lupa's `python` module is removed
before it runs.

`LuaProcessWorker` uses it when no `lua5.4` is on PATH (see docs/lua-process.md), so the
out-of-process adapter runs the same `worker.lua`, with the same frames on stdin/stdout, on
every machine that can install hookwire. The file imports nothing of hookwire, so the worker
starts it as a plain script (`python .../lupa_lua.py`), without loading the runtime.
"""

from __future__ import annotations

import os
import signal
import sys

#: What the launcher reports as its interpreter (`arg[-1]`, and the prefix of its errors).
PROGRAM = "lua5.4"

_BOOT = r"""
local prog, script = ...
arg = table.pack(select(3, ...))
arg.n = nil
arg[-1], arg[0] = prog, script
package.loaded.python, python = nil, nil
local chunk, err = loadfile(script)
if chunk == nil then
  io.stderr:write(prog, ": ", tostring(err), "\n")
  io.stderr:flush()
  return 1
end
local function traceback(m)
  if type(m) ~= "string" then m = "(error object is a " .. type(m) .. " value)" end
  return debug.traceback(m, 2)
end
local ok, msg = xpcall(chunk, traceback, table.unpack(arg, 1, #arg))
io.stdout:flush()
if not ok then
  io.stderr:write(prog, ": ", msg, "\n")
  io.stderr:flush()
  return 1
end
return 0
"""


def lua_version() -> str:
    """The version of lupa's bundled Lua 5.4, e.g. "Lua 5.4.7"."""
    import lupa.lua54

    runtime = lupa.lua54.LuaRuntime(register_eval=False, register_builtins=False)
    return str(runtime.lua_implementation)


def main(argv: list[str] | None = None) -> int:
    """Run `argv[0]` (the script) with the remaining arguments; returns the exit status."""
    args = sys.argv[1:] if argv is None else argv
    if not args:
        sys.stderr.write(f"usage: {sys.executable} -m {__spec__.name if __spec__ else __name__}")
        sys.stderr.write(" SCRIPT [ARGS...]\n")
        return 2
    # As in the standalone interpreter: Ctrl-C and a closed pipe end the process (Python would
    # otherwise defer SIGINT to Python code that never runs, and ignore SIGPIPE).
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    import lupa.lua54

    runtime = lupa.lua54.LuaRuntime(register_eval=False, register_builtins=False)
    boot = runtime.execute("return function(...) " + _BOOT + " end")
    status = boot(PROGRAM.encode(), *(os.fsencode(a) for a in args))
    return int(status)


if __name__ == "__main__":
    sys.exit(main())
