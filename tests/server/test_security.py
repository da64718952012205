"""Token auth, TLS, health checking, reflection and message size limits."""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Callable

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc  # type: ignore[import-untyped]
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (  # type: ignore[import-untyped]
    ProtoReflectionDescriptorDatabase,
)
from hookwire.runtime.results import Modified
from hookwire.runtime.server.config import ServerConfig
from hookwire.runtime.server.server import HookwireServer, ServerThread
from hookwire.sdk import Client, Overflow, event
from hookwire.sdk.errors import Unauthenticated, Unavailable

StartServer = Callable[..., ServerThread]
POINT = "before_tool_execution"
TOKEN = "correct horse battery staple"


def _hook(server: HookwireServer) -> None:
    server.registry.register(lambda ctx: Modified({"ok": True}), name="h", point=POINT)


def test_token_required_on_every_hookwire_rpc(start_server: StartServer) -> None:
    st = start_server(_hook, config=ServerConfig(port=0, token=TOKEN))
    for token in (None, "wrong", TOKEN[:-1], TOKEN + "x"):
        with Client(st.address, token=token) as client:
            with pytest.raises(Unauthenticated):
                client.execute(POINT, {})
            with pytest.raises(Unauthenticated):
                client.publish([event("a")])
            with pytest.raises(Unauthenticated):
                next(iter(client.subscribe_raw("a", overflow=Overflow.drop_newest())))
            with pytest.raises(Unauthenticated):
                client.list_hooks()
    with Client(st.address, token=TOKEN) as client:
        assert client.execute(POINT, {}).result == Modified({"ok": True})
        assert len(client.publish([event("a")])) == 1


def test_worker_with_wrong_token_is_refused(start_server: StartServer) -> None:
    import asyncio

    from hookwire.sdk import Worker

    st = start_server(config=ServerConfig(port=0, token=TOKEN))

    async def attempt(token: str) -> None:
        worker = Worker(st.address, token=token, reconnect=False)
        worker.register(lambda ctx: None, name="w", point=POINT)
        await worker.start()
        await worker.stop()

    with pytest.raises(Unauthenticated):
        asyncio.run(attempt("nope"))
    asyncio.run(attempt(TOKEN))


def test_health_is_open_and_reflection_lists_services(start_server: StartServer) -> None:
    st = start_server(config=ServerConfig(port=0, token=TOKEN))
    with grpc.insecure_channel(st.address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for service in ("", "hookwire.v1.ExecutorService", "hookwire.v1.EventBusService"):
            resp = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
            assert resp.status == health_pb2.HealthCheckResponse.SERVING
        with pytest.raises(grpc.RpcError) as info:
            health.Check(health_pb2.HealthCheckRequest(service="nope"), timeout=5)
        assert info.value.code() == grpc.StatusCode.NOT_FOUND
    authed = grpc.intercept_channel(grpc.insecure_channel(st.address), _BearerInterceptor(TOKEN))
    with authed:
        db = ProtoReflectionDescriptorDatabase(authed)
        services = set(db.get_services())
        assert {"hookwire.v1.ExecutorService", "hookwire.v1.EventBusService"} <= services
        file = db.FindFileContainingSymbol("hookwire.v1.ExecutorService")
        assert file.name == "hookwire/v1/executor_service.proto"


class _BearerInterceptor(grpc.StreamStreamClientInterceptor):
    def __init__(self, token: str) -> None:
        self._token = token

    def intercept_stream_stream(self, continuation, details, request_iterator):  # type: ignore[no-untyped-def]
        metadata = [*(details.metadata or ()), ("authorization", f"Bearer {self._token}")]
        details = details._replace(metadata=metadata)
        return continuation(details, request_iterator)


def test_max_message_size_is_enforced(start_server: StartServer) -> None:
    st = start_server(_hook, config=ServerConfig(port=0, max_message_bytes=16 * 1024))
    with Client(st.address) as client:
        with pytest.raises(Exception) as info:
            client.execute(POINT, {"blob": "x" * 20_000})
        assert getattr(info.value, "code", "") == "RESOURCE_EXHAUSTED"
        assert client.execute(POINT, {"blob": "x" * 1000}).result == Modified(
            {"blob": "x" * 1000, "ok": True}
        )


# -- TLS ---------------------------------------------------------------------------------


def _self_signed() -> tuple[bytes, bytes]:
    """A fresh self-signed certificate for localhost / 127.0.0.1 (PEM cert, PEM key)."""
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
    except ImportError:  # pragma: no cover - the openssl CLI fallback
        return _self_signed_openssl()
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
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def _self_signed_openssl() -> tuple[bytes, bytes]:  # pragma: no cover
    import shutil
    import subprocess
    import tempfile
    from pathlib import Path

    if shutil.which("openssl") is None:
        pytest.skip("neither the cryptography package nor the openssl CLI is available")
    with tempfile.TemporaryDirectory() as tmp:
        cert, key = Path(tmp, "c.pem"), Path(tmp, "k.pem")
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                str(key),
                "-out",
                str(cert),
                "-days",
                "1",
                "-subj",
                "/CN=localhost",
                "-addext",
                "subjectAltName=DNS:localhost,IP:127.0.0.1",
            ],
            check=True,
            capture_output=True,
        )
        return cert.read_bytes(), key.read_bytes()


def test_tls_serves_and_plaintext_clients_fail(start_server: StartServer) -> None:
    cert, key = _self_signed()
    st = start_server(
        _hook, config=ServerConfig(port=0, tls_cert_pem=cert, tls_key_pem=key, token=TOKEN)
    )
    with Client(st.address, tls_root_cert=cert, token=TOKEN) as client:
        assert client.execute(POINT, {}).result == Modified({"ok": True})
    with Client(st.address, token=TOKEN) as plain, pytest.raises(Unavailable):
        plain.execute(POINT, {}, timeout=3)
    other_cert, _ = _self_signed()
    with (
        Client(st.address, tls_root_cert=other_cert, token=TOKEN) as untrusted,
        pytest.raises(Unavailable),
    ):
        untrusted.execute(POINT, {}, timeout=3)


def test_tls_config_needs_both_parts() -> None:
    from hookwire.runtime.errors import InvalidArgument

    with pytest.raises(InvalidArgument) as info:
        ServerConfig(tls_cert_pem=b"x").validated()
    assert info.value.field == "tls_key_pem"
