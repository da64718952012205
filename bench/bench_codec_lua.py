"""Lua codec speed: encode+decode of a typical HookContext with the generated Lua modules.

Runs the loop inside Lua (lupa's Lua 5.4) and times it from Python; the baseline is Python's
protobuf (upb) on the same bytes, interleaved with it round by round (bench/rounds.py: medians
of rounds). The goal is the Lua codec within 3x of protobuf-es, which bench_codec prints.

Example:
    python -m bench codec_lua
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import lupa.lua54
from hookwire.v1 import common_pb2, hook_pb2, json_pb2

from bench.rounds import interleave

GENERATED_LUA = Path(__file__).resolve().parent.parent / "generated" / "lua"


def _value(v: object) -> json_pb2.JsonValue:
    out = json_pb2.JsonValue()
    if isinstance(v, bool):
        out.bool_value = v
    elif isinstance(v, int):
        out.int_value = v
    elif isinstance(v, float):
        out.double_value = v
    elif isinstance(v, str):
        out.string_value = v
    elif isinstance(v, list):
        out.array_value.values.extend(_value(x) for x in v)
    elif isinstance(v, dict):
        for k, x in v.items():
            out.object_value.fields[k].CopyFrom(_value(x))
    else:
        out.null_value = json_pb2.JSON_NULL
    return out


def typical_context() -> hook_pb2.HookContext:
    """A HookContext as a tool hook sees it: nested data, 10 metadata entries, an operation."""
    ctx = hook_pb2.HookContext(
        point=hook_pb2.HOOK_POINT_BEFORE_TOOL_EXECUTION,
        component=hook_pb2.ComponentId(
            id="7f9c2ba4-e88f-4bd6-9b9f-0c6a1f3e2d10",
            type=hook_pb2.COMPONENT_TYPE_TOOL,
            name="web_search",
        ),
        language=common_pb2.LANGUAGE_PYTHON,
        correlation_id="c0ffee00-1234-4abc-8def-000000000042",
    )
    data = {
        "query": "weather in Lisbon tomorrow",
        "options": {"max_results": 10, "safe_search": True, "lang": "en", "score": 0.75},
        "history": [{"role": "user", "tokens": 1234}, {"role": "assistant", "tokens": 98765}],
        "tags": ["travel", "weather", "forecast"],
    }
    ctx.data.CopyFrom(_value(data).object_value)
    for k in range(10):
        ctx.metadata[f"key_{k}"] = f"value number {k}"
    ctx.timestamp.seconds = 1_764_000_000
    ctx.timestamp.nanos = 123_456_789
    ctx.operation.type = "tool_call"
    ctx.operation.id = "op-000123"
    ctx.operation.parameters.CopyFrom(_value({"q": "weather", "limit": 5}))
    return ctx


_LUA_LOOP = b"""
local module, class = ...
local C = require(module)[class]
local decode, encode = C.decode, C.encode
return function(bytes, n)
  local out
  for _ = 1, n do
    out = encode(decode(bytes))
  end
  return out
end
"""


def lua_runtime() -> lupa.lua54.LuaRuntime:
    lua = lupa.lua54.LuaRuntime(encoding=None)
    lua.execute(b'package.path = "' + str(GENERATED_LUA).encode() + b'/?.lua;" .. package.path')
    return lua


def _round_us(run: Callable[[int], object], n: int) -> Callable[[], float]:
    def one_round() -> float:
        t0 = time.perf_counter()
        run(n)
        return (time.perf_counter() - t0) / n * 1e6

    return one_round


def measure(n: int = 2000) -> float:
    """Microseconds per encode+decode of typical_context() in the generated Lua codec (median
    of 7 rounds of n iterations, the loop running inside Lua)."""
    data = typical_context().SerializeToString(deterministic=True)
    loop = lua_runtime().execute(_LUA_LOOP, b"hookwire.v1.hook", b"HookContext")
    if loop(data, 1) != data:
        raise AssertionError("Lua re-encoding differs from protobuf's bytes")
    return interleave({"lua": _round_us(lambda k: loop(data, k), n)}, 7)["lua"].median


def run() -> None:
    ctx = typical_context()
    data = ctx.SerializeToString(deterministic=True)
    n = 2000
    loop = lua_runtime().execute(_LUA_LOOP, b"hookwire.v1.hook", b"HookContext")
    if loop(data, 1) != data:
        raise AssertionError("Lua re-encoding differs from protobuf's bytes")

    def py_loop(k: int) -> None:
        for _ in range(k):
            hook_pb2.HookContext.FromString(data).SerializeToString(deterministic=True)

    got = interleave(
        {"lua": _round_us(lambda k: loop(data, k), n), "upb": _round_us(py_loop, n)}, 7
    )
    lua_us, py_us = got["lua"].median, got["upb"].median
    print(f"message: typical HookContext, {len(data)} bytes")
    print(f"lua (generated codec, lupa Lua 5.4) encode+decode: {lua_us:8.2f} us")
    print(f"python protobuf (upb)               encode+decode: {py_us:8.2f} us")
    print(f"ratio lua / python protobuf: {lua_us / py_us:.1f}x (goal: within 3x of protobuf-es)")
