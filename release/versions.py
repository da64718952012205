"""One version number across the protos, Python, JavaScript and Lua.

Where each language states it:
- Python: `[project].version` in pyproject.toml, and the Python worker's `SDK_NAME`;
- JavaScript: `version` in sdk/js/package.json, and the JS worker's `SDK_NAME`;
- Lua: the worker's `VERSION` (sdk/lua/worker.lua), which names the Lua tarball too;
- protos: proto/VERSION, the release the protos in proto/ belong to; the protos of each
  release are kept in proto-baseline/<version>/ for `buf breaking`.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

from release.errors import GateError
from release.paths import ROOT

__all__ = ["check_versions", "found_versions", "project_version"]

_SEMVER = re.compile(r"^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$")


def project_version(root: Path = ROOT) -> str:
    """The version in pyproject.toml (what the artefacts are named after)."""
    return str(tomllib.loads((root / "pyproject.toml").read_text())["project"]["version"])


def _grep(path: Path, pattern: str) -> str:
    m = re.search(pattern, path.read_text(), re.M)
    if m is None:
        raise GateError(f"versions: no version found in {path} (looked for {pattern!r})")
    return m.group(1)


def found_versions(root: Path = ROOT) -> dict[str, str]:
    """Every place that states the version, and what it says."""
    return {
        "pyproject.toml": project_version(root),
        "sdk/python/hookwire/sdk/worker.py SDK_NAME": _grep(
            root / "sdk/python/hookwire/sdk/worker.py", r'^SDK_NAME = "hookwire-python/([^"]+)"'
        ),
        "sdk/js/package.json": str(
            json.loads((root / "sdk/js/package.json").read_text())["version"]
        ),
        "sdk/js/src/worker.js SDK_NAME": _grep(
            root / "sdk/js/src/worker.js", r'^export const SDK_NAME = "hookwire-js/([^"]+)"'
        ),
        "sdk/lua/worker.lua VERSION": _grep(
            root / "sdk/lua/worker.lua", r'^local VERSION = "hookwire-lua-worker/([^"]+)"'
        ),
        "proto/VERSION": (root / "proto" / "VERSION").read_text().strip(),
    }


def check_versions(root: Path = ROOT) -> str:
    """The one version; GateError naming every place that disagrees."""
    found = found_versions(root)
    version = found["pyproject.toml"]
    if not _SEMVER.match(version):
        raise GateError(f"versions: pyproject.toml version {version!r} is not semver")
    wrong = {k: v for k, v in found.items() if v != version}
    if wrong:
        lines = "\n".join(f"  {k}: {v}" for k, v in wrong.items())
        raise GateError(f"versions: these disagree with pyproject.toml ({version}):\n{lines}")
    return version
