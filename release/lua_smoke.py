"""The Lua distribution, used as a Lua user would: LUA_PATH pointing only at the unpacked
tarball, a Lua 5.4 interpreter, no Python on the Lua side.

Two checks, each against the Python bindings (so both sides of the wire agree):
- `codec_roundtrip`: Lua decodes a HookContext Python encoded, and encodes one Python decodes;
- `worker_hook`: the distribution's worker.lua loads a hook file and answers a call frame.

The interpreter is `lua5.4` when it is on PATH; otherwise lupa's bundled Lua 5.4 runs the same
script in a child Python process (`LUPA` below: standard libraries, `arg`, LUA_PATH as
`lua5.4` has them).
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from hookwire.runtime.framing import FrameReader, encode_frame
from hookwire.v1 import executor_service_pb2 as es
from hookwire.v1 import hook_pb2

from release.build import lua_path
from release.errors import GateError

__all__ = ["codec_roundtrip", "interpreters", "worker_hook"]

# `python -c LUPA SCRIPT ARGS...` runs SCRIPT like `lua5.4 SCRIPT ARGS...` does, on lupa.
LUPA = r"""
import os, sys, lupa.lua54
rt = lupa.lua54.LuaRuntime(register_eval=False, register_builtins=False)
boot = rt.execute('''return function(script, ...)
  arg = table.pack(...); arg.n = nil; arg[0] = script
  package.loaded.python, python = nil, nil
  local chunk = assert(loadfile(script))
  chunk(table.unpack(arg, 1, #arg))
  io.stdout:flush()
  return 0
end''')
sys.exit(boot(*(os.fsencode(a) for a in sys.argv[1:])))
"""


def interpreters() -> dict[str, list[str]]:
    """The Lua 5.4 interpreters available here, by name: `lua5.4` (when on PATH) and `lupa`."""
    found: dict[str, list[str]] = {}
    system = shutil.which("lua5.4")
    if system is not None:
        found["lua5.4"] = [system]
    found["lupa"] = [sys.executable, "-c", LUPA]
    return found


def _env(dist: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LUA_")}
    env["LUA_PATH"] = lua_path(dist)  # only the distribution: no ";;", no default path
    return env


_CODEC = r"""
local hook = require("hookwire.v1.hook")
local json = require("hookwire.v1.json")
local function unhex(s)
  return (s:gsub("..", function(h) return string.char(tonumber(h, 16)) end))
end
local function hex(s)
  return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end
local got = hook.HookContext.decode(unhex(arg[1]))
io.write(got.correlation_id, "|", got.metadata["k"], "|", got.data.fields["n"].int_value, "|")
local out = hook.HookContext.new{
  correlation_id = "from-lua",
  metadata = { lang = "lua" },
  data = json.JsonObject.new{ fields = { ok = json.JsonValue.new{ bool_value = true } } },
}
io.write(hex(hook.HookContext.encode(out)))
"""


def codec_roundtrip(dist: Path, interpreter: list[str]) -> None:
    """Lua decodes Python's HookContext bytes and encodes bytes Python decodes; GateError if not."""
    ctx = hook_pb2.HookContext(correlation_id="from-python", metadata={"k": "v"})
    ctx.data.fields["n"].int_value = 9007199254740993  # beyond 2^53: exact as a Lua integer
    with tempfile.TemporaryDirectory(prefix="hookwire-lua-codec-") as tmp:
        script = Path(tmp) / "codec.lua"
        script.write_text(_CODEC)
        done = subprocess.run(
            [*interpreter, str(script), ctx.SerializeToString().hex()],
            capture_output=True, text=True, env=_env(dist), cwd=tmp, timeout=60,
        )  # fmt: skip
    if done.returncode != 0:
        raise GateError(f"Lua artefact: the codec script failed: {done.stderr[-2000:]}")
    cid, meta, n, rest = done.stdout.split("|")
    if (cid, meta, n) != ("from-python", "v", "9007199254740993"):
        raise GateError(f"Lua artefact: Lua decoded {(cid, meta, n)} from Python's HookContext")
    back = hook_pb2.HookContext.FromString(bytes.fromhex(rest))
    if (back.correlation_id, dict(back.metadata), back.data.fields["ok"].bool_value) != (
        "from-lua",
        {"lang": "lua"},
        True,
    ):
        raise GateError(f"Lua artefact: Python decoded {back} from Lua's HookContext")


_HOOK = """
local hookwire = require("hookwire")
hookwire.register("before_tool_execution", function(ctx)
  if ctx.data.tool == "rm" then return hookwire.cancel("rm is not allowed") end
  return hookwire.modified{ checked = true }
end, { name = "guard" })
"""


def worker_hook(dist: Path, interpreter: list[str]) -> list[es.WorkerMessage]:
    """Run the distribution's worker on one hook file and two calls; the frames it wrote
    (hello, register, two results). GateError when the worker fails or answers wrongly."""
    frames = encode_frame(
        es.ExecutorMessage(welcome=es.WorkerWelcome(connection_id="c")).SerializeToString()
    )
    for call_id, tool in ((1, "rm"), (2, "ls")):
        call = es.HookCall(call_id=call_id, hook_name="guard")
        call.context.point = hook_pb2.HOOK_POINT_BEFORE_TOOL_EXECUTION
        call.context.data.fields["tool"].string_value = tool
        frames += encode_frame(es.ExecutorMessage(call=call).SerializeToString())
    with tempfile.TemporaryDirectory(prefix="hookwire-lua-worker-") as tmp:
        (Path(tmp) / "guard.lua").write_text(_HOOK)
        done = subprocess.run(
            [*interpreter, str(dist / "sdk/lua/worker.lua"), "--worker-id", "w", "guard.lua"],
            input=frames, capture_output=True, env=_env(dist), cwd=tmp, timeout=60,
        )  # fmt: skip
    if done.returncode != 0:
        raise GateError(
            f"Lua artefact: the worker exited with {done.returncode}: "
            f"{done.stderr.decode()[-2000:]}"
        )
    reader = FrameReader(io.BytesIO(done.stdout))
    out: list[es.WorkerMessage] = []
    while (body := reader.read()) is not None:
        out.append(es.WorkerMessage.FromString(body))
    kinds = [m.WhichOneof("message") for m in out]
    if kinds != ["hello", "register", "result", "result"]:
        raise GateError(f"Lua artefact: the worker wrote {kinds}; stderr: {done.stderr.decode()}")
    cancel, modified = out[2].result.result, out[3].result.result
    if (
        cancel.cancel.reason != "rm is not allowed"
        or not modified.modified.data.fields["checked"].bool_value
    ):
        raise GateError(f"Lua artefact: unexpected results {out[2]} {out[3]}")
    return out
