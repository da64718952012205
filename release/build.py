"""Build the four artefacts: wheel and sdist (hatchling), the npm tarball, the Lua tarball.

The npm package is packed from a staged copy of sdk/js with the generated bindings copied in
(sdk/js/generated is a symlink in the checkout, which npm pack would leave out), so building
never touches the working tree.

The Lua distribution, hookwire-lua-VERSION.tar.gz, is laid out like the repository; the
worker finds the sandbox and the SDK beside itself (sdk/lua holds all of hookwire's host Lua):

    hookwire-lua-VERSION/
      README.md                       LUA_PATH and how to run the worker
      sdk/lua/hookwire.lua            the SDK
      sdk/lua/worker.lua              the out-of-process worker (lua5.4 sdk/lua/worker.lua ...)
      sdk/lua/sandbox.lua             the sandbox hook files load into
      sdk/lua/convert.lua             JSON values between the host and the sandbox
      generated/lua/**.lua            the protobuf codecs (hookwire.pb, hookwire.v1.*, ...)

    LUA_PATH="$HW/generated/lua/?.lua;$HW/sdk/lua/?.lua;;"
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

from release.errors import GateError
from release.paths import ROOT, tool
from release.versions import project_version

__all__ = [
    "LUA_README",
    "build_lua",
    "build_npm",
    "build_python",
    "lua_path",
    "sdist_builds_the_wheel",
]

#: Files of the Lua distribution, relative to the repository: (source dir, glob).
_LUA_FILES = (
    ("sdk/lua", "*.lua"),
    ("generated/lua", "**/*.lua"),
)

LUA_README = """\
# hookwire for Lua {version}

Pure Lua 5.4 (no C modules): the hookwire Lua SDK (`sdk/lua/hookwire.lua`), the protobuf
codecs generated from hookwire's protos (`generated/lua`), and the out-of-process worker
(`sdk/lua/worker.lua`) with the sandbox it loads hook files into (`sdk/lua/sandbox.lua`,
`sdk/lua/convert.lua`).

Unpack it anywhere and point `LUA_PATH` at it (`$HW` is the unpacked directory):

    export HW=$PWD/hookwire-lua-{version}
    export LUA_PATH="$HW/generated/lua/?.lua;$HW/sdk/lua/?.lua;;"

Encode and decode messages:

    local hook = require("hookwire.v1.hook")
    local bytes = hook.HookContext.encode(hook.HookContext.new{{ correlation_id = "c-1" }})
    print(hook.HookContext.decode(bytes).correlation_id)   --> c-1

Run Lua hook files out of process (length-delimited WorkerMessage / ExecutorMessage frames on
stdout / stdin, the worker protocol of hookwire's Connect stream):

    lua5.4 "$HW/sdk/lua/worker.lua" --worker-id lua-tools hooks/guard.lua

A hookwire executor (`LuaProcessWorker(..., worker_script=...)` in Python) supervises it.
"""


def lua_path(dist_dir: Path) -> str:
    """LUA_PATH for an unpacked Lua distribution: only its own modules."""
    return f"{dist_dir}/generated/lua/?.lua;{dist_dir}/sdk/lua/?.lua"


def _run(cmd: list[str], cwd: Path, what: str, timeout: float = 600) -> str:
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise GateError(
            f"{what} failed ({' '.join(cmd)}):\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
        )
    return done.stdout


def build_python(out: Path) -> tuple[Path, Path]:
    """The wheel and the sdist, built by hatchling from the checkout."""
    out.mkdir(parents=True, exist_ok=True)
    for old in (*out.glob("hookwire-*.whl"), *out.glob("hookwire-*.tar.gz")):
        if not old.name.startswith("hookwire-lua-"):
            old.unlink()
    _run([sys.executable, "-m", "hatchling", "build", "-d", str(out)], ROOT, "hatchling build")
    version = project_version()
    wheels = list(out.glob(f"hookwire-{version}-*.whl"))
    sdists = list(out.glob(f"hookwire-{version}.tar.gz"))
    if len(wheels) != 1 or len(sdists) != 1:
        raise GateError(f"hatchling build: expected one wheel and one sdist in {out}")
    return wheels[0], sdists[0]


def sdist_builds_the_wheel(sdist: Path, wheel: Path, work: Path) -> None:
    """A wheel built from the sdist alone holds the same files, byte for byte, as `wheel`."""
    out = work / "from-sdist"
    cmd = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation"]
    _run([*cmd, "-w", str(out), str(sdist.resolve())], work, "pip wheel of the sdist")
    (rebuilt,) = out.glob("hookwire-*.whl")

    def contents(path: Path) -> dict[str, bytes]:
        with zipfile.ZipFile(path) as z:
            return {n: z.read(n) for n in z.namelist() if not n.endswith(".dist-info/RECORD")}

    a, b = contents(wheel), contents(rebuilt)
    differ = sorted(n for n in a.keys() | b.keys() if a.get(n) != b.get(n))
    if differ:
        raise GateError(f"the wheel built from the sdist differs from the wheel in {differ[:20]}")


def build_npm(out: Path) -> Path:
    """`npm pack` of @hookwire/sdk from a staged copy of the repository's sdk/js and
    generated/js (same layout, `generated` the same link), so the package's own
    prepack/postpack do the copying and the working tree is never touched."""
    out.mkdir(parents=True, exist_ok=True)
    src = ROOT / "sdk" / "js"
    manifest = json.loads((src / "package.json").read_text())
    with tempfile.TemporaryDirectory(prefix="hookwire-npm-") as tmp:
        shutil.copytree(ROOT / "generated" / "js", Path(tmp) / "generated" / "js")
        stage = Path(tmp) / "sdk" / "js"
        stage.mkdir(parents=True)
        for name in ("package.json", "scripts", *(e.rstrip("/") for e in manifest["files"])):
            path = src / name
            if path.is_symlink():
                (stage / name).symlink_to(path.readlink())
            elif path.is_dir():
                shutil.copytree(path, stage / name)
            elif path.is_file():
                shutil.copy2(path, stage / name)
            else:
                raise GateError(f"npm pack: sdk/js/{name} (package.json `files`) is missing")
        answer = _run(
            [tool("npm"), "pack", "--json", "--pack-destination", str(out)],
            stage,
            "npm pack",
        )
    (packed,) = json.loads(answer)
    return out / str(packed["filename"])


def build_lua(out: Path) -> Path:
    """hookwire-lua-VERSION.tar.gz (layout in the module doc); deterministic member order."""
    out.mkdir(parents=True, exist_ok=True)
    version = project_version()
    top = f"hookwire-lua-{version}"
    target = out / f"{top}.tar.gz"
    files: list[tuple[Path, str]] = []
    for folder, pattern in _LUA_FILES:
        for path in sorted((ROOT / folder).glob(pattern)):
            files.append((path, f"{top}/{path.relative_to(ROOT).as_posix()}"))
    if not any(name.endswith("/sdk/lua/worker.lua") for _, name in files):
        raise GateError("Lua artefact: sdk/lua/worker.lua is missing")
    readme = LUA_README.format(version=version).encode()
    with tarfile.open(target, "w:gz") as tar:
        info = tarfile.TarInfo(f"{top}/README.md")
        info.size = len(readme)
        info.mode = 0o644
        tar.addfile(info, io.BytesIO(readme))
        for path, name in files:
            tar.add(path, arcname=name, recursive=False)
    return target
