"""Hostile code: every escape attempt fails with a clear error, and the limits hold."""

from __future__ import annotations

import logging
import time
from typing import Any

import lupa.lua54 as lupa
import pytest
from hookwire.runtime.adapter import HookFailed, HookTimedOut, InvalidResult
from hookwire.runtime.context import HookContext
from hookwire.runtime.lua import LuaHookAdapter, LuaSandbox
from hookwire.runtime.results import Cancel, Continue, Replace

MB = 1024 * 1024


def failure(run: Any, body: str) -> str:
    with pytest.raises(HookFailed) as info:
        run(body)
    return str(info.value)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("local f = io.open('/etc/passwd')", "h.lua:1: attempt to index a nil value (global 'io')"),
        ("os.execute('id')", "h.lua:1: attempt to call a nil value (field 'execute')"),
        ("os.getenv('HOME')", "h.lua:1: attempt to call a nil value (field 'getenv')"),
        ("os.remove('/tmp/x')", "h.lua:1: attempt to call a nil value (field 'remove')"),
        (
            "package.loadlib('libc.so.6', 'system')",
            "h.lua:1: attempt to index a nil value (global 'package')",
        ),
        ("debug.getinfo(1)", "h.lua:1: attempt to index a nil value (global 'debug')"),
        ("debug.sethook()", "h.lua:1: attempt to index a nil value (global 'debug')"),
        ("python.eval('1')", "h.lua:1: attempt to index a nil value (global 'python')"),
        ("dofile('/etc/passwd')", "h.lua:1: attempt to call a nil value (global 'dofile')"),
        ("loadfile('/etc/passwd')", "h.lua:1: attempt to call a nil value (global 'loadfile')"),
        (
            "local f = load(string.dump(function() end))",
            "h.lua:1: attempt to call a nil value (field 'dump')",
        ),
        (
            "local f = load('return 1', 'x', 'b')",
            'h.lua:1: load: mode b is not allowed in the hookwire sandbox (only text chunks, "t")',
        ),
        (
            "local f = load('return 1', 'x', 'bt')",
            'h.lua:1: load: mode bt is not allowed in the hookwire sandbox (only text chunks, "t")',
        ),
        (
            "local f, e = load('\\27LuaT\\0\\25\\147') error(e, 0)",
            "attempt to load a binary chunk (mode is 't')",
        ),
        (
            "collectgarbage('stop')",
            'h.lua:1: collectgarbage: option "stop" is not allowed in the hookwire sandbox'
            ' (only "count")',
        ),
        (
            "collectgarbage()",
            "h.lua:1: collectgarbage: option nil (a full collection) is not allowed in the"
            ' hookwire sandbox (only "count")',
        ),
        # The string metatable is protected: getmetatable answers a string, not the table.
        ("getmetatable('').__index = {}", "h.lua:1: attempt to index a string value"),
        (
            "setmetatable('', {})",
            "h.lua:1: bad argument #1 to 'setmetatable' (table expected, got string)",
        ),
        # Context tables and SDK markers have protected metatables.
        ("setmetatable(ctx.data, {})", "h.lua:1: cannot change a protected metatable"),
        ("setmetatable(hookwire.null, {})", "h.lua:1: cannot change a protected metatable"),
        ("hookwire.null.x = 1", "h.lua:1: hookwire.null is read-only"),
        # Wrapped functions still blame the hook's line and name themselves.
        (
            "local x = rawget(1, 2)",
            "h.lua:1: bad argument #1 to 'rawget' (table expected, got number)",
        ),
        (
            "local x = rawlen(1)",
            "h.lua:1: bad argument #1 to 'rawlen' (table or string expected, got number)",
        ),
        (
            "local x = coroutine.wrap(1)",
            "h.lua:1: bad argument #1 to 'wrap' (function expected, got number)",
        ),
        ("local x = os.time({})", "h.lua:1: field 'year' missing in date table"),
        (
            "local x = os.date('%Ez')",
            "h.lua:1: bad argument #1 to 'date' (invalid conversion specifier '%Ez')",
        ),
        # Finalizers would run outside any time budget.
        (
            "setmetatable({}, {__gc = function() while true do end end})",
            "h.lua:1: setmetatable: __gc metamethods are not allowed in the hookwire sandbox",
        ),
    ],
)
def test_escape_attempts_fail_with_a_clear_error(run: Any, body: str, message: str) -> None:
    assert failure(run, body) == message


