"""hookwire.toml: the schema, the errors (file, key path, reason), declarations and check-config."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hookwire.runtime.clock import VirtualClock
from hookwire.runtime.config import (
    SCHEMA_PATH,
    ConfigError,
    ConfiguredHooks,
    declare_hooks,
    load_config,
    schema,
    validate,
)
from hookwire.runtime.context import HookContext
from hookwire.runtime.executor import Executor
from hookwire.runtime.registry import Registry
from hookwire.runtime.results import Cancel

CLI = [sys.executable, "-m", "hookwire.runtime.cli"]


def _errors(tmp_path: Path, text: str) -> list[str]:
    p = tmp_path / "bad.toml"
    p.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(p, env={})
    assert all(line.startswith(f"{p}: ") for line in str(info.value).splitlines())
    return [str(e) for e in info.value.errors]


def test_the_published_schema_is_a_valid_draft_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(schema())
    assert json.loads(SCHEMA_PATH.read_text())["title"].startswith("hookwire serve")


DOCS: list[Any] = [
    {},
    {"server": {"port": 70000}},
    {"server": {"port": True}},
    {"server": {"token": "inline"}},
    {"hooks": {"python": [{"name": "a", "point": "x", "import": "m:f", "priority": 1.5}]}},
    {"hooks": {"python": [{"name": "", "point": "x", "import": "nocolon"}]}},
    {"hooks": {"lua": [{"path": "x", "sandbox": {"memory_limit_bytes": 10}}]}},
    {"hooks": {"builtin": [{"name": "a", "point": "p", "kind": "nope"}]}},
    {"hooks": {"composite": [{"name": "c", "point": "p", "kind": "VOTING", "children": []}]}},
    {"bus": {"transport": "kafka", "rate_limit": {"rate": 0}}},
    {"features": {"beta": "yes"}},
    {"hooks": {"python": [{"name": "a", "point": "p", "import": "m:f", "breaker": {"x": 1}}]}},
]


@pytest.mark.parametrize("doc", DOCS)
def test_the_validator_agrees_with_jsonschema(doc: Any) -> None:
    ours = validate(doc)
    theirs = list(jsonschema.Draft202012Validator(schema()).iter_errors(doc))
    assert bool(ours) == bool(theirs), (ours, [e.message for e in theirs])


def test_errors_name_the_key_path_and_the_reason(tmp_path: Path) -> None:
    errors = _errors(
        tmp_path,
        """
[server]
port = "x"
token = "inline"

