"""A server whose TLS certificate and token come from the configuration file, operated by the
command line with --tls-ca / --token-file (and HOOKWIRE_* variables)."""

from __future__ import annotations

import datetime
import ipaddress
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

CLI = [sys.executable, "-m", "hookwire.runtime.cli"]


def _self_signed(dir: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    (dir / "server.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (dir / "server.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def test_tls_and_token_file_from_the_config(tmp_path: Path) -> None:
    _self_signed(tmp_path)
    (tmp_path / "token").write_text("file-t0ken\n")
    (tmp_path / "hookwire.toml").write_text(
        '[server]\nport = 0\ntoken_file = "token"\n'
        'tls_cert = "server.pem"\ntls_key = "server.key"\n'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOOKWIRE_", "OTEL_"))}
    server = subprocess.Popen(
        [*CLI, "serve", "--config", "hookwire.toml"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        match = re.match(r"hookwire serving on (\S+) \(TLS, token auth, \w+\)", line)
        assert match, line
        address = match.group(1)
        flags = ["--address", address, "--tls-ca", str(tmp_path / "server.pem")]
        ok = subprocess.run(
            [*CLI, "exec", "session_start", *flags, "--token-file", str(tmp_path / "token")],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert ok.returncode == 0 and ok.stdout.startswith("result: CONTINUE"), ok.stderr
        # The same through HOOKWIRE_* variables.
        via_env = {
            **env,
            "HOOKWIRE_ADDRESS": address,
            "HOOKWIRE_TLS_CA": str(tmp_path / "server.pem"),
            "HOOKWIRE_TOKEN": "file-t0ken",
        }
        res = subprocess.run(
            [*CLI, "hooks", "--json"], env=via_env, capture_output=True, text=True, timeout=60
        )
        assert res.returncode == 0 and res.stdout.strip() == "[]", res.stderr
        wrong = subprocess.run(
            [*CLI, "hooks", *flags, "--token", "nope"], capture_output=True, text=True, timeout=60
        )
        assert wrong.returncode == 1 and "UNAUTHENTICATED" in wrong.stderr
        server.send_signal(signal.SIGTERM)
        assert server.wait(30) == 0
    finally:
        if server.poll() is None:
            server.kill()
        server.wait()