@pytest.mark.parametrize("module", ["os", "io", "debug", "ffi", "socket", "lupa"])
def test_require_of_anything_but_the_sdk_fails(run: Any, module: str) -> None:
    assert failure(run, f"local m = require('{module}')") == (
        f"h.lua:1: require: module '{module}' is not available in the hookwire sandbox"
        " (only 'hookwire' and .lua files beside the hook file)"
    )


def test_require_rejects_path_tricks(run: Any) -> None:
    assert failure(run, "local m = require('../etc/passwd')") == (
        "h.lua:1: require: invalid module name '../etc/passwd'"
    )


def test_hidden_globals_are_nil_and_string_dump_is_gone(run: Any) -> None:
    result = run(
        "local t = {} for _, n in ipairs({'io', 'debug', 'package', 'python', 'dofile', "
        "'loadfile', 'loadstring', 'require'}) do t[#t + 1] = type(_G[n]) end "
        "t[#t + 1] = tostring(('').dump) t[#t + 1] = tostring(string.dump) "
        "t[#t + 1] = getmetatable('') return hookwire.replace(t)"
    )
    assert result == Replace(
        ["nil", "nil", "nil", "nil", "nil", "nil", "nil", "function", "nil", "nil", "string"]
    )


def test_safe_os_reads_the_runtime_clock() -> None:
    from hookwire.runtime.clock import VirtualClock

    clock = VirtualClock(start_unix_ns=1_000_000_000_000_000_000)
    sb = LuaSandbox(clock=clock)
    [reg] = sb.load_source(
        'hookwire.register("session_start", function(ctx) '
        "return hookwire.replace({os.time(), os.clock()}) end)",
        "t.lua",
    )
    from hookwire.runtime.lua import LuaHookAdapter

    hook = LuaHookAdapter(sb, reg.fn)
    clock.advance_ms(2500)
    assert hook.call(HookContext("session_start"), 10**8) == Replace([1_000_000_002, 2.5])


def test_python_objects_stay_opaque(sb: LuaSandbox) -> None:
    # No Python object reaches hook code; if one did, attribute access would be refused.
    probe = sb.lua.eval("function(o) return pcall(function() return o.__class__ end) end")
    ok, err = probe(object())
    assert ok is False
    assert "Python objects are not accessible from hookwire Lua code" in str(err)


def test_shared_libraries_cannot_be_tampered_with_across_files(sb: LuaSandbox) -> None:
    from hookwire.runtime.lua import LuaHookAdapter

    sb.load_source("string.upper = function() return 'pwned' end hookwire.cancel = nil", "a.lua")
    [reg] = sb.load_source(
        'hookwire.register("session_start", function(ctx) '
        "return hookwire.cancel(string.upper('ok')) end)",
        "b.lua",
    )
    result = LuaHookAdapter(sb, reg.fn).call(HookContext("session_start"), 10**8)
    assert result == Cancel("OK")


def test_register_outside_loading_fails(run: Any) -> None:
    assert failure(run, "hookwire.register('session_start', function() end)") == (
        "h.lua:1: hookwire.register: hooks can only be registered while a hook file loads"
    )


# -- time limit -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "while true do end",
        "while true do pcall(function() while true do end end) end",
        "while true do xpcall(function() while true do end end, function(e) return e end) end",
        "coroutine.wrap(function() while true do end end)()",
        "local co = coroutine.create(function() while true do end end) "
        "while true do coroutine.resume(co) end",
        "local function f() return f() end f()",
    ],
)
def test_runaway_hook_is_stopped_at_its_timeout(run: Any, body: str) -> None:
    start = time.perf_counter()
    with pytest.raises(HookTimedOut):
        run(body, timeout_ns=50_000_000)
    elapsed = time.perf_counter() - start
    assert 0.05 <= elapsed < 5.0  # stopped; the upper bound only allows for a busy machine


def test_sandbox_still_works_after_a_timeout(run: Any) -> None:
    with pytest.raises(HookTimedOut):
        run("while true do end", timeout_ns=10_000_000)
    assert run("return hookwire.replace(1 + 1)") == Replace(2)


