"""The npm package, used as a JS user would: installed from its tarball into a scratch project,
type-checked by a consumer under `tsc --strict`, and run (a worker and a client) against a
real `hookwire serve`."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

from release.errors import GateError
from release.paths import TSC, tool
from release.serve import hookwire_serve

__all__ = ["FORBIDDEN", "check_tarball", "run_smoke", "typecheck_consumer"]

HERE = Path(__file__).resolve().parent
#: What the tarball must never carry (tests, benchmarks, test support, Python).
FORBIDDEN = ("package/test/", "package/bench/", "package/test-support/", ".py")
_REQUIRED = (
    "package/package.json",
    "package/src/index.js",
    "package/src/index.d.ts",
    "package/generated/hookwire/v1/hook_pb.js",
    "package/generated/hookwire/v1/hook_pb.d.ts",
    "package/generated/hookwire/wire_runtime.js",
)


def check_tarball(tarball: Path) -> list[str]:
    """The tarball's file names; GateError when one is forbidden or a needed one is missing."""
    outside: list[str] = []
    with tarfile.open(tarball) as tar:
        names = sorted(tar.getnames())
        for member in tar.getmembers():
            if member.name.startswith("package/src/") and member.isfile():
                f = tar.extractfile(member)
                source = f.read().decode() if f is not None else ""
                # An import climbing out of the package (src/ is one level below its root).
                if re.search(r"""(?:from|import)\s*\(?\s*["']\.\./\.\./""", source):
                    outside.append(member.name)
    bad = [n for n in names if any(n.startswith(f) or n.endswith(f) for f in FORBIDDEN)]
    missing = [n for n in _REQUIRED if n not in names]
    if bad or missing or outside:
        raise GateError(
            f"npm tarball {tarball.name}: ships {bad}, lacks {missing}, "
            f"imports from outside the package in {outside}"
        )
    return names


def typecheck_consumer(
    project: Path, source: str | None = None, resolution: str = "nodenext"
) -> subprocess.CompletedProcess[str]:
    """`tsc --strict --noEmit` of a consumer file (default: npm_consumer.ts) in the project."""
    target = project / "consumer.ts"
    if source is None:
        shutil.copy(HERE / "npm_consumer.ts", target)
    else:
        target.write_text(source)
    # `resolution`: nodenext (package exports), bundler (exports, for bundlers) or node10
    # (the `types` field and plain paths, for older setups).
    module = {"nodenext": "nodenext", "bundler": "esnext", "node10": "es2022"}[resolution]
    args = ["--noEmit", "--strict", "--module", module, "--moduleResolution", resolution]
    args += ["--target", "es2022", "--skipLibCheck", "--types", "node", "consumer.ts"]
    return subprocess.run(
        [str(TSC), *args], cwd=project, capture_output=True, text=True, timeout=300
    )


def run_smoke(project: Path, python: str | Path = sys.executable) -> dict[str, Any]:
    """A worker and a client from the project against `hookwire serve` (started with `python`);
    what the smoke script saw. GateError when it fails."""
    shutil.copy(HERE / "npm_smoke.mjs", project / "smoke.mjs")
    with hookwire_serve(python, token="s3cret") as address:
        done = subprocess.run(
            [tool("node"), "smoke.mjs", address, "s3cret"],
            cwd=project, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    if done.returncode != 0:
        raise GateError(f"npm smoke: node exited {done.returncode}: {done.stderr[-3000:]}")
    seen: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    expected_rm = {"kind": "cancel", "reason": "rm is not allowed"}
    if seen["rm"] != expected_rm or seen["ls"].get("kind") != "modified":
        raise GateError(f"npm smoke: unexpected results {seen}")
    return seen