[[hooks.python]]
name = "a"
point = "session_start"
import = "m:f"
priority = "high"
""",
    )
    assert errors == [
        "hooks.python[0].priority: must be an integer, got 'high'",
        "server.port: must be an integer, got 'x'",
        "server.token: unknown key (expected one of: host, max_hooks_per_worker, "
        "max_message_bytes, max_publish_batch, metrics_host, metrics_port, port, "
        "shutdown_grace_s, tls_cert, tls_key, token_env, token_file, worker_queue_bytes, "
        "worker_queue_messages)",
    ]


def test_bad_toml_names_the_line(tmp_path: Path) -> None:
    [error] = _errors(tmp_path, "[server\nport = 1\n")
    assert "not valid TOML" in error and "line 1" in error


def test_a_missing_token_variable_is_named(tmp_path: Path) -> None:
    assert _errors(tmp_path, '[server]\ntoken_env = "NOPE_TOKEN"\n') == [
        "server.token_env: environment variable NOPE_TOKEN is not set"
    ]


def test_the_token_comes_from_a_file_relative_to_the_config(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("s3cret\n")
    p = tmp_path / "c.toml"
    p.write_text('[server]\ntoken_file = "token"\n')
    assert load_config(p).server.token == "s3cret"


def test_nats_is_refused_naming_the_key_without_the_nats_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    from hookwire.runtime.config import file as config_file

    monkeypatch.setattr(
        config_file, "TRANSPORTS", {k: v for k, v in config_file.TRANSPORTS.items() if k != "nats"}
    )
    monkeypatch.delitem(sys.modules, "hookwire.runtime.config.nats_transport", raising=False)
    monkeypatch.setitem(sys.modules, "nats", None)  # as if nats-py were not installed
    [error] = _errors(tmp_path, '[bus]\ntransport = "nats"\n')
    assert error == "bus.transport: 'nats' needs nats"


def test_unknown_nats_settings_are_refused_naming_the_key(tmp_path: Path) -> None:
    [error] = _errors(tmp_path, '[bus]\ntransport = "nats"\nnats = { url = "nats://h:4222" }\n')
    assert error.startswith("bus.nats"), error
    assert "url" in error


def test_the_example_declares_every_kind_of_hook(config_dir: Path) -> None:
    clock = VirtualClock()
    config = load_config(config_dir / "hookwire.toml")
    assert config.server.token == "t0k3n" and config.server.default_capacity == 256
    declared, sandboxes = declare_hooks(config, clock)
    reg = Registry(clock=clock)
    ConfiguredHooks(reg).apply(declared, config.features, path=config.path, sandboxes=sandboxes)
    assert [(s.name, s.language, s.priority) for s in reg.hooks("before_tool_execution")] == [
        ("limit", "python", -10),
        ("tagger", "python", 10),
        ("lua_audit", "lua", 20),
        ("gate", "python", 30),
    ]
    assert reg.get("tagger").breaker.open_duration_ns == 5_000_000_000
    ex = Executor(reg, clock=clock)
    run = ex.execute("before_tool_execution", HookContext("before_tool_execution", {"tool": "x"}))
    assert run.context.data == {"tool": "x", "tagged": True, "audited": True}
    denied = ex.execute("before_tool_execution", HookContext("before_tool_execution", {}))
    assert denied.result == Cancel("no tool")


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (("ops_hooks:tag", "ops_hooks:nope"), "hooks.python[0].import: module 'ops_hooks' has no"),
        (("ops_hooks:tag", "missing_mod:tag"), "hooks.python[0].import: cannot import module"),
        (('path = "lua"', 'path = "nolua"'), "hooks.lua[0].path: "),
        (("rate = 1000, burst", "rate = -1, burst"), "hooks.builtin[0].settings.rate: "),
        (("burst = 100,", "burst = 100, bogus = 1,"), "hooks.builtin[0].settings: not a setting"),
        (
            ('point = "before_tool_execution"\npriority = 10', 'point = "nowhere"\npriority = 10'),
            "hooks.python[0].point: unknown hook point 'nowhere'",
        ),
    ],
)
def test_declaration_errors_name_the_key(
    config_dir: Path, edit: tuple[str, str], expected: str
) -> None:
    p = config_dir / "hookwire.toml"
    text = p.read_text()
    assert edit[0] in text
    p.write_text(text.replace(edit[0], edit[1], 1))
    config = load_config(p)
    with pytest.raises(ConfigError) as info:
        declared, sandboxes = declare_hooks(config, VirtualClock())
        ConfiguredHooks(Registry()).apply(declared, config.features, path=p, sandboxes=sandboxes)
    assert str(info.value).startswith(f"{p}: {expected}"), str(info.value)


def test_a_refused_declaration_puts_the_previous_hooks_back(config_dir: Path) -> None:
    config = load_config(config_dir / "hookwire.toml")
    reg = Registry()
    hooks = ConfiguredHooks(reg)
    declared, boxes = declare_hooks(config, VirtualClock())
    hooks.apply(declared, config.features, path=config.path, sandboxes=boxes)
    before = [s.name for s in reg.hooks()]
    reg.register(lambda ctx: None, name="worker_hook", point="session_start")
    clash = [
        *declared[:2],
        type(declared[0])(
            "hooks.python[9]", declared[0].hook, {"name": "worker_hook", "point": "session_start"}
        ),
    ]
    with pytest.raises(ConfigError, match=r"hooks.python\[9\].name: a hook named 'worker_hook'"):
        hooks.apply(clash, {}, path=config.path)
    assert sorted(s.name for s in reg.hooks()) == sorted([*before, "worker_hook"])
    assert hooks.names == tuple(before) or set(hooks.names) == set(before)


def test_check_config_exit_codes(config_dir: Path, tmp_path: Path) -> None:
    ok = subprocess.run(
        [*CLI, "check-config", str(config_dir / "hookwire.toml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ok.returncode == 0, ok.stderr
    assert "OK (4 hook(s) at 1 point(s))" in ok.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text("[server]\nport = -1\n")
    res = subprocess.run(
        [*CLI, "check-config", str(bad)], capture_output=True, text=True, timeout=60
    )
    assert res.returncode == 1
    assert f"{bad}: server.port: must be >= 0, got -1" in res.stderr


def test_serve_does_not_start_on_a_bad_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[[hooks.python]]\nname = "a"\npoint = "session_start"\nimport = "no_such:f"\n')
    res = subprocess.run(
        [*CLI, "serve", "--config", str(bad), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 2
    assert "hookwire serving" not in res.stdout
    assert f"{bad}: hooks.python[0].import: cannot import module 'no_such'" in res.stderr


def test_a_transport_module_is_imported_when_a_file_names_its_transport(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hookwire.runtime.bus.transport import InProcessTransport
    from hookwire.runtime.config import file as config_file

    (tmp_path / "fake_nats.py").write_text(
        "from hookwire.runtime.bus.transport import InProcessTransport\n"
        "from hookwire.runtime.config import register_transport\n"
        "register_transport('nats', lambda settings, clock: InProcessTransport(7))\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(config_file.TRANSPORT_MODULES, "nats", "fake_nats")
    # As if no "nats" transport were registered yet (another test may have imported the real one).
    monkeypatch.setattr(
        config_file, "TRANSPORTS", {k: v for k, v in config_file.TRANSPORTS.items() if k != "nats"}
    )
    p = tmp_path / "c.toml"
    p.write_text('[bus]\ntransport = "nats"\nnats = { servers = ["nats://127.0.0.1:4222"] }\n')
    config = load_config(p)
    assert config.bus.nats == {"servers": ["nats://127.0.0.1:4222"]}
    assert isinstance(config.transport(VirtualClock()), InProcessTransport)


def test_check_config_json(config_dir: Path, tmp_path: Path) -> None:
    ok = subprocess.run(
        [*CLI, "check-config", str(config_dir / "hookwire.toml"), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ok.returncode == 0
    assert json.loads(ok.stdout)["hooks"] == ["tagger", "lua_audit", "limit", "gate"]
    bad = tmp_path / "bad.toml"
    bad.write_text("[server]\nport = -1\n")
    res = subprocess.run(
        [*CLI, "check-config", str(bad), "--json"], capture_output=True, text=True, timeout=60
    )
    assert res.returncode == 1
    assert json.loads(res.stdout)["errors"] == [
        {"path": "server.port", "reason": "must be >= 0, got -1"}
    ]


def test_a_swap_lets_running_executions_finish_on_their_chain() -> None:
    import asyncio

    from hookwire.runtime.config import Declared
    from hookwire.runtime.results import Modified

    async def main() -> None:
        reg = Registry()
        ex = Executor(reg)
        gate = asyncio.Event()

        async def slow_old(ctx: HookContext) -> Modified:
            await gate.wait()
            return Modified({"by": "old-slow"})

        hooks = ConfiguredHooks(reg)
        point = "session_start"
        old = [
            Declared("hooks.python[0]", slow_old, {"name": "a", "point": point}),
            Declared(
                "hooks.python[1]",
                lambda ctx: Modified({"tail": "old"}),
                {"name": "b", "point": point, "priority": 1},
            ),
        ]
        hooks.apply(old, {}, path="x.toml")
        running = asyncio.create_task(ex.aexecute(point, HookContext(point)))
        await asyncio.sleep(0.01)  # the running execution waits inside hook a
        new = [
            Declared(
                "hooks.python[0]",
                lambda ctx: Modified({"by": "new"}),
                {"name": "c", "point": point},
            )
        ]
        hooks.apply(new, {}, path="x.toml")
        after = await ex.aexecute(point, HookContext(point))
        gate.set()
        before = await running
        assert before.context.data == {"by": "old-slow", "tail": "old"}
        assert [t.hook_name for t in before.trace] == ["a", "b"]
        assert after.context.data == {"by": "new"}
        assert hooks.names == ("c",)

    asyncio.run(main())


def test_worker_limits_come_from_the_file(tmp_path: Path) -> None:
    p = tmp_path / "c.toml"
    p.write_text("[server]\nworker_queue_messages = 50\nmax_hooks_per_worker = 3\n")
    server = load_config(p).server
    assert (server.worker_queue_messages, server.max_hooks_per_worker) == (50, 3)


def test_a_file_nested_too_deeply_is_refused_not_a_crash(tmp_path: Path) -> None:
    [error] = _errors(tmp_path, "a = " + "[" * 100_000 + "]" * 100_000 + "\n")
    assert error == "not valid TOML here: nested too deeply to read"