def test_file_top_level_runaway_fails_the_load() -> None:
    from hookwire.runtime.lua import LuaLoadError

    sb = LuaSandbox(load_timeout_ms=30)
    with pytest.raises(LuaLoadError) as info:
        sb.load_source("while true do end", "spin.lua")
    assert str(info.value) == "spin.lua: timeout (stopped by the instruction budget)"


# -- memory limit -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "local s = 'x' while true do s = s .. s end",
        "local t = {} for i = 1, 1e9 do t[i] = i end",
        "local s = string.rep('x', 1 << 30)",
        "local ok = pcall(string.rep, 'x', 1 << 30)",
        "local t = {} while true do t[#t + 1] = string.rep('y', 4096 + #t) end",
    ],
)
def test_memory_bomb_is_stopped_by_the_memory_limit(run: Any, body: str) -> None:
    assert failure(run, body) == f"memory limit of {16 * MB} bytes exceeded"


def test_sandbox_recovers_after_a_memory_bomb(run: Any, sb: LuaSandbox) -> None:
    failure(run, "local t = {} while true do t[#t + 1] = string.rep('z', 8192) .. #t end")
    assert run("local s = string.rep('a', 1024 * 1024) return hookwire.replace(#s)") == Replace(
        1024 * 1024
    )
    assert sb.memory_used() < 16 * MB


def test_memory_limit_must_be_sane() -> None:
    from hookwire.runtime.errors import InvalidArgument

    with pytest.raises(InvalidArgument, match="memory_limit: must be an int >= 1 MiB"):
        LuaSandbox(memory_limit=1000)


def test_continue_is_nil(run: Any) -> None:
    assert run("return nil") == Continue()


# -- pattern matching (runs in C, out of the count hook's reach) -------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "local s = string.rep('a', 100000) local x = s:find('.-.-.-.-b')",
            'h.lua:1: string.find: the pattern ".-.-.-.-b" on a 100000-byte string could '
            "take more steps than one call may (1e+07); use a plain find, a simpler pattern or "
            "a shorter input",
        ),
        (
            "local s = string.rep('a', 100000) local x = string.gsub(s, '(.-)b', '')",
            'h.lua:1: string.gsub: the pattern "(.-)b" on a 100000-byte string could '
            "take more steps than one call may (1e+07); use a plain find, a simpler pattern or "
            "a shorter input",
        ),
        (
            "local s = string.rep('a', 1000) for x in s:gmatch('a*a*a*b') do end",
            'h.lua:1: string.gmatch: the pattern "a*a*a*b" on a 1000-byte string could '
            "take more steps than one call may (1e+07); use a plain find, a simpler pattern or "
            "a shorter input",
        ),
    ],
)
def test_pathological_patterns_are_refused(run: Any, body: str, message: str) -> None:
    assert failure(run, body) == message


def test_ordinary_patterns_and_plain_finds_work(run: Any) -> None:
    body = (
        "local big = string.rep('ab', 50000) "
        "return hookwire.replace({big:find('ba', 1, true), ('k=v'):match('^(%w+)=(.*)$'), "
        "(string.gsub(' a  b ', '%s+', '')), ('x]y'):find('[%]]'), #big})"
    )
    assert run(body) == Replace([2, "k", "ab", 2, 100000])


def test_a_result_too_large_to_rebuild_is_invalid(run: Any) -> None:
    # The host rebuilds a result after the hook's budget: its size is bounded.
    body = "return hookwire.replace({string.byte(string.rep('a', 300000), 1, -1)})"
    with pytest.raises(InvalidResult) as info:
        run(body)
    assert str(info.value) == (
        "replace.value: holds more than 262144 values and containers, the most one value may hold"
    )


def test_common_idioms_on_sizeable_inputs_are_allowed(run: Any) -> None:
    # The bound is a worst case, but not a blunt one: the trim idiom is quadratic (its `.-`
    # always finds the end), a trailing repetition is linear.
    body = (
        "local s = '  ' .. string.rep('word ', 200) .. '  ' "
        "local big = string.rep('k=v; ', 20000) "
        "local trimmed = s:match('^%s*(.-)%s*$') "
        "local n = select(2, big:gsub('%s+', ' ')) "
        "local pairs_ = 0 for k, v in big:gmatch('(%w+)=(%w+)') do pairs_ = pairs_ + 1 end "
        "local ok = pcall(string.match, string.rep('a', 100000), '(%w+)=(%w+)') "
        "return hookwire.replace({#trimmed, n, pairs_, ok})"
    )
    # `(%w+)=(%w+)` scans at most the longest run of word characters in this subject: fine on
    # text of short words, refused on 100,000 letters in a row (quadratic there).
    assert run(body) == Replace([999, 20000, 20000, False])


