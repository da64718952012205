"""JS SDK benchmarks (`python -m bench js`): a remote JS hook's round trip and a JS subscriber.

The server, the JS worker and the JS client each run in their own process on 127.0.0.1, as in
production. The server is a helper process (`python -m bench.bench_js serve`) that also takes
commands on stdin to drive its executor in-process.

- Remote JS hook round trip (executor -> worker stream -> JS hook -> result), measured on the
  server: `executor.aexecute` on the server's own loop, so no Execute RPC is in the figure.
  Sequential p50 / p99 (goal p50 <= 300 us), beside a bare grpcio bidi stream echoed by node and
  the same executor calling one local no-op hook. The server runs on the loop `hookwire serve`
  uses by default (uvloop when installed); the sequential figure is repeated on asyncio's own
  loop, with its own bare-stream baseline, in a second server process.
- The same with 64 calls in flight on ONE worker connection (the worker stream's
  multiplexing): calls/s (goal >= 10,000/s).
- The end-to-end path from a JS client (`sdk/js/bench/bench.mjs`): Execute RPC -> executor ->
  JS worker, sequential and 64 in flight, beside a bare grpc-js unary call (health check) and an
  Execute without hooks measured in the same run.
- JS subscriber: events/s received by a JS `subscribe()` loop while a Python client publishes
  batches of 1,000 (backpressure overflow, so nothing is dropped).
"""

from __future__ import annotations

import asyncio
import json
import re
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH_JS = ROOT / "sdk" / "js" / "bench" / "bench.mjs"
ROUND_TRIPS = 3000
SEQ_ROUNDS = 3  # sequential figures: the median p50 of 3 rounds of ROUND_TRIPS (_sequential_rounds)
WARM_UP = 1000
MUX_CALLS = 20_000
IN_FLIGHT = 64
EVENTS = 200_000
PUBLISH_BATCH = 1000


