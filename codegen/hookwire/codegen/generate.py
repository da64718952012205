"""Rebuild generated/ from proto/ with one protoc run (run by `nox -s generate`).

Usage: python -m hookwire.codegen.generate [--root DIR]

Every target is written to a scratch directory first and copied over generated/<target> only
when the whole run succeeded, so a failing plugin never leaves generated/ half-written.
"""

from __future__ import annotations

import argparse
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

from hookwire.codegen.honoured import write_tables

TARGETS = ("python", "lua", "js")
LUA_PLUGIN = "hookwire.codegen.lua"
JSWIRE_PLUGIN = "hookwire.codegen.jswire"


def _check_layout(python_out: Path) -> None:
    """hookwire is a namespace package over several roots: no generated file may break that."""
    for init in (python_out / "hookwire" / "__init__.py", python_out / "__init__.py"):
        if init.exists():
            raise SystemExit(f"generator wrote {init}; it would shadow the hookwire namespace")


def _plugin_script(directory: Path, name: str, module: str) -> Path:
    """protoc runs plugins as executables; wrap our Python plugins for this interpreter."""
    path = directory / f"protoc-gen-{name}"
    path.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m {module} "$@"\n')
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def _installed_plugin(name: str) -> Path:
    """A plugin installed as a script of this interpreter's environment (mypy-protobuf's), so the
    run does not depend on that environment's bin/ being on PATH."""
    path = Path(sys.executable).parent / name
    if not path.exists():
        found = shutil.which(name)
        if found is None:
            raise SystemExit(f"{name} is missing: install hookwire[codegen] into {sys.prefix}")
        path = Path(found)
    return path


def generate(root: Path) -> None:
    proto = root / "proto"
    files = sorted(str(p.relative_to(proto)) for p in proto.rglob("*.proto"))
    es_plugin = root / "node_modules" / ".bin" / "protoc-gen-es"
    if not es_plugin.exists():
        raise SystemExit(f"{es_plugin} is missing: run `npm ci` in {root} first")
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        out = tmpdir / "out"
        for sub in TARGETS:
            (out / sub).mkdir(parents=True)
        lua = _plugin_script(tmpdir, "hwlua", LUA_PLUGIN)
        jswire = _plugin_script(tmpdir, "hwjswire", JSWIRE_PLUGIN)
        cmd = [
            sys.executable, "-m", "grpc_tools.protoc", f"-I{proto}",
            f"--python_out={out / 'python'}",
            f"--grpc_python_out={out / 'python'}",
            f"--plugin=protoc-gen-mypy={_installed_plugin('protoc-gen-mypy')}",
            f"--mypy_out={out / 'python'}",
            f"--plugin=protoc-gen-mypy_grpc={_installed_plugin('protoc-gen-mypy_grpc')}",
            f"--mypy_grpc_out={out / 'python'}",
            f"--plugin=protoc-gen-hwlua={lua}",
            f"--hwlua_out={out / 'lua'}",
            f"--plugin=protoc-gen-es={es_plugin}",
            "--es_opt=target=js+dts,import_extension=js",
            f"--es_out={out / 'js'}",
            f"--plugin=protoc-gen-hwjswire={jswire}",
            f"--hwjswire_out={out / 'js'}",
            f"--descriptor_set_out={tmpdir / 'descriptors.pb'}",
            *files,
        ]  # fmt: skip
        print(f"protoc: {len(files)} proto files -> python, lua, js", flush=True)
        subprocess.run(cmd, check=True, cwd=root, stdout=subprocess.DEVNULL)
        print("honoured results: python, lua, js", flush=True)
        write_tables(tmpdir / "descriptors.pb", out)
        # mypy reads the generated packages' inline types only with this PEP 561 marker (in each
        # package: `hookwire` itself is a namespace package).
        for pkg in sorted({p.parent for p in (out / "python" / "hookwire").rglob("*.py")}):
            (pkg / "py.typed").write_text("")
        _check_layout(out / "python")
        for sub in TARGETS:
            target = root / "generated" / sub
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(out / sub, target)
    print(f"generated/ rewritten from {len(files)} proto files", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path.cwd())
    generate(parser.parse_args().root.resolve())


if __name__ == "__main__":
    main()
