"""hookwire as a user installs it: the built wheel in a fresh venv, no checkout on the path.

One wheel and one venv per test session (module fixture): the wheel is built from this checkout
(`pip wheel --no-deps`), installed with its `conformance` extra and mypy, pinned by
constraints.txt, into a venv in a temporary directory. Every check runs the venv's programs with
the working directory outside the repository and PYTHONPATH unset, so only the installed files
can answer. The README's "A first hook" example is taken from README.md itself.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import venv
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hookwire.runtime.lua_process import find_lua

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"

# The README's Lua hook (a `guard` at before_tool_execution); the Python example is read from it.
LUA_FENCE = re.compile(r"```lua\n(.*?)```", re.S)


@dataclass(frozen=True)
class Installed:
    wheel: Path
    venv: Path
    work: Path  # a scratch directory outside the repository (the cwd of every run)

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    def bin(self, name: str) -> Path:
        return self.venv / "bin" / name

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
        env["PATH"] = f"{self.venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        env.pop("HOOKWIRE_LUA", None)
        env.pop("HOOKWIRE_JS_ROOT", None)
        return env

    def run(self, *argv: str | Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(a) for a in argv],
            cwd=self.work,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def script(self, name: str, code: str) -> Path:
        path = self.work / name
        path.write_text(textwrap.dedent(code))
        return path


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    base = tmp_path_factory.mktemp("installed")
    assert not base.resolve().is_relative_to(ROOT)
    dist = base / "dist"
    subprocess.run(
        [
            *(sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps"),
            *("--no-build-isolation", "-q", "-w", str(dist)),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = dist.glob("hookwire-*.whl")
    env_dir = base / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    work = base / "work"
    work.mkdir()
    inst = Installed(wheel, env_dir, work)
    done = inst.run(
        inst.python,
        *("-m", "pip", "install", "-q", "-c", ROOT / "constraints.txt"),
        f"hookwire[conformance] @ {wheel.as_uri()}",
        "mypy",
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    yield inst


def readme_first_hook() -> str:
    text = README.read_text()
    section = text.split("## A first hook", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "README.md: no ```python block under '## A first hook'"
    return match.group(1)


def readme_lua_hook() -> str:
    match = LUA_FENCE.search(README.read_text().split("## A first hook", 1)[1])
    assert match, "README.md: no ```lua block under '## A first hook'"
    return match.group(1)


def test_the_installed_package_is_the_wheel_not_the_checkout(installed: Installed) -> None:
    code = "import hookwire.runtime, hookwire.v1.hook_pb2 as m; print(hookwire.runtime.__file__)"
    out = installed.run(installed.python, "-c", code)
    assert out.returncode == 0, out.stderr
    assert Path(out.stdout.strip()).is_relative_to(installed.venv), out.stdout


def test_every_shipped_package_is_typed_and_carries_its_data(installed: Installed) -> None:
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    packages = {n.rsplit("/", 1)[0] for n in names if n.endswith("/__init__.py")}
    packages |= {n.rsplit("/", 1)[0] for n in names if n.endswith("_pb2.py")}
    # The top package of each root: everything below it is covered by its py.typed.
    tops = {p for p in packages if not any(p.startswith(q + "/") for q in packages if q != p)}
    assert {"hookwire/runtime", "hookwire/sdk", "hookwire/codegen", "hookwire/conformance"} <= tops
    assert {"hookwire/v1", "hookwire/cloudevents/v1"} <= tops
    for top in sorted(tops):
        assert f"{top}/py.typed" in names, f"{top} has no py.typed"
    for data in (
        "hookwire/conformance/_share/scenarios/execution/no-hooks.json",
        "hookwire/conformance/_share/schema/scenario.schema.json",
        "hookwire/conformance/_share/lua/behaviours.lua",
        "hookwire/runtime/_share/sdk/lua/worker.lua",
        "hookwire/runtime/_share/sdk/lua/sandbox.lua",
        "hookwire/runtime/_share/sdk/lua/convert.lua",
    ):
        assert data in names, data
    assert any(n.startswith("hookwire/conformance/_share/vectors/") for n in names)


def test_readme_first_hook_runs(installed: Installed) -> None:
    path = installed.script("first_hook.py", readme_first_hook())
    out = installed.run(installed.python, path)
    assert out.returncode == 0, out.stderr
    assert "redact" in out.stdout and "guard" in out.stdout, out.stdout


def test_readme_first_hook_passes_mypy_strict(installed: Installed) -> None:
    path = installed.script("first_hook.py", readme_first_hook())
    out = installed.run(installed.bin("mypy"), "--strict", "--no-incremental", path, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr


def test_embedded_lua_hook_runs(installed: Installed) -> None:
    (installed.work / "guard.lua").write_text(readme_lua_hook())
    path = installed.script(
        "embedded.py",
        """
        from hookwire.runtime import Cancel, Executor, HookContext, Registry
        from hookwire.runtime.lua import LuaSandbox, load_lua_hooks

        registry = Registry()
        load_lua_hooks("guard.lua", registry, LuaSandbox())
        run = Executor(registry).execute(
            "before_tool_execution", HookContext("before_tool_execution", {"tool": "rm"})
        )
        assert run.result == Cancel("rm is not allowed"), run.result
        print("ok", [(e.hook_name, e.language) for e in run.trace])
        """,
    )
    out = installed.run(installed.python, path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("ok") and "guard" in out.stdout, out.stdout


INTERPRETERS = [
    pytest.param("lupa", id="lupa-fallback"),
    pytest.param(
        "lua5.4",
        id="lua5.4",
        marks=pytest.mark.skipif(find_lua() is None, reason="no lua5.4 on PATH (CI installs it)"),
    ),
]


@pytest.mark.parametrize("lua", INTERPRETERS)
def test_lua_process_worker_hook_runs(installed: Installed, lua: str) -> None:
    (installed.work / "guard.lua").write_text(readme_lua_hook())
    path = installed.script(
        "worker.py",
        f"""
        import sys
        from hookwire.runtime import Cancel, Executor, HookContext, Registry
        from hookwire.runtime.lua_process import LuaProcessWorker

        registry = Registry()
        with LuaProcessWorker(["guard.lua"], registry=registry, blocking=True, lua={lua!r}) as w:
            ctx = HookContext("before_tool_execution", {{"tool": "rm"}})
            run = Executor(registry).execute("before_tool_execution", ctx)
            assert run.result == Cancel("rm is not allowed"), (run.result, run.trace)
            print(w.interpreter)
            print(" ".join(w._command()))
        """,
    )
    out = installed.run(installed.python, path)
    assert out.returncode == 0, out.stderr
    interpreter, command = out.stdout.splitlines()
    assert interpreter.startswith("lupa" if lua == "lupa" else "lua5.4"), interpreter
    # Every file the worker is given comes from the installed package.
    for arg in command.split():
        if arg.endswith(".lua") and arg != "guard.lua":
            assert Path(arg).is_relative_to(installed.venv), command


def test_hookwire_serve_starts_and_stops_on_sigterm(installed: Installed) -> None:
    proc = subprocess.Popen(
        [
            *(str(installed.bin("hookwire")), "serve", "--host", "127.0.0.1"),
            *("--port", "0", "--token", "s3cret"),
        ],
        cwd=installed.work,
        env=installed.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.match(r"hookwire serving on (127\.0\.0\.1:\d+) ", line)
        assert match, (line, proc.stderr.read() if proc.poll() is not None and proc.stderr else "")
        client = installed.run(
            installed.python,
            "-c",
            "import sys\nfrom hookwire.sdk.client import Client\n"
            "with Client(sys.argv[1], token='s3cret') as c:\n"
            "    print(c.execute('session_start', {'user': 'u'}, timeout=20).result)",
            match.group(1),
        )
        assert client.returncode == 0, client.stderr
        assert "Continue" in client.stdout, client.stdout
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_conformance_runner_from_the_wheel(installed: Installed) -> None:
    out = installed.run(
        installed.python, "-m", "hookwire.conformance", "--filter", "exec.", "--lua", "lupa"
    )
    assert out.returncode == 0, out.stdout + out.stderr
    # Without a JS source tree the JS adapters are left out, saying why; the rest run.
    assert "JavaScript: not run" in out.stdout and "--js-root" in out.stdout, out.stdout
    assert "lua-process interpreter: lupa" in out.stdout, out.stdout
    header = next(line for line in out.stdout.splitlines() if line.startswith("scenario"))
    assert header.split()[1:] == [
        *("py-sync", "py-async", "lua", "lua-process", "py-remote", "jetstream")
    ]
    # Without the nats extra the JetStream column is SKIP, saying what is missing.
    assert "JetStream: not run (nats-py is not installed" in out.stdout, out.stdout
    assert re.search(r"^conformance: \d+ passed, 0 failed$", out.stdout, re.M), out.stdout


def test_conformance_runner_from_the_wheel_with_a_js_source_tree(installed: Installed) -> None:
    if not (ROOT / "node_modules" / "@bufbuild" / "protobuf").is_dir():
        pytest.skip("node_modules missing: run `npm ci` (nox does)")
    out = installed.run(
        installed.python,
        *("-m", "hookwire.conformance", "--filter", "exec.no-hooks", "--js-root", ROOT),
        *("--adapters", "js-remote,lua-process"),
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert re.search(r"^conformance: 2 passed, 0 failed$", out.stdout, re.M), out.stdout


def test_conformance_runner_without_its_extra_says_what_to_install(installed: Installed) -> None:
    # As if hookwire were installed without [conformance]: jsonschema cannot be imported.
    code = (
        "import runpy, sys; sys.modules['jsonschema'] = None; sys.argv = ['x']; "
        "runpy.run_module('hookwire.conformance', run_name='__main__')"
    )
    out = installed.run(installed.python, "-c", code)
    assert out.returncode == 1
    assert out.stderr.strip() == (
        "python -m hookwire.conformance needs jsonschema: pip install 'hookwire[conformance]'"
    )
