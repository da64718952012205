"""Codec speed side by side: encode+decode of a typical HookContext in Python, JS and Lua.

- Python: protobuf (upb), ``FromString`` + ``SerializeToString``; and the same bytes through
  the runtime's HookContext (hookwire.runtime.wire.context: decode to a HookContext, encode it
  back), interleaved with it: what the server and the workers pay per context on top of upb.
- JS: protobuf-es (``fromBinary`` + ``toBinary``) in a node child process that times its own loop
  and prints JSON.
- Lua: the generated Lua codec under lupa, through bench/bench_codec_lua.py (``measure()`` if it
  has one, otherwise its ``lua_runtime()``).

- JS worker stream: protobuf-es against the generated straight-line codecs
  (generated/js/**/*_wire.js) on the worker's two hot messages, in one node process
  (sdk/js/bench/codec.mjs): decode ExecutorMessage{call} with a small context, encode
  WorkerMessage{result: modified}.

The message is bench_codec_lua.typical_context() (nested data, 10 metadata entries), so every
language encodes the same bytes. Goal: Lua within 3x of protobuf-es.

Method (bench/rounds.py): the Python candidates are interleaved round by round and each figure
is the median of its rounds; the node and Lua loops report the median of their own rounds.

Example:
    python -m bench codec
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from hookwire.v1 import hook_pb2

from bench.rounds import interleave, verdict

ROOT = Path(__file__).resolve().parent.parent
N = 2000
REPEATS = 7

_JS = """
import { fromBinary, toBinary } from "@bufbuild/protobuf";
const [moduleUrl, wireUrl, hex, n, repeats] = process.argv.slice(1);
const { HookContextSchema } = await import(moduleUrl);
const { decodeHookContext, encodeHookContext } = await import(wireUrl);
const bytes = Uint8Array.from(Buffer.from(hex, "hex"));
const once = Buffer.from(toBinary(HookContextSchema, fromBinary(HookContextSchema, bytes)));
const wireOnce = Buffer.from(encodeHookContext(decodeHookContext(bytes)));
function median(roundtrip) {
  const rounds = [];
  for (let r = 0; r < Number(repeats) + 1; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < Number(n); i++) roundtrip();
    const t = Number(process.hrtime.bigint() - t0) / 1000 / Number(n);
    if (r > 0) rounds.push(t);  // round 0 warms up the JIT
  }
  rounds.sort((a, b) => a - b);
  const mid = rounds.length >> 1;
  return rounds.length % 2 ? rounds[mid] : (rounds[mid - 1] + rounds[mid]) / 2;
}
const es = median(() => toBinary(HookContextSchema, fromBinary(HookContextSchema, bytes)));
const wire = median(() => encodeHookContext(decodeHookContext(bytes)));
console.log(JSON.stringify({
  us_per_op: es, wire_us_per_op: wire,
  same_bytes: once.toString("hex") === hex && wireOnce.toString("hex") === hex,
}));
"""


def per_op_us(loop: Callable[[int], object], n: int = N) -> Callable[[], float]:
    """One round of ``loop(n)``, in microseconds per iteration."""

    def one_round() -> float:
        start = time.perf_counter()
        loop(n)
        return (time.perf_counter() - start) / n * 1e6

    return one_round


def python_round(data: bytes) -> Callable[[], float]:
    def loop(n: int) -> None:
        for _ in range(n):
            hook_pb2.HookContext.FromString(data).SerializeToString()

    return per_op_us(loop)


def runtime_round(data: bytes) -> Callable[[], float]:
    """bytes -> HookContext -> bytes through hookwire.runtime.wire.context."""
    from hookwire.runtime.wire.context import context_from_proto, context_to_proto

    if context_to_proto(context_from_proto(hook_pb2.HookContext.FromString(data))) != (
        hook_pb2.HookContext.FromString(data)
    ):
        raise RuntimeError("the runtime's HookContext does not round-trip the typical context")

    def loop(n: int) -> None:
        for _ in range(n):
            context_to_proto(
                context_from_proto(hook_pb2.HookContext.FromString(data))
            ).SerializeToString()

    return per_op_us(loop)


def js_us(data: bytes) -> tuple[float, float]:
    """protobuf-es and generated-codec encode+decode times (us), measured in one node run."""
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node is not on PATH")
    module = (ROOT / "generated" / "js" / "hookwire" / "v1" / "hook_pb.js").as_uri()
    wire = (ROOT / "generated" / "js" / "hookwire" / "v1" / "hook_wire.js").as_uri()
    args = [module, wire, data.hex(), str(N * 5), str(REPEATS)]
    done = subprocess.run(
        [node, "--input-type=module", "-e", _JS, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result = json.loads(done.stdout)
    if not result["same_bytes"]:
        raise RuntimeError("a JS re-encoding differs from protobuf's bytes")
    return float(result["us_per_op"]), float(result["wire_us_per_op"])


def js_wire() -> dict[str, dict[str, float]]:
    """protobuf-es vs generated codec timings of sdk/js/bench/codec.mjs (one process)."""
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node is not on PATH")
    done = subprocess.run(
        [node, str(ROOT / "sdk" / "js" / "bench" / "codec.mjs")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    result: dict[str, dict[str, float]] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def lua_us(data: bytes) -> float | None:
    """Lua codec time per encode+decode, or None when the Lua side is not there."""
    if not (ROOT / "generated" / "lua").is_dir():
        return None
    try:
        from bench import bench_codec_lua
    except ImportError:
        return None
    measure = getattr(bench_codec_lua, "measure", None)
    if callable(measure):
        return float(measure())
    lua = bench_codec_lua.lua_runtime()
    loop = lua.execute(
        b"local C = require('hookwire.v1.hook').HookContext\n"
        b"local decode, encode = C.decode, C.encode\n"
        b"return function(bytes, n) local out for _ = 1, n do out = encode(decode(bytes)) end "
        b"return out end"
    )
    if loop(data, 1) != data:
        raise RuntimeError("Lua re-encoding differs from protobuf's bytes")
    one_round = per_op_us(lambda n: loop(data, n))
    return interleave({"lua": one_round}, REPEATS)["lua"].median


def typical_bytes() -> bytes:
    from bench.bench_codec_lua import typical_context

    return typical_context().SerializeToString(deterministic=True)


def run() -> None:
    data = typical_bytes()
    python = interleave({"upb": python_round(data), "runtime": runtime_round(data)}, REPEATS)
    py, py_runtime = python["upb"].median, python["runtime"].median
    js, js_wire_us = js_us(data)
    lua = lua_us(data)
    wire = js_wire()
    print(f"message: typical HookContext (nested data, 10 metadata entries), {len(data)} bytes")
    print(f"medians of {REPEATS} interleaved rounds of {N} calls")
    print(f"python protobuf (upb)        encode+decode: {py:8.2f} us")
    print(
        f"python via HookContext       decode+encode: {py_runtime:8.2f} us"
        f" ({py_runtime / py:.1f}x upb alone; hookwire.runtime.wire.context)"
    )
    print(f"js protobuf-es               encode+decode: {js:8.2f} us")
    print(
        f"js generated wire codec      encode+decode: {js_wire_us:8.2f} us"
        f" ({js / js_wire_us:.2f}x faster than protobuf-es)"
    )
    print("js worker stream, protobuf-es vs generated straight-line codec (same process):")
    for label, key in (
        ("decode ExecutorMessage{call}  ", "decode_call_us"),
        ("encode WorkerMessage{result}  ", "encode_result_us"),
    ):
        row = wire[key]
        print(
            f"  {label} {row['protobuf_es']:6.2f} us -> {row['generated']:6.2f} us"
            f"  ({row['ratio']:.2f}x faster)"
        )
    if lua is None:
        print("lua generated codec: not available (no generated/lua or bench_codec_lua)")
        return
    print(f"lua generated codec (lupa)   encode+decode: {lua:8.2f} us")
    print(f"ratio lua / protobuf-es: {lua / js:.2f}x (goal within 3x: {verdict(lua / js <= 3.0)})")
