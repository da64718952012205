"""Which Lua interpreter runs the out-of-process worker: the system `lua5.4`, or the fallback.

The worker program (`worker.lua`) is plain Lua 5.4. It runs in `lua5.4` when one is on PATH;
otherwise in the fallback, `LUPA`: a child Python process running lupa's bundled Lua 5.4 through
`hookwire.runtime.lua_process.lupa_lua`, a launcher that behaves like `lua5.4 SCRIPT ARGS...`
(same `arg`, same binary stdin/stdout/stderr, `os.exit`, `LUA_PATH`). Either way the worker is
the same file speaking the same frames; lupa is a dependency of hookwire, so the fallback is
there wherever hookwire is installed.

Example:
    >>> choose_interpreter("lupa")
    'lupa'
    >>> interpreter_command("lupa")[-1].endswith("lupa_lua.py")
    True
    >>> interpreter_command("/usr/bin/lua5.4")
    ['/usr/bin/lua5.4']
    >>> choose_interpreter() in (os.environ.get(ENV_VAR), find_lua(), LUPA)
    True
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from hookwire.runtime.lua_process import lupa_lua

__all__ = [
    "ENV_VAR",
    "LUPA",
    "choose_interpreter",
    "describe_interpreter",
    "find_lua",
    "interpreter_command",
]

#: The `lua` value naming the fallback interpreter (lupa's Lua 5.4 in a child Python process).
LUPA = "lupa"
#: Environment variable that picks the interpreter when none is given (`lua5.4`, a path, `lupa`).
ENV_VAR = "HOOKWIRE_LUA"


def find_lua(name: str = "lua5.4") -> str | None:
    """The path of the Lua 5.4 interpreter `name` on PATH, or None when it is not installed."""
    return shutil.which(name)


def choose_interpreter(lua: str | None = None) -> str:
    """The interpreter to run: `lua` when given (a command, a path, or `LUPA`); otherwise
    `$HOOKWIRE_LUA` when set; otherwise the `lua5.4` on PATH, or `LUPA` when there is none."""
    if lua is not None:
        return lua
    return os.environ.get(ENV_VAR) or find_lua() or LUPA


def interpreter_command(lua: str) -> list[str]:
    """The argv prefix that runs a Lua script with interpreter `lua` (as chosen above)."""
    if lua == LUPA:
        # The launcher as a plain script: it imports only lupa, not the hookwire runtime (-P:
        # its folder, with modules named like adapter.py, stays off sys.path).
        return [sys.executable, "-P", str(Path(lupa_lua.__file__).resolve())]
    return [lua]


def describe_interpreter(lua: str) -> str:
    """A one-line account of the interpreter, for logs and the conformance matrix, e.g.
    `lua5.4 (/usr/bin/lua5.4)` or `lupa 2.8 fallback (Lua 5.4 in /venv/bin/python)`."""
    if lua == LUPA:
        import lupa

        version = getattr(lupa, "__version__", "?")
        return f"lupa {version} fallback ({lupa_lua.lua_version()} in {sys.executable})"
    found = shutil.which(lua)
    return f"{Path(lua).name} ({found})" if found else f"{lua} (not found)"
