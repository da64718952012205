"""Command line of the release gate (see the package doc); exit 0 = passed, 1 = a check failed,
2 = bad arguments."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from release import buf
from release.build import build_lua, build_npm
from release.errors import GateError
from release.gate import run_gate
from release.paths import DIST
from release.versions import check_versions


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m release", description=__doc__)
    sub = p.add_subparsers(dest="command")
    gate = sub.add_parser("gate", help="everything (the default)")
    gate.add_argument("--dist", type=Path, default=DIST)
    sub.add_parser("lint", help="buf lint with buf.yaml")
    brk = sub.add_parser("breaking", help="buf breaking against the last release's protos")
    brk.add_argument("--proto", type=Path, help="the protos to check (default: proto/)")
    brk.add_argument("--against", type=Path, help="default: the newest proto-baseline/<v>/")
    sub.add_parser("versions", help="one version across proto, Python, JS and Lua")
    snap = sub.add_parser("baseline", help="keep proto/ as proto-baseline/<version>/")
    snap.add_argument("--force", action="store_true", help="replace an existing baseline")
    for name in ("npm", "lua"):
        sub.add_parser(name, help=f"build the {name} artefact").add_argument(
            "--out", type=Path, default=DIST
        )
    args = p.parse_args(argv)
    command = args.command or "gate"
    if command == "gate":
        return run_gate(getattr(args, "dist", DIST))
    try:
        if command == "lint":
            buf.lint()
        elif command == "breaking":
            used = buf.breaking(args.proto, args.against)
            print(f"release: compatible with {used}")
        elif command == "versions":
            print(f"release: version {check_versions()} everywhere")
        elif command == "baseline":
            print(f"release: wrote {buf.snapshot(check_versions(), force=args.force)}")
        elif command == "npm":
            print(build_npm(args.out))
        else:
            print(build_lua(args.out))
    except GateError as exc:
        print(f"release: FAILED: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
