"""The Lua attack corpus: hostile hooks against the embedded sandbox and the Lua worker process.

Every case is one hook body. It runs with a 200 ms timeout and must end with its typed outcome
(TIMEOUT, ERROR with the expected reason, INVALID_RESULT, or the result a safe sandbox gives)
within timeout + 100 ms of CPU time (the host's for the embedded adapter, the worker's for the
process; a shared machine stretches wall time, not CPU time). Then the same hook, called
without the attack, and another hook both answer normally.

The same cases run on both adapters: the process worker loads the same sandbox files.
`python -m tests.hostile.lua_campaign` runs them with many variants (see that module).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hookwire.runtime.adapter import HookFailed, HookTimedOut, InvalidResult
from hookwire.runtime.context import HookContext
from hookwire.runtime.limits import MAX_JSON_DEPTH
from hookwire.runtime.lua import LuaHookAdapter, LuaSandbox, read_lua_hooks
from hookwire.runtime.lua_process import LuaProcessWorker, LuaWorkerError
from hookwire.runtime.results import HookResult, Replace

TIMEOUT_MS = 200
SLACK_MS = 100
MEMORY_LIMIT = 64 * 1024 * 1024


@dataclass(frozen=True)
class Attack:
    """One hostile hook: `body` runs when ctx.data.attack is true.

    `outcome` is "timeout", "error", "invalid_result" or "result"; `reason` a part of the error
    message (or the repr of the expected result); "error|timeout" allows either (a bomb that
    the memory limit or the clock may stop first).
    """

    name: str
    klass: str
    body: str
    outcome: str
    reason: str = ""


SPIN = "while true do end"

ATTACKS: list[Attack] = [
    # -- protected calls must not swallow the stop ------------------------------------------
    Attack("load_reader", "protected", f"while true do load(function() {SPIN} end) end", "timeout"),
    Attack(
        "coroutine_close",
        "protected",
        "while true do local co = coroutine.create(function() "
        f"local x <close> = setmetatable({{}}, {{__close = function() {SPIN} end}}) "
        "coroutine.yield() end) coroutine.resume(co) coroutine.close(co) end",
        "timeout",
    ),
    Attack("pcall_loop", "protected", f"while true do pcall(function() {SPIN} end) end", "timeout"),
    Attack(
        "xpcall_handler",
        "protected",
        f"while true do xpcall(error, function() {SPIN} end) end",
        "timeout",
    ),
    Attack(
        "close_replaces_stop",
        "protected",
        "local x <close> = setmetatable({}, {__close = function() error('mine') end}) " + SPIN,
        "timeout",
    ),
    Attack(
        "close_replaces_stop_in_pcall",
        "protected",
        "while true do pcall(function() local x <close> = setmetatable({}, "
        f"{{__close = function() error('mine') end}}) {SPIN} end) end",
        "timeout",
    ),
    Attack(
        "wrap_in_pcall",
        "protected",
        f"while true do pcall(coroutine.wrap(function() {SPIN} end)) end",
        "timeout",
    ),
    Attack(
        "gsub_function",
        "protected",
        f"while true do pcall(string.gsub, 'aaaa', 'a', function() {SPIN} end) end",
        "timeout",
    ),
    Attack(
        "sort_comparator",
        "protected",
        f"while true do pcall(table.sort, {{3, 2, 1}}, function() {SPIN} end) end",
        "timeout",
    ),
    Attack(
        "index_metamethod",
        "protected",
        f"local t = setmetatable({{}}, {{__index = function() {SPIN} end}}) "
        "while true do pcall(function() return t.x end) end",
        "timeout",
    ),
    Attack(
        "tostring_in_pcall",
        "protected",
        f"local t = setmetatable({{}}, {{__tostring = function() {SPIN} end}}) "
        "while true do pcall(tostring, t) end",
        "timeout",
    ),
    # -- nothing of the hook runs outside the budget ------------------------------------------
    Attack(
        "fake_result_metatable",
        "after_budget",
        "return setmetatable({}, {__metatable = 'hookwire.result', "
        f"__index = function() {SPIN} end}})",
        "invalid_result",
        "a table not built by a hookwire.* helper",
    ),
    Attack(
        "key_tostring_on_error_path",
        "after_budget",
        f"return hookwire.replace({{[setmetatable({{}}, {{__tostring = function() {SPIN} end}})]"
        " = 1})",
        "invalid_result",
        "replace.value: has the key a table of type table",
    ),
    Attack(
        "error_object_tostring",
        "after_budget",
        f"error({{[setmetatable({{}}, {{__tostring = function() {SPIN} end}})] = 1}})",
        "error",
        ": {[{}] = 1}",
    ),
    Attack(
        "deep_result",
        "after_budget",
        "local r = {} local t = r for i = 1, 40000 do local n = {} t[1] = n t = n end "
        "return hookwire.replace(r)",
        "invalid_result",
        f"nested deeper than {MAX_JSON_DEPTH}",
    ),
    Attack(
        "cyclic_result",
        "after_budget",
        "local t = {} t.a = {b = t} return hookwire.replace(t)",
        "invalid_result",
        "replace.value.a.b: contains itself (a cycle)",
    ),
    Attack(
        "result_with_metamethods",
        "after_budget",
        f"return hookwire.replace(setmetatable({{}}, {{__pairs = function() {SPIN} end, "
        f"__len = function() {SPIN} end}}))",
        "invalid_result",
        "replace.value: is a table with a metatable of its own",
    ),
    Attack(
        "huge_result",
        "after_budget",
        "return hookwire.replace({string.byte(string.rep('a', 300000), 1, -1)})",
        "invalid_result|timeout",  # flattening 300,000 items may take the whole budget
        "replace.value: holds more than 262144 values",
    ),
    # -- no other execution's data --------------------------------------------------------------
    Attack(
        "raw_next_forged_handles",
        "isolation",
        "local f = pairs({}) local k = f(ctx) local out = {} "
        "for h = 1, 64 do out[h] = {[k] = h} end return hookwire.replace(out)",
        "result",
        "no-secret",
    ),
    Attack(
        "raw_next_of_proxy_pairs",
        "isolation",
        "local f = pairs(ctx.data) local bad = 0 "
        "for k in f, ctx do if type(k) ~= 'string' then bad = bad + 1 end end "
        "return hookwire.replace(bad)",
        "result",
        "Replace(value=0)",
    ),
    Attack(
        "rawset_null",
        "isolation",
        "rawset(hookwire.null, 'leak', 'x')",
        "error",
        "rawset: this table is read-only",
    ),
    Attack(
        "string_metatable",
        "isolation",
        "getmetatable('').__index.leak = 1",
        "error",
        "attempt to index",
    ),
    Attack(
        "result_mutation",
        "forged_result",
        "local r = hookwire.cancel('x') r.reason = 1 << 31 return r",
        "error",
        "hookwire results are read-only",
    ),
    Attack(
        "result_rawset",
        "forged_result",
        "local r = hookwire.cancel('x') rawset(r, 'reason', 1 << 31) "
        "rawset(r, 'kind', 'retry') return r",
        "result",
        "Cancel(reason='x')",
    ),
    Attack(
        "forged_cancel",
        "forged_result",
        "return setmetatable({kind = 'cancel', reason = 1 << 31}, "
        "{__metatable = 'hookwire.result'})",
        "invalid_result",
        "a table not built by a hookwire.* helper",
    ),
    # -- C functions ------------------------------------------------------------------------------
    Attack(
        "literal_match",
        "c_work",
        "return string.rep('a', 1e5):match(string.rep('a', 1e4) .. 'b')",
        "result|timeout",  # a literal: searched plainly, window by window (no match: nil)
        "Continue()",
    ),
    Attack(
        "class_heavy_find",
        "c_work",
        "return string.rep('a', 200000):find(string.rep('%a', 5000) .. 'b')",
        "error",
        "could take more steps than one call may",
    ),
    Attack(
        "plain_find",
        "c_work",
        "local s = string.rep('a', 1e6) local p = string.rep('a', 2e5) .. 'b' "
        "return s:find(p, 1, true)",
        "timeout",
    ),
    Attack(
        "nested_repetitions",
        "c_work",
        "return string.rep('a', 3000):find('a*a*a*a*b')",
        "error",
        "could take more steps than one call may",
    ),
    Attack(
        "empty_pattern_gsub",
        "c_work",
        "return string.gsub(string.rep('a', 2e7), '', 'x')",
        "error",
        "could take more steps than one call may",
    ),
    Attack(
        "balance_scan",
        "c_work",
        "return string.rep('(', 1e5):find('%b()')",
        "error",
        "could take more steps than one call may",
    ),
    Attack("table_move_nils", "c_work", "table.move({}, 1, 1 << 50, 1, {})", "timeout"),
    Attack(
        "insert_huge_len",
        "c_work",
        "table.insert(setmetatable({}, {__len = function() return 1 << 50 end}), 1, 'x')",
        "timeout",
    ),
    Attack(
        "remove_huge_len",
        "c_work",
        "table.remove(setmetatable({}, {__len = function() return 1 << 50 end}), 1)",
        "timeout",
    ),
    Attack(
        "concat_c_index",
        "c_work",
        "return table.concat(setmetatable({}, {__index = tostring}), '', 1, 1 << 40)",
        "error|timeout",
        "",
    ),
    Attack(
        "move_c_metamethods",
        "c_work",
        "table.move(setmetatable({}, {__index = tostring}), 1, 1 << 50, 1, "
        "setmetatable({}, {__newindex = rawequal}))",
        "timeout",
    ),
    Attack(
        "rep_empty_unit",
        "c_work",
        "return hookwire.replace(#string.rep('', 1 << 50))",
        "result",
        "Replace(value=0)",
    ),
    Attack("rep_too_big", "c_work", "return string.rep('x', 1 << 40)", "error", "memory"),
    Attack(
        "long_string_bytewise",
        "c_work",
        "local s = string.rep('a', 4e6) while true do s = s:upper():lower():reverse() end",
        "timeout",
    ),
    Attack(
        "utf8_len_long",
        "c_work",
        "local s = string.rep('\\u{e9}', 3e6) while true do utf8.len(s) end",
        "timeout",
    ),
    Attack(
        "concat_many_floats",
        "c_work",
        "local t = {} for i = 1, 4e5 do t[i] = i + 0.5 end while true do table.concat(t, ',') end",
        "timeout",
    ),
    Attack(
        "format_q_long",
        "c_work",
        "return string.format('%q', string.rep('a', 2e6))",
        "error",
        "more than the sandbox escapes in one call",
    ),
    Attack(
        "forged_retry_delay",
        "forged_result",
        "local r = hookwire.retry(1, 1) rawset(r, 'delay_ms', 1e308) return r",
        "result",
        "Retry(delay_ns=1000000, max_attempts=1)",
    ),
    Attack(
        "load_huge_chunk",
        "c_work",
        "return load(string.rep('a = 1 ', 1e6))",
        "error",
        "is larger than the sandbox compiles",
    ),
    Attack(
        "pack_huge_format",
        "c_work",
        "return string.packsize(string.rep('b', 1e7))",
        "error",
        "longer than the sandbox allows",
    ),
    Attack(
        "sort_big_c_compare",
        "c_work",
        "local t = {} for i = 1, 200000 do t[i] = (i * 7919) % 100003 end "
        "while true do table.sort(t, math.max) end",
        "error|timeout",
        "",
    ),
    Attack(
        "sort_callable_table",
        "c_work",
        "local t = {} for i = 1, 200000 do t[i] = (i * 7919) % 100003 end "
        "local cmp = setmetatable({}, {__call = rawequal}) "
        "while true do table.sort(t, cmp) end",
        "error|timeout",
        "",
    ),
    # -- classes that held before: stdlib escapes, runaways, memory bombs ----------------------
    Attack("io", "stdlib", "return io.open('/etc/passwd')", "error", "attempt to index"),
    Attack("os_execute", "stdlib", "return os.execute('true')", "error", "attempt to call"),
    Attack("debug", "stdlib", "return debug.getinfo(1)", "error", "attempt to index"),
    Attack("package", "stdlib", "return package.loadlib('x', 'y')", "error", "attempt to index"),
    Attack("require_os", "stdlib", "return require('os')", "error", "not available"),
    Attack("string_dump", "stdlib", "return string.dump(print)", "error", "attempt to call"),
    Attack(
        "binary_chunk",
        "stdlib",
        "return load('\\27Lua', nil, 'b')",
        "error",
        "mode b is not allowed",
    ),
    Attack("gc_metamethod", "stdlib", "setmetatable({}, {__gc = print})", "error", "__gc"),
    Attack("collectgarbage", "stdlib", "collectgarbage()", "error", "not allowed"),
    Attack("spin", "runaway", SPIN, "timeout"),
    Attack("spin_in_coroutine", "runaway", f"coroutine.wrap(function() {SPIN} end)()", "timeout"),
    Attack(
        "spin_in_metamethod",
        "runaway",
        f"return setmetatable({{}}, {{__index = function() {SPIN} end}}).x",
        "timeout",
    ),
    Attack(
        "recursive_index",
        "runaway",
        "return setmetatable({}, {__index = function(t, k) return t[k] end}).x",
        "error",
        "stack overflow",
    ),
    Attack(
        "string_doubling",
        "memory",
        "local s = 'x' while true do s = s .. s end",
        "error",
        "memory",
    ),
    Attack(
        "table_growth",
        "memory",
        "local t = {} for i = 1, 1e9 do t[i] = i end",
        "error|timeout",
        "memory",
    ),
    Attack(
        "bomb_in_pcall",
        "memory",
        "while true do pcall(function() local s = 'x' while true do s = s .. s end end) end",
        "error|timeout",
        "memory",
    ),
]

CROSS_FILE = {
    # One file writes where another might read; the reader must see nothing.
    "leak_a.lua": (
        'hookwire.register("session_start", function(ctx) '
        "pcall(rawset, hookwire.null, 'leak', ctx.data.secret) "
        "string.leak = ctx.data.secret hookwire.leak = ctx.data.secret "
        "_G.leak = ctx.data.secret end, {name = 'leak_a'})\n"
    ),
    "leak_b.lua": (
        'hookwire.register("session_start", function(ctx) '
        "return hookwire.replace(tostring(rawget(hookwire.null, 'leak')) .. ' ' .. "
        "tostring(('').leak) .. ' ' .. tostring(string.leak) .. ' ' .. tostring(hookwire.leak) "
        ".. ' ' .. tostring(leak)) end, {name = 'leak_b'})\n"
    ),
}


def hook_file_text(attacks: list[Attack]) -> str:
    lines = []
    for a in attacks:
        lines.append(
            'hookwire.register("session_start", function(ctx) '
            f"if ctx.data.attack then {a.body} end return hookwire.replace('ok') end, "
            f"{{name = {a.name!r}, timeout_ms = {TIMEOUT_MS}}})"
        )
    lines.append(
        'hookwire.register("session_start", function(ctx) return hookwire.replace("other") end,'
        " {name = 'other'})"
    )
    return "\n".join(lines) + "\n"


def write_hooks(directory: Path, attacks: list[Attack]) -> Path:
    # One line per hook, so that "h.lua:1:" prefixes stay short: the chunk is named h.lua.
    (directory / "h.lua").write_text(hook_file_text(attacks))
    for name, text in CROSS_FILE.items():
        (directory / name).write_text(text)
    return directory


class Target:
    """One adapter kind serving the corpus: `call(name, data)` returns (outcome, cpu_s)."""

    kind: str

    def call(self, name: str, data: dict[str, Any]) -> tuple[Any, float]:
        raise NotImplementedError

    def close(self) -> None:
        pass


def _outcome(fn: Callable[[], HookResult]) -> Any:
    try:
        return fn()
    except HookTimedOut:
        return ("timeout", "")
    except InvalidResult as exc:
        return ("invalid_result", str(exc))
    except HookFailed as exc:
        return ("error", str(exc))


class Embedded(Target):
    kind = "embedded"

    def __init__(self, directory: Path) -> None:
        self.sandbox = LuaSandbox(memory_limit=MEMORY_LIMIT)
        self.adapters: dict[str, LuaHookAdapter] = {}
        for reg, adapter in read_lua_hooks(directory, self.sandbox):
            self.adapters[reg.name] = adapter

    def call(self, name: str, data: dict[str, Any]) -> tuple[Any, float]:
        adapter = self.adapters[name]
        t0 = time.process_time()
        out = _outcome(lambda: adapter.call(HookContext("session_start", data), TIMEOUT_MS * 10**6))
        return out, time.process_time() - t0


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Process(Target):
    kind = "process"

    def __init__(self, directory: Path) -> None:
        self.worker = LuaProcessWorker([directory], blocking=True, kill_grace_ms=2000)
        self.worker.start()

    def call(self, name: str, data: dict[str, Any]) -> tuple[Any, float]:
        adapter = self.worker.adapter(name)
        pid = self.worker.pid
        assert pid is not None
        t0 = _cpu_s(pid)
        # The worker stops the hook by its own CPU clock: its own answer is awaited (for a
        # generous wall time, so that a loaded machine does not turn into a verdict), not
        # abandoned at the deadline as the adapter's `call` would.
        ctx = HookContext("session_start", data)
        _, future = self.worker.submit(name, ctx, TIMEOUT_MS * 10**6)
        out = _outcome(lambda: adapter._outcome(future.result(30)))
        try:
            return out, _cpu_s(pid) - t0
        except OSError:  # the worker died: the outcome says why
            return out, 0.0

    def close(self) -> None:
        self.worker.stop()


def start_process(directory: Path) -> Process | None:
    """The worker process with the interpreter LuaProcessWorker picks by default; None when
    there is no interpreter to start at all."""
    try:
        return Process(directory)
    except LuaWorkerError as exc:
        if exc.field == "lua" or "cannot start" in str(exc):
            return None
        raise


@pytest.fixture(scope="module", params=["embedded", "process"])
def target(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Target]:
    directory = write_hooks(tmp_path_factory.mktemp("hostile"), ATTACKS)
    t: Target | None = (
        Embedded(directory) if request.param == "embedded" else start_process(directory)
    )
    if t is None:
        pytest.skip("no Lua interpreter for the worker process")
    try:
        yield t
    finally:
        t.close()


SECRET = "s3cret-of-another-call"


def check(attack: Attack, out: Any) -> None:
    """Assert the typed outcome of one attack."""
    kinds = attack.outcome.split("|")
    if "timeout" in kinds and out == ("timeout", ""):
        return
    if "result" in kinds:
        if attack.reason == "no-secret":
            assert isinstance(out, Replace), out
            assert SECRET not in repr(out)
        else:
            assert repr(out) == attack.reason
        return
    assert isinstance(out, tuple), f"{attack.name}: expected {attack.outcome}, got {out!r}"
    assert out[0] in kinds, f"{attack.name}: expected {attack.outcome}, got {out!r}"
    if attack.reason and out[0] != "timeout":
        if attack.reason == "memory":
            assert "memory" in out[1], out
        else:
            assert attack.reason in out[1], out


@pytest.mark.parametrize("attack", ATTACKS, ids=[a.name for a in ATTACKS])
def test_attack_is_contained(target: Target, attack: Attack) -> None:
    # Another execution's data, still alive in the host (the victim runs first).
    target.call("other", {"secret": SECRET})
    out, cpu_s = target.call(attack.name, {"attack": True, "secret": SECRET})
    check(attack, out)
    assert cpu_s <= (TIMEOUT_MS + SLACK_MS) / 1000, f"{attack.name}: {cpu_s * 1000:.0f} ms of CPU"
    again, _ = target.call(attack.name, {"attack": False})
    assert again == Replace("ok")
    other, _ = target.call("other", {})
    assert other == Replace("other")


def test_files_share_no_writable_table(target: Target) -> None:
    out, _ = target.call("leak_a", {"secret": SECRET})
    assert out is not None
    read, _ = target.call("leak_b", {})
    assert read == Replace("nil nil nil nil nil")
