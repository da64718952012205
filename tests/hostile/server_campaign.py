"""A longer bad-bytes campaign against a real server (what `nox -s fuzz` runs).

Mutated Execute, Publish, ListHooks and GetBreakerState requests and mutated Connect streams,
seeded, for a time budget. Every answer must be OK or a typed status (never UNKNOWN or
INTERNAL), no exception class may leak into a status message, nothing may be logged with a
traceback, and the server must still answer health checks and a valid Execute at the end.

Usage: python tests/hostile/server_campaign.py [--seconds 60] [--long] [--seed N]
(`--long`: 600 s). Exits 1 with the first failing request (hex) printed.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import random
import sys
import time
from pathlib import Path
from typing import Any

import grpc
from hookwire.runtime.server import decoding
from hookwire.runtime.server.config import ServerConfig
from hookwire.runtime.server.server import ServerThread
from hookwire.v1 import common_pb2
from hookwire.v1 import executor_service_pb2 as es

_spec = importlib.util.spec_from_file_location(
    "server_bad_bytes", Path(__file__).with_name("test_server_bad_bytes.py")
)
assert _spec is not None and _spec.loader is not None
bad_bytes: Any = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bad_bytes)


def _connect_frames(rng: random.Random) -> list[bytes]:
    hello = es.WorkerMessage(
        hello=es.WorkerHello(worker_id="fuzz", language=common_pb2.LANGUAGE_PYTHON)
    ).SerializeToString()
    register = es.WorkerMessage(
        register=es.RegisterHooks(hooks=[], request_id=1)
    ).SerializeToString()
    frames = [hello, register]
    i = rng.randrange(len(frames))
    frames[i] = bad_bytes._mutate(rng, frames[i])
    return frames


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--long", action="store_true", help="run for 600 s")
    parser.add_argument("--seed", type=int, default=20261207)
    args = parser.parse_args()
    budget = 600.0 if args.long else args.seconds
    records = bad_bytes._Records()
    logging.getLogger().addHandler(records)
    rng = random.Random(args.seed)
    st = ServerThread(config=ServerConfig(port=0, shutdown_grace_s=1.0))
    st.start()
    counts: dict[str, int] = {}
    try:
        with grpc.insecure_channel(st.address) as channel:
            valid = bad_bytes._valid_requests()
            calls = {m: bad_bytes._unary(channel, m) for m, _ in valid}
            deadline = time.monotonic() + budget
            while time.monotonic() < deadline:
                if rng.random() < 0.1:
                    frames = _connect_frames(rng)
                    method, shown = bad_bytes.CONNECT, b"|".join(frames)
                    code, details = bad_bytes._connect(channel, frames)
                else:
                    method, data = rng.choice(valid)
                    shown = bad_bytes._mutate(rng, data)
                    code, details = bad_bytes._status(
                        lambda: calls[method](shown, timeout=5)  # noqa: B023
                    )
                counts[code.name] = counts.get(code.name, 0) + 1
                typed = code in bad_bytes.TYPED or code in (
                    grpc.StatusCode.OK,
                    grpc.StatusCode.DEADLINE_EXCEEDED,  # a Connect stream left open to its end
                )
                if not typed or any(leak in details for leak in bad_bytes.LEAKS):
                    print(f"FAIL {method} {shown.hex()} -> {code.name} {details}")
                    return 1
            bad_bytes._assert_serving(channel)
        for record in records.records:
            text = record.getMessage()
            if record.exc_info is not None or "Traceback" in text or "<class" in text:
                print(f"FAIL: logged {text}")
                return 1
        refusals = sum(r.name == decoding.__name__ for r in records.records)
        if refusals > budget / decoding.LOG_INTERVAL_S + 2:
            print(f"FAIL: {refusals} refusal log lines in {budget:g} s (rate limit broken)")
            return 1
    finally:
        st.stop(grace_s=1.0)
    print(f"server campaign: {sum(counts.values())} requests in {budget:g} s: {counts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
