"""Health Watch streams at shutdown, and server reflection under v1 and v1alpha."""

from __future__ import annotations

import asyncio
import threading
import time

import grpc
from grpc import aio
from grpc_health.v1 import health_pb2, health_pb2_grpc  # type: ignore[import-untyped]
from grpc_reflection.v1alpha import reflection_pb2  # type: ignore[import-untyped]
from hookwire.runtime.server.config import ServerConfig
from hookwire.runtime.server.server import HookwireServer, ServerThread

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def test_an_open_health_watch_does_not_hold_shutdown() -> None:
    """Before: the Watch stream stayed open and stop() waited the whole grace (10 s)."""

    async def main() -> tuple[list[int], float, grpc.StatusCode]:
        server = HookwireServer(config=ServerConfig(port=0, shutdown_grace_s=10.0))
        await server.start()
        async with aio.insecure_channel(server.address) as channel:
            watch = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest())
            seen = [(await watch.read()).status]
            t0 = time.monotonic()
            await server.stop()
            took = time.monotonic() - t0
            while (message := await asyncio.wait_for(watch.read(), 5)) is not aio.EOF:
                seen.append(message.status)
            return seen, took, await watch.code()

    seen, took, code = asyncio.run(main())
    assert (seen, code) == ([SERVING, NOT_SERVING], grpc.StatusCode.OK)
    assert took < 5.0, f"stop() took {took:.1f} s with a Watch open"


def _reflect(address: str, method: str, request: object) -> object:
    with grpc.insecure_channel(address) as channel:
        call = channel.stream_stream(
            method,
            request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
            response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
        )
        (response,) = list(call(iter([request]), timeout=5))
        return response


def test_reflection_is_served_as_v1_and_v1alpha() -> None:
    with ServerThread(config=ServerConfig(port=0, shutdown_grace_s=1.0)) as st:
        for version in ("v1", "v1alpha"):
            method = f"/grpc.reflection.{version}.ServerReflection/ServerReflectionInfo"
            listed = _reflect(
                st.address, method, reflection_pb2.ServerReflectionRequest(list_services="")
            )
            names = {s.name for s in listed.list_services_response.service}  # type: ignore[attr-defined]
            assert {
                "hookwire.v1.ExecutorService",
                "hookwire.v1.EventBusService",
                "grpc.health.v1.Health",
                "grpc.reflection.v1.ServerReflection",
                "grpc.reflection.v1alpha.ServerReflection",
            } <= names, (version, names)
            for symbol in ("hookwire.v1.ExecutorService", "grpc.reflection.v1.ServerReflection"):
                described = _reflect(
                    st.address,
                    method,
                    reflection_pb2.ServerReflectionRequest(file_containing_symbol=symbol),
                )
                files = described.file_descriptor_response.file_descriptor_proto  # type: ignore[attr-defined]
                assert files, (version, symbol, described)


def test_health_watch_follows_status_changes() -> None:
    with ServerThread(config=ServerConfig(port=0, shutdown_grace_s=1.0)) as st:
        assert st.server is not None
        server = st.server
        got: list[int] = []
        ready = threading.Event()

        def watch() -> None:
            with grpc.insecure_channel(st.address) as channel:
                stream = health_pb2_grpc.HealthStub(channel).Watch(
                    health_pb2.HealthCheckRequest(service="svc"), timeout=10
                )
                for response in stream:
                    got.append(response.status)
                    ready.set()
                    if len(got) == 2:
                        stream.cancel()
                        return

        thread = threading.Thread(target=watch)
        thread.start()
        assert ready.wait(5)
        st.run(server.health.set("svc", SERVING))
        thread.join(10)
        assert got == [health_pb2.HealthCheckResponse.SERVICE_UNKNOWN, SERVING]
