"""Install each artefact in a clean place: a venv from the wheel only, a scratch npm project
from the tarball, an unpacked Lua distribution."""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
from pathlib import Path

from release.errors import GateError
from release.paths import ROOT, tool

__all__ = ["npm_project", "unpack_lua", "wheel_venv"]


def _run(cmd: list[str], cwd: Path, what: str, timeout: float = 900) -> None:
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise GateError(
            f"{what} failed ({' '.join(cmd)}):\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
        )


def wheel_venv(wheel: Path, where: Path, extras: str = "conformance") -> Path:
    """A fresh venv at `where` with hookwire installed from `wheel` (and its dependencies from
    the index, within constraints.txt when the repository has one); its python."""
    _run([sys.executable, "-m", "venv", str(where)], where.parent, "python -m venv")
    python = where / "bin" / "python"
    cmd = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    constraints = ROOT / "constraints.txt"
    if constraints.is_file():
        cmd += ["-c", str(constraints)]
    _run([*cmd, f"{wheel}[{extras}]" if extras else str(wheel)], where.parent, "pip install")
    return python


def npm_project(tarball: Path, where: Path) -> Path:
    """A scratch npm project at `where` with the tarball installed as @hookwire/sdk."""
    where.mkdir(parents=True, exist_ok=True)
    manifest = {"name": "hookwire-consumer", "private": True, "type": "module"}
    (where / "package.json").write_text(json.dumps(manifest, indent=2) + "\n")
    _run(
        [tool("npm"), "install", "--no-audit", "--no-fund", str(tarball)],
        where,
        "npm install of the tarball",
    )
    if not (where / "node_modules" / "@hookwire" / "sdk" / "package.json").is_file():
        raise GateError(f"npm install: @hookwire/sdk is not in {where}/node_modules")
    return where


def unpack_lua(tarball: Path, where: Path) -> Path:
    """The unpacked Lua distribution (its top directory)."""
    where.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tarball) as tar:
        tar.extractall(where, filter="data")
    (top,) = [p for p in where.iterdir() if p.is_dir()]
    return top
