"""Loading hook files: registrations, options, errors, require of siblings, all-or-nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from hookwire.runtime.clock import VirtualClock
from hookwire.runtime.context import HookContext
from hookwire.runtime.errors import AlreadyExists, InvalidArgument
from hookwire.runtime.executor import Executor
from hookwire.runtime.lua import LuaLoadError, LuaSandbox, load_lua_hooks
from hookwire.runtime.registry import FailurePolicy, Registry
from hookwire.runtime.results import Cancel, Modified


def write(dir: Path, name: str, text: str) -> Path:
    path = dir / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_directory_load_registers_every_hook_with_its_options(tmp_path: Path) -> None:
    write(
        tmp_path,
        "a_audit.lua",
        'hookwire.register("before_tool_execution", function(ctx) end, {\n'
        '  name = "audit", priority = -5, timeout_ms = 250, failure_policy = "fail_closed",\n'
        '  tags = {"security", "audit"}, feature = "auditing", enabled = false })\n',
    )
    write(
        tmp_path,
        "sub/b_tag.lua",
        "local function tag(ctx) return hookwire.modified{tagged = true} end\n"
        'hookwire.register("before_tool_execution", tag)\n'
        'hookwire.register("custom:my_point", tag, {priority = 7})\n',
    )
    registry = Registry()
    specs = load_lua_hooks(tmp_path, registry, LuaSandbox())
    assert [(s.name, s.point, s.priority) for s in specs] == [
        ("audit", "before_tool_execution", -5),
        ("sub/b_tag.lua:2", "before_tool_execution", 0),
        ("sub/b_tag.lua:3", "custom:my_point", 7),
    ]
    audit = specs[0]
    assert audit.language == "lua"
    assert audit.timeout_ns == 250_000_000
    assert audit.failure_policy is FailurePolicy.FAIL_CLOSED
    assert audit.tags == frozenset({"security", "audit"})
    assert (audit.feature, audit.enabled) == ("auditing", False)
    assert specs[1].timeout_ns == 100_000_000  # the default
    ex = Executor(registry, clock=VirtualClock()).execute(
        "custom:my_point", HookContext("custom:my_point", {})
    )
    assert ex.result == Modified({"tagged": True})


def test_single_file_and_require_of_a_sibling_module(tmp_path: Path) -> None:
    write(tmp_path, "lib/policy.lua", "return { banned = { rm = true } }\n")
    path = write(
        tmp_path,
        "guard.lua",
        'local policy = require("lib.policy")\n'
        'local hw = require("hookwire")\n'
        'hw.register("before_tool_execution", function(ctx)\n'
        "  if policy.banned[ctx.data.tool] then\n"
        "    return hw.cancel(ctx.data.tool .. ' is banned')\n"
        "  end\n"
        'end, {name = "guard"})\n',
    )
    registry = Registry()
    load_lua_hooks(path, registry, LuaSandbox())
    ex = Executor(registry, clock=VirtualClock()).execute(
        "before_tool_execution", HookContext("before_tool_execution", {"tool": "rm"})
    )
    assert ex.result == Cancel("rm is banned")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("hookwire.register(", "bad.lua: bad.lua:1: unexpected symbol near <eof>"),
        ("error('top level failure')", "bad.lua: bad.lua:1: top level failure"),
        (
            'hookwire.register("session_start", 42)',
            "bad.lua: bad.lua:1: hookwire.register: fn must be a function, got number",
        ),
        (
            'hookwire.register("session_start", function() end, {prio = 1})',
            "bad.lua: bad.lua:1: hookwire.register: unknown option prio (known: enabled, "
            "failure_policy, feature, name, priority, tags, timeout_ms)",
        ),
        (
            'hookwire.register("session_start", function() end, {priority = 1.5})',
            "bad.lua: bad.lua:1: hookwire.register: opts.priority must be an integer, got number",
        ),
        (
            'hookwire.register("session_start", function() end, {failure_policy = "open"})',
            'bad.lua: bad.lua:1: hookwire.register: opts.failure_policy must be "fail_open" or '
            '"fail_closed", got "open"',
        ),
        (
            'hookwire.register("session_start", function() end, {timeout_ms = 0})',
            "bad.lua: bad.lua:1: hookwire.register: opts.timeout_ms must be a positive finite"
            " number, got number",
        ),
    ],
)
def test_bad_files_fail_to_load_with_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, "bad.lua", text)
    with pytest.raises(LuaLoadError) as info:
        load_lua_hooks(path, Registry(), LuaSandbox())
    assert str(info.value) == message
    assert info.value.code == "INVALID_ARGUMENT"


def test_unknown_point_is_refused_naming_the_register_call(tmp_path: Path) -> None:
    path = write(tmp_path, "p.lua", '\n\nhookwire.register("no_such_point", function() end)\n')
    with pytest.raises(InvalidArgument) as info:
        load_lua_hooks(path, Registry(), LuaSandbox())
    assert info.value.field == "point"
    assert str(info.value).startswith("point: p.lua:3: unknown hook point 'no_such_point'")


def test_load_is_all_or_nothing(tmp_path: Path) -> None:
    write(
        tmp_path,
        "a.lua",
        'hookwire.register("session_start", function() end, {name = "one"})\n'
        'hookwire.register("session_start", function() end, {name = "taken"})\n',
    )
    registry = Registry()
    registry.register(lambda ctx: None, name="taken", point="session_end")
    with pytest.raises(AlreadyExists) as info:
        load_lua_hooks(tmp_path, registry, LuaSandbox())
    assert str(info.value) == "name: a.lua:2: a hook named 'taken' is already registered"
    assert [s.name for s in registry.hooks()] == ["taken"]


def test_missing_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument) as info:
        load_lua_hooks(tmp_path / "nope", Registry(), LuaSandbox())
    assert str(info.value) == f"path: {tmp_path / 'nope'} is neither a Lua file nor a directory"


def test_require_cannot_leave_the_hook_directory(tmp_path: Path) -> None:
    write(tmp_path, "secret.lua", "return 'secret'")
    hooks = tmp_path / "hooks"
    write(hooks, "link.lua", "")
    (hooks / "evil.lua").symlink_to(tmp_path / "secret.lua")
    path = write(hooks, "h.lua", 'local s = require("evil")\n')
    with pytest.raises(LuaLoadError) as info:
        LuaSandbox().load_file(path)
    assert str(info.value) == (
        "h.lua: h.lua:1: require: module 'evil' is not available in the hookwire sandbox "
        "(only 'hookwire' and .lua files beside the hook file)"
    )