def _start_server(loop: str = "auto") -> tuple[subprocess.Popen[str], str, str]:
    """The server helper (`_serve` below) in its own process, on the event loop `loop` ("auto"
    is what `hookwire serve` runs on); returns it, its address and the address of its raw bidi
    echo baseline."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.bench_js", "serve", loop],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    match = re.search(r"serving on (\S+) raw (\S+) loop (\S+)", proc.stdout.readline())
    if match is None:
        proc.kill()
        raise RuntimeError("the bench server did not print its address")
    _LOOPS[proc.pid] = match.group(3)
    return proc, match.group(1), match.group(2)


_LOOPS: dict[int, str] = {}  # server helper pid -> the event loop it runs on


def _ask(proc: subprocess.Popen[str], **command: Any) -> dict[str, Any]:
    """Send one command to the server helper and read its one-line JSON answer."""
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(json.dumps(command) + "\n")
    proc.stdin.flush()
    answer: dict[str, Any] = json.loads(proc.stdout.readline())
    return answer


def _node(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        ["node", str(BENCH_JS), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )


def _lines(proc: subprocess.Popen[str]) -> list[dict[str, Any]]:
    assert proc.stdout is not None
    return [json.loads(line) for line in proc.stdout if line.strip()]


def _finish(proc: subprocess.Popen[str], wait_s: float) -> None:
    """End a helper that stops at EOF on its stdin: close it, wait, and stop it if it lingers."""
    if proc.stdin is not None:
        proc.stdin.close()
    try:
        proc.wait(wait_s)
    except subprocess.TimeoutExpired:
        _stop(proc)


def _stop(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _roundtrip(server: subprocess.Popen[str], address: str, raw: str) -> dict[str, Any]:
    """In-process rows (executor on the server's loop -> JS worker), then Execute RPC rows."""
    echo = _node("echo", raw)
    try:
        assert echo.stdout is not None
        assert json.loads(echo.stdout.readline()).get("ready")
        base = {
            "raw_seq": _ask(server, cmd="raw_seq", n=ROUND_TRIPS),
            "raw_mux": _ask(server, cmd="raw_mux", n=MUX_CALLS, depth=IN_FLIGHT),
        }
    finally:
        _stop(echo)
    worker = _node("worker", address)
    try:
        assert worker.stdout is not None
        ready = json.loads(worker.stdout.readline())
        assert ready.get("ready"), ready
        base["memory"] = _ask(server, cmd="memory", n=MUX_CALLS, depth=IN_FLIGHT)
        hooks = _ask(server, cmd="wait_hook")["hooks"]
        assert hooks == ["bench_js"], hooks
        local = "custom:bench.local"
        out: dict[str, Any] = {
            **base,
            "local_seq": _ask(server, cmd="seq", point=local, n=ROUND_TRIPS),
            "seq": _ask(server, cmd="seq", n=ROUND_TRIPS),
            "mux": _ask(server, cmd="mux", n=MUX_CALLS, depth=IN_FLIGHT),
            "local_mux": _ask(server, cmd="mux", point=local, n=MUX_CALLS, depth=IN_FLIGHT),
        }
        assert out["seq"]["hook"] == "bench_js", out["seq"]
        if out["mux"]["ran"] != MUX_CALLS:
            raise RuntimeError(f"the breaker skipped calls, the figure would be wrong: {out}")
        client = _node("roundtrip", address, str(ROUND_TRIPS))
        out["rpc"] = _lines(client)
        client.wait()
        return out
    finally:
        _finish(worker, 5)


def _sequential(loop: str) -> dict[str, Any]:
    """The sequential round trip and its bare-stream baseline on a server running `loop`."""
    server, address, raw = _start_server(loop)
    try:
        echo = _node("echo", raw)
        try:
            assert echo.stdout is not None
            assert json.loads(echo.stdout.readline()).get("ready")
            out: dict[str, Any] = {"raw_seq": _ask(server, cmd="raw_seq", n=ROUND_TRIPS)}
        finally:
            _stop(echo)
        worker = _node("worker", address)
        try:
            assert worker.stdout is not None
            assert json.loads(worker.stdout.readline()).get("ready")
            assert _ask(server, cmd="wait_hook")["hooks"] == ["bench_js"]
            out["seq"] = _ask(server, cmd="seq", n=ROUND_TRIPS)
        finally:
            _finish(worker, 5)
        out["loop"] = _LOOPS[server.pid]
        return out
    finally:
        _finish(server, 10)


def _subscriber(address: str) -> dict[str, Any]:
    from hookwire.sdk import Client

    sub = _node("subscribe", address, str(EVENTS))
    assert sub.stdout is not None
    assert json.loads(sub.stdout.readline()).get("subscribed")
    time.sleep(0.5)  # let the subscription reach the bus before the first publish

    def publish() -> None:
        from hookwire.sdk import event

        events = [event(f"bench.js.e{i % 10}", {"i": i}) for i in range(PUBLISH_BATCH)]
        with Client(address) as client:
            for _ in range(EVENTS // PUBLISH_BATCH):
                client.publish(events)

    t = threading.Thread(target=publish)
    t.start()
    out = _lines(sub)
    t.join()
    sub.wait()
    return out[-1]


def _verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def run() -> None:
    server, address, raw = _start_server()
    loop = _LOOPS[server.pid]
    try:
        rows = _roundtrip(server, address, raw)
        sub = _subscriber(address)
    finally:
        _finish(server, 10)
    seq, local, mux, lm = rows["seq"], rows["local_seq"], rows["mux"], rows["local_mux"]
    rs, rm = rows["raw_seq"], rows["raw_mux"]
    print(f"remote JS hook round trip, executor -> worker -> result ({seq['n']} calls)")
    print(
        "  measured in the server process: executor.aexecute on its loop, no Execute RPC; "
        f"server on {loop} (as `hookwire serve` runs by default)"
    )
    print(
        f"  sequential: p50 {seq['p50_us']:6.0f} us  p99 {seq['p99_us']:6.0f} us  "
        f"(goal p50 <= 300 us: {_verdict(seq['p50_us'] <= 300)})"
    )
    print(
        f"    p50 of each of {SEQ_ROUNDS} rounds of {ROUND_TRIPS} calls (median above): "
        + ", ".join(f"{p:.0f}" for p in seq["p50_rounds"])
        + f" us; bare stream: {', '.join(f'{p:.0f}' for p in rs['p50_rounds'])} us"
    )
    print(
        f"    baseline, bare grpcio bidi stream, node echoes: p50 {rs['p50_us']:.0f} us  "
        f"p99 {rs['p99_us']:.0f} us; ratio of p50s {seq['p50_us'] / rs['p50_us']:.2f}"
    )
    print(
        f"    baseline, same executor, one local no-op hook: p50 {local['p50_us']:.1f} us  "
        f"p99 {local['p99_us']:.1f} us"
    )
    print(
        f"    server CPU (all threads) per call: {seq['cpu_us']:.0f} us; "
        f"bare stream {rs['cpu_us']:.0f} us"
    )
    if loop != "asyncio":
        other = _sequential("asyncio")
        os_, ors = other["seq"], other["raw_seq"]
        print(
            f"  the same on asyncio's own loop (`hookwire serve --loop asyncio`): p50 "
            f"{os_['p50_us']:.0f} us  p99 {os_['p99_us']:.0f} us; bare stream p50 "
            f"{ors['p50_us']:.0f} us; ratio of p50s {os_['p50_us'] / ors['p50_us']:.2f}"
        )
    print(
        f"  {mux['n']:,} calls, {IN_FLIGHT} in flight on ONE worker connection: "
        f"{mux['per_s']:,.0f} calls/s, server busy {mux['server_cpu']:.0%} "
        f"(goal >= 10,000/s: {_verdict(mux['per_s'] >= 10_000)})"
    )
    print(
        f"    baseline, bare grpcio bidi stream, node echoes, {IN_FLIGHT} in flight: "
        f"{rm['per_s']:,.0f} msgs/s, server busy {rm['server_cpu']:.0%}; "
        f"ratio {mux['per_s'] / rm['per_s']:.2f}"
    )
    print(f"    baseline, one local no-op hook, {IN_FLIGHT} in flight: {lm['per_s']:,.0f} calls/s")
    mem = rows["memory"]
    print(
        f"  the executor's side alone (in-memory worker, no gRPC): {mem['seq_us']:.1f} us a call "
        f"sequential, {mem['mux_us']:.1f} us a call with {IN_FLIGHT} in flight"
    )
    rpc = {r["what"]: r for r in rows["rpc"] if "p50_us" in r}
    rpc_mux = {r["what"]: r for r in rows["rpc"] if "per_s" in r}
    print("end to end from a JS client: Execute RPC -> executor -> JS worker -> result")
    for label, r in rpc.items():
        print(f"  {label:32s} p50 {r['p50_us']:8.0f} us   p99 {r['p99_us']:8.0f} us")
    hook, none = rpc["execute -> JS worker hook"], rpc["execute, no hooks"]
    base = rpc["grpc-js unary (health check)"]
    print(
        f"  JS hook p50 / grpc-js unary p50 = {hook['p50_us'] / base['p50_us']:.2f}x; "
        f"hook cost over Execute without hooks: {hook['p50_us'] - none['p50_us']:.0f} us"
    )
    mh, mn = rpc_mux["execute -> JS worker hook"], rpc_mux["execute, no hooks"]
    print(
        f"  {IN_FLIGHT} Execute RPCs in flight on one channel: JS hook {mh['per_s']:,.0f} calls/s "
        f"(JS client busy {mh['client_cpu']:.0%}); no hooks {mn['per_s']:,.0f} calls/s; "
        f"ratio {mh['per_s'] / mn['per_s']:.2f}"
    )
    print(
        f"JS subscriber: {sub['per_s']:,.0f} events/s "
        f"({sub['n']:,} events, {sub['dropped']} dropped)"
    )


# -- the server helper: a HookwireServer that also drives its executor in-process ----------


async def _serve() -> None:
    """Serve, then answer commands read from stdin (one JSON object a line) until EOF.

    `seq` and `mux` call `executor.aexecute` on the server's own loop: with the JS hook's point
    that is executor -> worker stream -> hook -> result alone, without an Execute RPC.
    """
    from hookwire.runtime.context import HookContext
    from hookwire.runtime.results import Outcome
    from hookwire.runtime.server import HookwireServer, ServerConfig
    from hookwire.runtime.server.event_loop import loop_name

    server = HookwireServer(config=ServerConfig(port=0, max_publish_batch=PUBLISH_BATCH))
    server.registry.register(lambda ctx: None, name="local_noop", point="custom:bench.local")
    address = await server.start()
    pipe = _RawPipe()
    raw = await pipe.serve()
    print(
        f"serving on {address} raw {raw} loop {loop_name(asyncio.get_running_loop())}", flush=True
    )
    loop = asyncio.get_running_loop()
    executor = server.executor
    while line := await loop.run_in_executor(None, sys.stdin.readline):
        cmd = json.loads(line)
        point = cmd.get("point", "custom:bench.js")
        ctx = HookContext(point, {"i": 1})
        answer: dict[str, Any]
        if cmd["cmd"] == "raw_seq":
            answer = await _sequential_rounds(lambda i: pipe.echo(), cmd["n"])
        elif cmd["cmd"] == "raw_mux":
            n, depth = cmd["n"], cmd["depth"]
            raw_todo = iter(range(n))

            async def raw_lane(todo: Any = raw_todo) -> None:
                for _ in todo:
                    await pipe.echo()

            cpu0 = time.process_time()
            began = time.perf_counter()
            await asyncio.gather(*(raw_lane() for _ in range(depth)))
            s = time.perf_counter() - began
            answer = {"n": n, "per_s": n / s, "server_cpu": (time.process_time() - cpu0) / s}
        elif cmd["cmd"] == "memory":
            answer = await _memory_worker(cmd["n"], cmd["depth"])
        elif cmd["cmd"] == "wait_hook":
            for _ in range(500):
                if server.registry.hooks(point=point):
                    break
                await asyncio.sleep(0.01)
            answer = {"hooks": [s.name for s in server.registry.hooks(point=point)]}
        elif cmd["cmd"] == "seq":
            last: list[Any] = []

            async def one(i: int, point: str = point, last: list[Any] = last) -> None:
                last[:] = [await executor.aexecute(point, HookContext(point, {"i": i}))]

            answer = await _sequential_rounds(one, cmd["n"])
            answer["hook"] = last[0].trace[0].hook_name if last[0].trace else ""
        elif cmd["cmd"] == "mux":
            n, depth = cmd["n"], cmd["depth"]
            for _ in range(20):  # warm up at this depth, then start from a closed breaker
                await asyncio.gather(*(executor.aexecute(point, ctx) for _ in range(depth)))
            for name in [spec.name for spec in server.registry.hooks(point=point)]:
                executor.reset_breaker(name)
            todo = iter(range(n))

            ran = 0

            async def lane(todo: Any = todo, point: str = point, ctx: HookContext = ctx) -> None:
                nonlocal ran
                for _ in todo:
                    execution = await executor.aexecute(point, ctx)
                    ran += execution.trace[0].outcome is not Outcome.SKIPPED

            cpu0 = time.process_time()
            began = time.perf_counter()
            await asyncio.gather(*(lane() for _ in range(depth)))
            s = time.perf_counter() - began
            answer = {
                "n": n,
                "per_s": n / s,
                "server_cpu": (time.process_time() - cpu0) / s,
                "ran": ran,
            }
        else:
            answer = {"error": f"unknown command {cmd!r}"}
        print(json.dumps(answer), flush=True)
    await pipe.stop()
    await server.stop(1.0)


async def _sequential_rounds(
    call: Callable[[int], Awaitable[Any]], n: int, rounds: int = SEQ_ROUNDS
) -> dict[str, Any]:
    """Time `rounds` rounds of `n` sequential calls after a warm-up; the p50 is the median of
    the rounds' p50s (subjects and baselines alike), p99 over all calls.
    Each call gets a fresh context (`call(i)`), as real callers do."""
    for i in range(WARM_UP):
        await call(i)
    clock = time.perf_counter_ns
    p50s: list[float] = []
    every: list[float] = []
    cpu0 = time.process_time()
    for _ in range(rounds):
        times = []
        for i in range(n):
            t0 = clock()
            await call(i)
            times.append((clock() - t0) / 1000)
        times.sort()
        p50s.append(times[n // 2])
        every.extend(times)
    every.sort()
    return {
        "n": n * rounds,
        "p50_us": statistics.median(p50s),
        "p50_rounds": p50s,
        "p99_us": every[len(every) * 99 // 100],
        "cpu_us": (time.process_time() - cpu0) / (n * rounds) * 1e6,
    }


async def _memory_worker(n: int, depth: int) -> dict[str, Any]:
    """The executor's side of a remote call alone: a RemoteHookAdapter whose worker is a task
    in this process answering each HookCall from its encoding (no gRPC, no node)."""
    from hookwire.runtime.clock import SystemClock
    from hookwire.runtime.context import HookContext
    from hookwire.runtime.executor import Executor
    from hookwire.runtime.registry import Registry
    from hookwire.runtime.results import Modified
    from hookwire.runtime.server.remote_adapter import RemoteHookAdapter
    from hookwire.runtime.wire.registration import spec_from_proto
    from hookwire.runtime.wire.results import result_to_proto
    from hookwire.runtime.worker_connection import StreamConnection
    from hookwire.v1 import executor_service_pb2 as es
    from hookwire.v1 import hook_pb2

    clock = SystemClock()
    registry = Registry()
    executor = Executor(registry, clock=clock)
    conn = StreamConnection("mem", "mem", "javascript", clock=clock)
    reg = hook_pb2.HookRegistration(
        name="mem", point=hook_pb2.HOOK_POINT_CUSTOM, custom_point="bench.mem"
    )
    reg.timeout.seconds = 5
    spec = spec_from_proto(reg, "hook", default_language="javascript")
    registry.register_spec(spec, RemoteHookAdapter(conn, "mem", "javascript"))
    answer = es.WorkerMessage(result=es.HookCallResult(call_id=0))
    answer.result.result.CopyFrom(result_to_proto(Modified({"seen": 1})))
    answer_bytes = answer.SerializeToString()

    async def worker() -> None:
        async for message in conn.outgoing():
            call = es.ExecutorMessage.FromString(message.SerializeToString()).call
            result = es.WorkerMessage.FromString(answer_bytes).result
            result.call_id = call.call_id
            conn.deliver(result)

    task = asyncio.create_task(worker())
    for i in range(500):
        await executor.aexecute("custom:bench.mem", HookContext("custom:bench.mem", {"i": i}))
    began = time.perf_counter()
    for i in range(n):
        await executor.aexecute("custom:bench.mem", HookContext("custom:bench.mem", {"i": i}))
    seq_us = (time.perf_counter() - began) / n * 1e6
    todo = iter(range(n))

    async def lane() -> None:
        for i in todo:
            await executor.aexecute("custom:bench.mem", HookContext("custom:bench.mem", {"i": i}))

    began = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(depth)))
    mux_us = (time.perf_counter() - began) / n * 1e6
    conn.close("done")
    await task
    return {"seq_us": seq_us, "mux_us": mux_us}


class _RawPipe:
    """Baseline for the worker stream: a bare grpcio aio bidi stream of small bytes messages
    that the node side echoes (`bench.mjs echo`), multiplexed by an 8-byte id like HookCalls.
    Same process, loop, message size and pattern as the worker connection, no hookwire code."""

    def __init__(self) -> None:
        self._out: asyncio.Queue[bytes] = asyncio.Queue()
        self._pending: dict[int, asyncio.Future[None]] = {}
        self._ids = 0
        self._server: Any = None
        self.connected = asyncio.Event()
        self._payload = bytes(60)  # about a HookCall with a small context

    async def serve(self) -> str:
        import grpc
        from grpc import aio

        async def pipe(requests: Any, context: Any) -> Any:
            self.connected.set()
            reader = asyncio.ensure_future(self._read(requests))
            try:
                while True:
                    yield await self._out.get()
            finally:
                reader.cancel()

        handler = grpc.method_handlers_generic_handler(
            "bench.Raw", {"Pipe": grpc.stream_stream_rpc_method_handler(pipe)}
        )
        self._server = aio.server()
        self._server.add_generic_rpc_handlers((handler,))
        port = self._server.add_insecure_port("127.0.0.1:0")
        await self._server.start()
        return f"127.0.0.1:{port}"

    async def _read(self, requests: Any) -> None:
        async for message in requests:
            future = self._pending.pop(int.from_bytes(message[:8], "little"), None)
            if future is not None:
                future.set_result(None)

    async def echo(self) -> None:
        self._ids += 1
        future = asyncio.get_running_loop().create_future()
        self._pending[self._ids] = future
        self._out.put_nowait(self._ids.to_bytes(8, "little") + self._payload)
        await future

    async def stop(self) -> None:
        await self._server.stop(0)


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "serve":
        raise SystemExit("usage: python -m bench.bench_js serve auto|uvloop|asyncio")
    from hookwire.runtime.server.event_loop import run as run_on

    run_on(_serve(), sys.argv[2])
