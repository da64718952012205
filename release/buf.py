"""`buf lint` (buf.yaml, STANDARD) and `buf breaking` against the last release's protos."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from release.errors import GateError
from release.paths import BASELINES, ROOT, buf

__all__ = ["baseline", "breaking", "lint", "snapshot"]

_SEMVER_DIR = re.compile(r"^\d+\.\d+\.\d+$")


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([buf(), *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def lint(root: Path = ROOT) -> None:
    """buf lint of the module in buf.yaml; GateError listing the findings."""
    done = _run(["lint"], root)
    if done.returncode != 0:
        raise GateError(
            f"buf lint: findings (see buf.yaml for the rules):\n{done.stdout}{done.stderr}"
        )


def baseline(baselines: Path = BASELINES) -> Path:
    """The protos of the newest release kept in proto-baseline/<version>/."""
    dirs = [d for d in baselines.iterdir() if d.is_dir() and _SEMVER_DIR.match(d.name)]
    if not dirs:
        raise GateError(f"buf breaking: no release baseline in {baselines}")
    return max(dirs, key=lambda d: tuple(int(x) for x in d.name.split(".")))


def breaking(protos: Path | None = None, against: Path | None = None, root: Path = ROOT) -> Path:
    """buf breaking of `protos` (default proto/) against `against` (default: the newest
    baseline), with buf.yaml's rules; GateError naming each breaking change. Returns the
    baseline used."""
    against = against if against is not None else baseline()
    target = protos if protos is not None else root / "proto"
    config = (root / "buf.yaml").read_text()
    # The rules of buf.yaml's `breaking` section, applied to any directory of protos.
    rules = re.search(r"^breaking:\n(?:[ #].*\n|\n)*", config, re.M)
    inline = "version: v2\n" + (rules.group(0) if rules else "")
    done = _run(["breaking", str(target), "--against", str(against), "--config", inline], root)
    if done.returncode != 0:
        raise GateError(
            f"buf breaking: {target} is not compatible with the release in {against}:\n"
            f"{done.stdout}{done.stderr}"
        )
    return against


def snapshot(version: str, root: Path = ROOT, force: bool = False) -> Path:
    """Keep proto/ as the baseline of release `version` (proto-baseline/<version>/), the protos
    the next release is checked against. Refuses to replace an existing baseline unless
    `force` (a released baseline never changes)."""
    target = root / "proto-baseline" / version
    if target.exists():
        if not force:
            raise GateError(f"baseline: {target} exists (a released baseline never changes)")
        shutil.rmtree(target)
    shutil.copytree(root / "proto", target, ignore=shutil.ignore_patterns("VERSION"))
    return target
