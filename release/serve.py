"""A real `hookwire serve` on 127.0.0.1 (a free port) for the artefact checks; always stopped."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from release.errors import GateError

__all__ = ["hookwire_serve"]


@contextmanager
def hookwire_serve(python: str | Path = sys.executable, token: str = "s3cret") -> Iterator[str]:
    """Start `python -m hookwire.runtime.cli serve` and yield its address (`127.0.0.1:PORT`)."""
    cmd = [str(python), "-m", "hookwire.runtime.cli", "serve", "--host", "127.0.0.1"]
    cmd += ["--port", "0", "--token", token, "--shutdown-grace", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        found: list[str] = []
        ready = threading.Event()

        def read() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                m = re.search(r"serving on (\S+):(\d+)", line)
                if m and not found:
                    found.append(f"{m.group(1)}:{m.group(2)}")
                    ready.set()

        threading.Thread(target=read, daemon=True).start()
        deadline = time.monotonic() + 30
        while not ready.wait(0.1):
            if proc.poll() is not None or time.monotonic() > deadline:
                err = proc.stderr.read() if proc.stderr and proc.poll() is not None else ""
                raise GateError(f"hookwire serve did not start: {err[-2000:]}")
        yield found[0]
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
