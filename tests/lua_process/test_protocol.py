"""The worker program's side of the framing: what it writes, and how it refuses bad input."""

from __future__ import annotations

import io
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from hookwire.runtime.lua_process import (
    FrameReader,
    MalformedFrame,
    choose_interpreter,
    encode_frame,
    interpreter_command,
)
from hookwire.runtime.lua_process.worker import _lua_path, default_worker_script
from hookwire.v1 import executor_service_pb2 as es
from hookwire.v1 import hook_pb2

HookFile = Callable[[str, str], Path]


def worker(*args: str, stdin: bytes) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [*interpreter_command(choose_interpreter()), str(default_worker_script()), *args],
        input=stdin,
        capture_output=True,
        env=dict(os.environ, LUA_PATH=_lua_path()),
        timeout=30,
    )


def frames(data: bytes) -> list[es.WorkerMessage]:
    reader = FrameReader(io.BytesIO(data))
    out = []
    while (body := reader.read()) is not None:
        out.append(es.WorkerMessage.FromString(body))
    return out


def welcome() -> bytes:
    return encode_frame(
        es.ExecutorMessage(welcome=es.WorkerWelcome(connection_id="c")).SerializeToString()
    )


def test_hello_register_and_clean_exit_at_end_of_input(hook_file: HookFile) -> None:
    path = hook_file("h.lua", 'hookwire.register("session_start", function() end, {name = "a"})')
    done = worker("--worker-id", "w7", "--virtual-clock", str(path), stdin=welcome())
    assert done.returncode == 0, done.stderr
    hello, register = frames(done.stdout)
    assert (hello.hello.worker_id, hello.hello.language, hello.hello.virtual_clock) == (
        "w7",
        2,
        True,
    )
    assert hello.hello.sdk.startswith("hookwire-lua-worker/")
    assert [h.name for h in register.register.hooks] == ["a"]
    assert register.register.request_id == 1


def test_calls_are_answered_in_order_with_clock_advance(hook_file: HookFile) -> None:
    path = hook_file(
        "h.lua",
        'hookwire.register("session_start", function(ctx) advance_clock_ms(ctx.data.ms) end,'
        ' {name = "a"})',
    )
    calls = b""
    for i, ms in enumerate((60, 0.001)):
        call = es.HookCall(call_id=10 + i, hook_name="a", clock_now_unix_nanos=5)
        call.context.point = hook_pb2.HOOK_POINT_SESSION_START
        call.context.data.fields["ms"].double_value = ms
        calls += encode_frame(es.ExecutorMessage(call=call).SerializeToString())
    missing = es.HookCall(call_id=12, hook_name="nope")
    calls += encode_frame(es.ExecutorMessage(call=missing).SerializeToString())
    done = worker("--virtual-clock", str(path), stdin=welcome() + calls)
    assert done.returncode == 0, done.stderr
    results = [m.result for m in frames(done.stdout)[2:]]
    assert [r.call_id for r in results] == [10, 11, 12]
    assert [(r.clock_advance.seconds, r.clock_advance.nanos) for r in results[:2]] == [
        (0, 60_000_000),
        (0, 1_000),
    ]
    assert results[0].WhichOneof("outcome") == "result"
    assert results[2].error.message == "no hook named 'nope' in this worker"


@pytest.mark.parametrize(
    ("stdin", "message"),
    [
        (b"\x03\xff\xff\xff", "protocol error: bad ExecutorMessage frame"),
        (b"\x05ab", "protocol error: input ended inside a frame of 5 bytes"),
        (b"\xff" * 11, "protocol error: frame length varint longer than 10 bytes"),
        (b"\x80\x80\x80\x80\x40", "exceeds the limit"),
    ],
)
def test_bad_input_ends_the_worker_with_a_clear_message(stdin: bytes, message: str) -> None:
    done = worker(stdin=stdin)
    assert done.returncode == 4
    assert message in done.stderr.decode()


def test_framing_errors_name_the_problem() -> None:
    with pytest.raises(MalformedFrame, match="longer than 10 bytes"):
        FrameReader(io.BytesIO(b"\xff" * 11)).read()
    with pytest.raises(MalformedFrame, match="a frame of 10 bytes exceeds the limit of 4 bytes"):
        FrameReader(io.BytesIO(b"\x0a" + b"x" * 10), max_bytes=4).read()
    with pytest.raises(MalformedFrame, match="ended inside a frame length"):
        FrameReader(io.BytesIO(b"\x80")).read()
    big = b"y" * 300
    assert FrameReader(io.BytesIO(encode_frame(big))).read() == big
    assert encode_frame(big)[:2] == b"\xac\x02"
