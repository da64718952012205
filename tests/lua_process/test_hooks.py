"""Lua hooks in the worker process: results, native conventions, context, virtual time."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hookwire.runtime.clock import VirtualClock
from hookwire.runtime.context import HookContext, Operation
from hookwire.runtime.executor import Executor
from hookwire.runtime.lua_process import LuaProcessWorker, LuaWorkerError, WorkerGone
from hookwire.runtime.registry import Registry
from hookwire.runtime.results import (
    CONTINUE,
    Cache,
    Cancel,
    Fork,
    ForkOperation,
    Modified,
    Redirect,
    Replace,
    Retry,
    Skipped,
)

HookFile = Callable[[str, str], Path]


def one_hook(body: str, name: str = "h", opts: str = "") -> str:
    return (
        f'hookwire.register("before_tool_execution", function(ctx)\n{body}\nend, '
        f'{{name = "{name}"{", " + opts if opts else ""}}})\n'
    )


def run(
    hook_file: HookFile,
    workers: list[LuaProcessWorker],
    body: str,
    ctx: HookContext | None = None,
    **kwargs: Any,
) -> Any:
    reg = Registry()
    w = LuaProcessWorker(
        [hook_file("h.lua", one_hook(body))], registry=reg, blocking=True, **kwargs
    )
    workers.append(w)
    w.start()
    clock = kwargs.get("clock")
    ex = Executor(reg, clock=clock) if clock is not None else Executor(reg)
    return ex.execute(
        "before_tool_execution", ctx or HookContext("before_tool_execution", {"user": "bob"})
    )


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("return nil", CONTINUE),
        ("return hookwire.continue()", CONTINUE),
        ('return hookwire.cancel("no " .. ctx.data.user)', Cancel("no bob")),
        ('return hookwire.redirect("elsewhere")', Redirect("elsewhere")),
        ("return hookwire.replace(hookwire.array{1, 2.5, hookwire.null})", Replace([1, 2.5, None])),
        ("return hookwire.replace(hookwire.null)", Replace(None)),
        ("return hookwire.retry(250, 3)", Retry(250_000_000, 3)),
        ('return hookwire.cache("k", 30000)', Cache("k", 30_000_000_000)),
        ('return hookwire.skipped("not mine")', Skipped("not mine")),
        (
            'return hookwire.fork{{operation = "audit", parameters = {n = 1}}}',
            Fork((ForkOperation("audit", {"n": 1}),)),
        ),
        (
            "return hookwire.modified{user = hookwire.null, tags = hookwire.array{},"
            ' n = {m = "é"}}',
            Modified({"user": None, "tags": [], "n": {"m": "é"}}),
        ),
    ],
)
def test_results_built_with_the_sdk(
    hook_file: HookFile, workers: list[LuaProcessWorker], body: str, expected: Any
) -> None:
    w = LuaProcessWorker([hook_file("h.lua", one_hook(body))])
    workers.append(w)
    w.start()
    result = w.adapter("h").call(HookContext("before_tool_execution", {"user": "bob"}), 100_000_000)
    assert result == expected


def test_modified_merges_into_the_context(
    hook_file: HookFile, workers: list[LuaProcessWorker]
) -> None:
    execution = run(hook_file, workers, "return hookwire.modified{user = hookwire.null, n = 2}")
    assert execution.context.data == {"n": 2}


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ('error("plain text", 0)', "plain text"),
        ('error("with position")', "h.lua:2: with position"),
        ('error({message = "from a table"})', "h.lua:2: from a table"),
        ("error({code = 7})", "h.lua:2: {code = 7}"),
        ("local t = nil; return t.x", "h.lua:2: attempt to index a nil value (local 't')"),
    ],
)
def test_lua_errors_are_error_with_the_message(
    hook_file: HookFile, workers: list[LuaProcessWorker], body: str, reason: str
) -> None:
    [entry] = run(hook_file, workers, body).trace
    assert (entry.outcome.value, entry.reason) == ("ERROR", reason)


@pytest.mark.parametrize(
    "body",
    [
        'return "continue"',
        "return 42",
        "return true",
        'return {kind = "cancel", reason = "forged"}',
        "return hookwire.modified{[1] = 2, x = 1}",
        "return hookwire.replace(0/0)",
        'return hookwire.replace("\\255")',
    ],
)
def test_invalid_values_are_invalid_result(
    hook_file: HookFile, workers: list[LuaProcessWorker], body: str
) -> None:
    [entry] = run(hook_file, workers, body).trace
    assert (entry.outcome.value, entry.reason) == ("ERROR", "invalid_result")


def test_context_fields_cross_the_pipe(
    hook_file: HookFile, workers: list[LuaProcessWorker]
) -> None:
    ctx = HookContext(
        "custom:audit.step",
        {"a": [1, {"b": None}], "s": "x", "f": 1.5, "t": True, "empty": [], "obj": {}},
        metadata={"k": "v"},
        correlation_id="corr-1",
        language="python",
        timestamp_ns=1_700_000_000_123_456_789,
        operation=Operation("tool_call", "op-1", parameters={"p": 1}),
    )
    reg = Registry()
    code = (
        'hookwire.register("custom:audit.step", function(ctx) return hookwire.replace({'
        "point = ctx.point, data = ctx.data, metadata = ctx.metadata, cid = ctx.correlation_id,"
        " ts = ctx.timestamp_ns, op = ctx.operation, lang = ctx.language,"
        " empty_is_array = hookwire.is_array(ctx.data.empty)"
        '}) end, {name = "h"})'
    )
    w = LuaProcessWorker([hook_file("h.lua", code)], registry=reg, blocking=True)
    workers.append(w)
    w.start()
    result = Executor(reg).execute("custom:audit.step", ctx).result
    assert result == Replace(
        {
            "point": "custom:audit.step",
            "data": {"a": [1, {"b": None}], "s": "x", "f": 1.5, "t": True, "empty": [], "obj": {}},
            "metadata": {"k": "v"},
            "cid": "corr-1",
            "ts": 1_700_000_000_123_456_789,
            "op": {"type": "tool_call", "id": "op-1", "parameters": {"p": 1}},
            "lang": "python",
            "empty_is_array": True,
        }
    )


def test_virtual_time_is_exact(hook_file: HookFile, workers: list[LuaProcessWorker]) -> None:
    clock = VirtualClock()
    t0 = clock.monotonic_ns()
    execution = run(
        hook_file,
        workers,
        "advance_clock_ms(60); advance_clock_ms(0.5); return hookwire.replace(os.time())",
        clock=clock,
        virtual_clock=True,
    )
    [entry] = execution.trace
    assert entry.duration_ns == 60_500_000
    assert entry.slow is True
    assert clock.monotonic_ns() - t0 == 60_500_000
    # os.time() in the hook reads the executor's virtual wall time (seconds) at the call.
    assert execution.result == Replace((clock.time_ns() - 60_500_000) // 1_000_000_000)


def test_virtual_time_past_the_timeout_is_timeout(
    hook_file: HookFile, workers: list[LuaProcessWorker]
) -> None:
    clock = VirtualClock()
    execution = run(
        hook_file,
        workers,
        'advance_clock_ms(150); return hookwire.cancel("late")',
        clock=clock,
        virtual_clock=True,
    )
    [entry] = execution.trace
    assert (entry.outcome.value, entry.duration_ns) == ("TIMEOUT", 150_000_000)
    assert execution.result == CONTINUE


def test_async_executor_multiplexes_calls(
    hook_file: HookFile, workers: list[LuaProcessWorker]
) -> None:
    reg = Registry()
    code = one_hook("return hookwire.modified{seen = ctx.data.i}")
    w = LuaProcessWorker([hook_file("h.lua", code)], registry=reg)
    workers.append(w)
    w.start()
    ex = Executor(reg)

    async def main() -> list[Any]:
        return list(
            await asyncio.gather(
                *(
                    ex.aexecute(
                        "before_tool_execution", HookContext("before_tool_execution", {"i": i})
                    )
                    for i in range(20)
                )
            )
        )

    results = asyncio.run(main())
    assert [r.context.data["seen"] for r in results] == list(range(20))


def test_registration_options_reach_the_registry(
    hook_file: HookFile, workers: list[LuaProcessWorker]
) -> None:
    reg = Registry()
    code = (
        'hookwire.register("before_tool_execution", function() end, {name = "a", priority = -5,'
        ' timeout_ms = 250, failure_policy = "fail_closed", tags = {"x", "y"}, feature = "f",'
        " enabled = false})\n"
        'hookwire.register("custom:my.point", function() end)\n'
    )
    w = LuaProcessWorker([hook_file("hooks.lua", code)], registry=reg)
    workers.append(w)
    specs = {s.name: s for s in w.start()}
    a = reg.get("a")
    assert (a.point, a.priority, a.timeout_ns, a.failure_policy.value, a.language) == (
        "before_tool_execution",
        -5,
        250_000_000,
        "FAIL_CLOSED",
        "lua",
    )
    assert (sorted(a.tags), a.feature, a.enabled) == (["x", "y"], "f", False)
    assert set(specs) == {"a", "hooks.lua:2"}
    assert reg.get("hooks.lua:2").point == "custom:my.point"


def test_a_file_that_does_not_load_is_a_clear_error(
    hook_file: HookFile, workers: list[LuaProcessWorker]
) -> None:
    w = LuaProcessWorker([hook_file("bad.lua", "hookwire.register(\n  42)")], registry=Registry())
    workers.append(w)
    with pytest.raises(LuaWorkerError, match=r"bad\.lua:1: hookwire\.register: point must be"):
        w.start()


def test_a_taken_name_is_refused_and_nothing_registered(
    hook_file: HookFile, workers: list[LuaProcessWorker]
) -> None:
    reg = Registry()
    reg.register(lambda ctx: None, name="b", point="before_tool_execution")
    code = one_hook("", name="a") + one_hook("", name="b")
    w = LuaProcessWorker([hook_file("h.lua", code)], registry=reg)
    workers.append(w)
    with pytest.raises(LuaWorkerError, match="already registered"):
        w.start()
    assert "a" not in reg
    assert not w.running


def test_stop_unregisters_and_later_calls_fail(
    hook_file: HookFile, workers: list[LuaProcessWorker]
) -> None:
    reg = Registry()
    w = LuaProcessWorker([hook_file("h.lua", one_hook("return nil"))], registry=reg, blocking=True)
    w.start()
    adapter = w.adapter("h")
    pid = w.pid
    assert pid is not None
    w.stop()
    assert "h" not in reg
    assert not w.running
    with pytest.raises(WorkerGone, match="stopped"):
        adapter.call(HookContext("before_tool_execution"), 100_000_000)


def test_sandbox_is_the_embedded_one(hook_file: HookFile, workers: list[LuaProcessWorker]) -> None:
    [entry] = run(
        hook_file,
        workers,
        "return hookwire.replace(io == nil and os.execute == nil and debug == nil"
        ' and require("os") == nil)',
    ).trace
    assert entry.outcome.value == "ERROR"
    assert "require: module 'os' is not available in the hookwire sandbox" in entry.reason


DIFFERENTIAL = [
    HookContext("before_tool_execution"),
    HookContext("custom:x", {"n": [[], {}, None, -(2**63), 2**63 - 1, 0.1, "ü"]}),
    HookContext(
        "before_tool_execution",
        {"deep": {"a": {"b": {"c": [1]}}}},
        metadata={"m": "1"},
        language="lua",
        correlation_id="c",
        timestamp_ns=5,
        operation=Operation("t", "i", result=[1], parameters=None),
    ),
]


@pytest.mark.parametrize("ctx", DIFFERENTIAL, ids=["empty", "values", "full"])
def test_hooks_see_what_embedded_hooks_see(
    hook_file: HookFile, workers: list[LuaProcessWorker], ctx: HookContext
) -> None:
    from hookwire.runtime.lua import LuaHookAdapter, LuaSandbox

    code = (
        'hookwire.register("before_tool_execution", function(ctx) '
        'return hookwire.replace(ctx) end, {name = "h"})'
    )
    path = hook_file("h.lua", code)
    w = LuaProcessWorker([path])
    workers.append(w)
    w.start()
    process = w.adapter("h").call(ctx, 1_000_000_000)
    sb = LuaSandbox()
    [reg] = sb.load_file(path)
    embedded = LuaHookAdapter(sb, reg.fn).call(ctx, 1_000_000_000)
    assert process == embedded
    assert isinstance(process, Replace)
    assert process.value["data"] == ctx.data


def test_require_finds_modules_beside_the_hook_file_only(
    hook_file: HookFile, workers: list[LuaProcessWorker]
) -> None:
    hook_file("helpers.lua", "return {greet = function(u) return 'hi ' .. u end}")
    body = (
        'local ok, err = pcall(require, "../etc/passwd")\n'
        'return hookwire.replace({require("helpers").greet(ctx.data.user), err})'
    )
    w = LuaProcessWorker([hook_file("h.lua", one_hook(body))])
    workers.append(w)
    w.start()
    result = w.adapter("h").call(HookContext("before_tool_execution", {"user": "bob"}), 100_000_000)
    assert result == Replace(["hi bob", "require: invalid module name '../etc/passwd'"])


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('return hookwire.cancel("\\255")', "cancel.reason: must be a UTF-8 string"),
        ('return hookwire.redirect("\\255x")', "redirect.target: must be a UTF-8 string"),
        ('return hookwire.cache("\\200", 5)', "cache.key: must be a UTF-8 string"),
        ("local t = {} t.self = t return hookwire.modified(t)", "contains itself (a cycle)"),
    ],
)
def test_results_that_cannot_cross_are_invalid_with_the_reason(
    hook_file: HookFile, workers: list[LuaProcessWorker], body: str, message: str
) -> None:
    from hookwire.runtime.adapter import InvalidResult

    w = LuaProcessWorker([hook_file("h.lua", one_hook(body))])
    workers.append(w)
    w.start()
    with pytest.raises(InvalidResult, match=re.escape(message)):
        w.adapter("h").call(HookContext("before_tool_execution"), 1_000_000_000)


def test_error_messages_that_are_not_utf8_keep_their_text(
    hook_file: HookFile, workers: list[LuaProcessWorker]
) -> None:
    [entry] = run(hook_file, workers, 'error("bad \\255 byte \\200\\201 end", 0)').trace
    assert (entry.outcome.value, entry.reason) == ("ERROR", "bad \ufffd byte \ufffd\ufffd end")


def test_directories_give_every_lua_file_sorted(
    tmp_path: Path, workers: list[LuaProcessWorker]
) -> None:
    from hookwire.runtime.errors import InvalidArgument

    (tmp_path / "sub").mkdir()
    (tmp_path / "b.lua").write_text(one_hook("", name="b"))
    (tmp_path / "sub" / "a.lua").write_text(one_hook("", name="a"))
    (tmp_path / "notes.txt").write_text("not Lua")
    w = LuaProcessWorker([tmp_path])
    workers.append(w)
    assert [s.name for s in w.start()] == ["b", "a"]  # b.lua sorts before sub/a.lua
    with pytest.raises(InvalidArgument, match=r"hook_files\[1\]: .*missing.lua is neither a file"):
        LuaProcessWorker([tmp_path, tmp_path / "missing.lua"])
