"""The wheel holds one `hookwire` namespace assembled from several folders, plus the Lua files
the Lua adapters need, and it imports without the checkout on sys.path."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _build(tmp_path: Path) -> Path:
    subprocess.run(
        [
            *(sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps"),
            *("--no-build-isolation", "-q", "-w", str(tmp_path / "dist")),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = (tmp_path / "dist").glob("hookwire-*.whl")
    return wheel


def test_wheel_layout_and_imports_without_the_checkout(tmp_path: Path) -> None:
    wheel = _build(tmp_path)
    names = set(zipfile.ZipFile(wheel).namelist())
    # A namespace package: no hookwire/__init__.py may exist (it would hide the other roots).
    assert "hookwire/__init__.py" not in names
    for required in (
        "hookwire/v1/hook_pb2.py",
        "hookwire/v1/py.typed",
        "hookwire/runtime/executor.py",
        "hookwire/sdk/client.py",
        "hookwire/codegen/generate.py",
        "hookwire/conformance/__main__.py",
        "hookwire/runtime/_share/sdk/lua/hookwire.lua",
        "hookwire/runtime/_share/sdk/lua/worker.lua",
        "hookwire/runtime/_share/sdk/lua/sandbox.lua",
        "hookwire/runtime/_share/sdk/lua/convert.lua",
        "hookwire/runtime/_share/generated/lua/hookwire/pb.lua",
    ):
        assert required in names, required
    site = tmp_path / "site"
    # The editable install puts these checkout folders on sys.path; the probe removes them.
    roots = ("generated/python", "runtime", "sdk/python", "codegen", "conformance")
    editable = sorted(str(ROOT / r) for r in roots)
    zipfile.ZipFile(wheel).extractall(site)
    probe = textwrap.dedent(
        f"""
        import sys
        editable = {editable!r}
        sys.path = [p for p in sys.path if p.rstrip("/") not in editable]
        sys.path.insert(0, {str(site)!r})
        import hookwire.v1.hook_pb2, hookwire.runtime.executor, hookwire.sdk.client
        import hookwire.codegen.generate, hookwire.conformance
        from hookwire.runtime.share import generated_lua_dir, lua_dir
        for mod in (hookwire.v1.hook_pb2, hookwire.runtime.executor, hookwire.sdk.client):
            assert mod.__file__.startswith({str(site)!r}), mod.__file__
        assert str(lua_dir()).startswith({str(site)!r}), lua_dir()
        for name in ("hookwire.lua", "sandbox.lua", "convert.lua", "worker.lua"):
            assert (lua_dir() / name).is_file(), name
        assert (generated_lua_dir() / "hookwire" / "v1" / "hook.lua").is_file()
        print("ok")
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
