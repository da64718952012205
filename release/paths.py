"""Where the release gate finds the repository and its tools."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from release.errors import GateError

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / "dist"
BASELINES = ROOT / "proto-baseline"
BUF = ROOT / "node_modules" / ".bin" / "buf"
TSC = ROOT / "node_modules" / ".bin" / "tsc"


def tool(name: str) -> str:
    """The path of a program on PATH; GateError when it is missing."""
    found = shutil.which(name)
    if found is None:
        raise GateError(f"{name} is not on PATH")
    return found


def buf() -> str:
    """The buf binary of the root's node_modules (`@bufbuild/buf`, after `npm ci`)."""
    if not os.access(BUF, os.X_OK):
        raise GateError(f"buf is missing ({BUF}); run `npm ci` at the repository root")
    return str(BUF)