def test_a_run_an_error_escaped_from_is_ended_by_recover(sb: LuaSandbox) -> None:
    [spin] = sb.load_source(
        'hookwire.register("session_start", function() while true do end end)', "spin.lua"
    )
    # A deadline that is not a number fails inside the entry point, after its run began and
    # outside the protected call: the error reaches the host, the run is left open.
    with pytest.raises(lupa.LuaError):
        sb.call_hook(spin.fn, b"not a number", 1)
    sb.recover()
    # Closed again: the next call installs the count hook and stops the runaway.
    with pytest.raises(HookTimedOut):
        LuaHookAdapter(sb, spin.fn).call(HookContext("session_start"), 50_000_000)


@pytest.mark.parametrize(
    "body",
    [
        "while true do end",
        "while true do pcall(function() while true do end end) end",
        "local t = {} for i = 1, 1e9 do t[i] = 1 end",
        "local r = hookwire.replace({1, 2, 3}) while true do end return r",
    ],
)
def test_the_stop_never_escapes_the_run_even_checked_every_instruction(body: str) -> None:
    # With a count hook at every instruction, one lands in the entry point's own code right
    # after the protected call: it must not raise there (the stop would reach the host).
    sb = LuaSandbox(check_every=1, memory_limit=16 * 1024 * 1024)
    [reg] = sb.load_source(f'hookwire.register("session_start", function() {body} end)', "e.lua")
    adapter = LuaHookAdapter(sb, reg.fn)
    for _ in range(3):
        with pytest.raises((HookTimedOut, HookFailed)) as info:
            adapter.call(HookContext("session_start"), 30_000_000)
        assert info.type is HookTimedOut or "memory" in str(info.value), info.value


def test_print_output_of_one_call_is_bounded(caplog: pytest.LogCaptureFixture) -> None:
    sb = LuaSandbox()
    [reg] = sb.load_source(
        'hookwire.register("session_start", function() '
        "for i = 1, 1000 do print(string.rep('x', 20000)) end end)",
        "p.lua",
    )
    adapter = LuaHookAdapter(sb, reg.fn)
    with caplog.at_level(logging.INFO, logger="hookwire.lua"):
        for _ in range(2):
            adapter.call(HookContext("session_start"), 2_000_000_000)
    lines = [r.getMessage() for r in caplog.records if r.name == "hookwire.lua"]
    # Per call: 16 KiB lines (marked) while under 64 KiB, then one line saying the rest is dropped.
    dropped = "...(the rest of this call's print output is dropped)"
    assert [len(m) for m in lines] == 2 * ([16384 + len("...(truncated)")] * 3 + [len(dropped)])
    assert lines[3] == dropped


def test_literal_patterns_on_long_subjects_are_searched_plainly(run: Any) -> None:
    # The matcher's bound for these literals on 1.5 MB is over the budget: match, gmatch and
    # gsub search them window by window instead of refusing, with the same answers.
    body = (
        "local s = string.rep('ab', 750000) .. 'needle' .. string.rep('ab', 10) "
        "local out = {s:match('needle')} "
        "local n = 0 for x in s:gmatch('abababab') do n = n + 1 end out[2] = n "
        "local r, k = s:gsub('needle', '[%0%%]') out[3] = k out[4] = r:sub(1500001, 1500009) "
        "r, k = s:gsub('abababab', {abababab = 'c'}, 3) out[5] = k out[6] = r:sub(1, 5) "
        "r, k = s:gsub('needle', function(x) return #x end) out[7] = k "
        "out[8] = r:sub(1500001, 1500003) r = nil "
        "return hookwire.replace(out)"
    )
    assert run(body) == Replace(["needle", 187502, 1, "[needle%]", 3, "cccab", 1, "6ab"])
