"""EventBusService over gRPC: publish, subscribe, slow subscribers under every overflow
strategy, resume after reconnect, OUT_OF_RANGE, bad requests."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import pytest
from grpc import aio
from hookwire.runtime.bus import EventBus
from hookwire.runtime.errors import InvalidArgument, OutOfRange, RateLimited
from hookwire.runtime.server.config import ServerConfig
from hookwire.runtime.server.server import HookwireServer
from hookwire.runtime.wire.json import from_proto_value
from hookwire.sdk import AsyncClient, Overflow, Subscription, event
from hookwire.v1 import event_service_pb2 as bs
from hookwire.v1 import event_service_pb2_grpc as bs_grpc

# No BDP probing: the client's receive window stays at its 64 KiB default, so a client that
# stops reading really stops the server's stream after a few events.
SMALL_WINDOW = [("grpc.http2.bdp_probe", 0)]


def run(
    body: Callable[[HookwireServer], Awaitable[None]],
    config: ServerConfig | None = None,
    **kwargs: Any,
) -> None:
    async def main() -> None:
        server = HookwireServer(
            config=config or ServerConfig(port=0, shutdown_grace_s=2.0), **kwargs
        )
        await server.start()
        try:
            await asyncio.wait_for(body(server), 60)
        finally:
            await server.stop()

    asyncio.run(main())


def test_publish_and_subscribe_with_patterns_and_metadata() -> None:
    async def body(server: HookwireServer) -> None:
        async with AsyncClient(server.address, correlation_id="corr-1") as client:
            seqs = await client.publish(
                [event("tool.invoked", {"n": 1}), event("agent.start"), event("tool.done", [1, 2])]
            )
            assert seqs == [1, 2, 3]
            got: list[Any] = []
            async for batch in client.subscribe_raw("tool.*", from_sequence=1):
                got.extend(batch.events)
                if len(got) == 2:
                    break
        assert [(e.sequence, e.type) for e in got] == [(1, "tool.invoked"), (3, "tool.done")]
        assert from_proto_value(got[1].payload) == [1, 2]
        assert got[0].correlation_id == "corr-1"
        assert got[0].id and got[0].HasField("time")

    run(body)


def test_bad_publish_and_subscribe_requests() -> None:
    async def body(server: HookwireServer) -> None:
        async with AsyncClient(server.address) as client:
            with pytest.raises(InvalidArgument) as info:
                await client.publish([event("ok.type"), event("bad type!")])
            assert info.value.field == "events[1].type"
            # Rejected whole: no sequence was used.
            assert await client.publish([event("ok.type")]) == [1]
            with pytest.raises(RateLimited) as too_many:  # RESOURCE_EXHAUSTED
                await client.publish([event("a")] * 6)
            assert too_many.value.field == "events"
            bad: list[tuple[dict[str, Any], str]] = [
                ({"patterns": ["a.>.b"]}, "patterns[0]"),
                ({"patterns": []}, "patterns"),
                ({"patterns": ["a"], "capacity": 0}, "capacity"),
                ({"patterns": ["a"], "overflow": Overflow.sample(0.0)}, "overflow.sample.rate"),
                ({"patterns": ["a"], "max_batch_size": 0}, "max_batch_size"),
            ]
            for kwargs, field in bad:
                patterns = kwargs.pop("patterns")
                with pytest.raises(InvalidArgument) as err:
                    async for _ in client.subscribe_raw(patterns, **kwargs):
                        pass
                assert err.value.field == field, (field, err.value)
        # A message over max_message_bytes is refused by gRPC itself.
        channel = aio.insecure_channel(server.address)
        stub = bs_grpc.EventBusServiceStub(channel)
        big = bs.PublishRequest(events=[event("big", "x" * 70_000)])
        with pytest.raises(grpc.RpcError) as raw:
            await stub.Publish(big)
        assert raw.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        await channel.close()

    run(body, ServerConfig(port=0, max_publish_batch=5, max_message_bytes=64 * 1024))


def test_out_of_range_and_resume_inside_retention() -> None:
    bus = EventBus(retention=10)

    async def body(server: HookwireServer) -> None:
        async with AsyncClient(server.address) as client:
            await client.publish([event("e", i) for i in range(1, 31)])
            with pytest.raises(OutOfRange) as info:
                async for _ in client.subscribe_raw("e", from_sequence=5):
                    pass
            assert info.value.field == "from_sequence"
            assert "21" in str(info.value)  # names the oldest still held
            got: list[int] = []
            async for batch in client.subscribe_raw("e", from_sequence=21):
                got.extend(e.sequence for e in batch.events)
                if got[-1] == 30:
                    break
            assert got == list(range(21, 31))

    run(body, bus=bus)


def test_resume_after_reconnect_loses_nothing() -> None:
    """The subscriber's server goes away mid-stream; a new one serving the same bus comes up
    on the same port; the SDK resumes from the next sequence with no gap and no duplicate."""
    bus = EventBus()

    async def main() -> None:
        first = HookwireServer(config=ServerConfig(port=0, shutdown_grace_s=2.0), bus=bus)
        address = await first.start()
        port = first.port
        client = AsyncClient(address)
        state = Subscription()
        seen: list[int] = []
        await bus.apublish_batch(_events(range(1, 6)))

        async def consume() -> None:
            async for batch in client.subscribe_raw("e", from_sequence=1, state=state):
                seen.extend(e.sequence for e in batch.events)
                if seen and seen[-1] == 15:
                    return

        consumer = asyncio.create_task(consume())
        while len(seen) < 5:
            await asyncio.sleep(0.01)
        await first.stop()
        # Published while no server is up: retained by the bus.
        await bus.apublish_batch(_events(range(6, 11)))
        second = HookwireServer(config=ServerConfig(port=port, shutdown_grace_s=2.0), bus=bus)
        await second.start()
        try:
            await bus.apublish_batch(_events(range(11, 16)))
            await asyncio.wait_for(consumer, 20)
        finally:
            await client.close()
            await second.stop()
        assert seen == list(range(1, 16))
        assert state.reconnects >= 1

    asyncio.run(main())


def _events(payloads: Any) -> list[Any]:
    from hookwire.runtime.bus import Event

    return [Event("e", p) for p in payloads]


# -- slow subscribers ----------------------------------------------------------------------

N = 300
PAYLOAD = "x" * 4000
CAPACITY = 8


async def _slow_subscriber(
    server: HookwireServer, overflow: bs.OverflowStrategy, n: int = N
) -> tuple[list[int], bs.SubscriptionStats, asyncio.Task[list[int]]]:
    """Subscribe, stop reading, publish `n` big events, then read everything there is."""
    channel = aio.insecure_channel(server.address, options=SMALL_WINDOW)
    stub = bs_grpc.EventBusServiceStub(channel)
    req = bs.SubscribeRequest(patterns=["load.>"], capacity=CAPACITY, max_batch_size=1)
    req.overflow.CopyFrom(overflow)
    call = stub.Subscribe(req)
    for _ in range(500):
        if server.bus.subscriptions():
            break
        await asyncio.sleep(0.01)
    client = AsyncClient(server.address)
    publish = asyncio.create_task(_publish_in_batches(client, n))
    # Give the publisher time to run ahead of the paused reader.
    await asyncio.sleep(0.5)
    seen: list[int] = []
    stats = bs.SubscriptionStats()
    async for batch in call:
        seen.extend(e.sequence for e in batch.events)
        stats = batch.stats
        if stats.received == n and stats.queued == 0:
            break
    call.cancel()
    await publish
    await client.close()
    await channel.close()
    return seen, stats, publish


async def _publish_in_batches(client: AsyncClient, n: int, size: int = 10) -> list[int]:
    # Separate RPCs let the server's stream run between them, so the subscriber's gRPC
    # window fills before its queue does: a genuinely slow reader, not just a burst.
    seqs: list[int] = []
    for start in range(0, n, size):
        batch = [event("load.item", {"s": PAYLOAD}) for _ in range(min(size, n - start))]
        seqs.extend(await client.publish(batch, timeout=30))
    return seqs


def _balanced(stats: bs.SubscriptionStats) -> bool:
    dropped = (
        stats.dropped_oldest
        + stats.dropped_newest
        + stats.sampled_out
        + stats.timed_out
        + stats.expired
    )
    return stats.received == stats.delivered + dropped + stats.queued


def test_slow_subscriber_drop_newest() -> None:
    async def body(server: HookwireServer) -> None:
        seen, stats, _ = await _slow_subscriber(server, Overflow.drop_newest())
        assert stats.dropped_newest > 0 and _balanced(stats)
        assert stats.received == N and len(seen) == stats.delivered
        assert seen == sorted(set(seen))
        assert N not in seen  # while the reader was stuck, the newest were the ones dropped
        assert stats.dropped_newest == N - len(seen)

    run(body)


def test_slow_subscriber_drop_oldest() -> None:
    async def body(server: HookwireServer) -> None:
        seen, stats, _ = await _slow_subscriber(server, Overflow.drop_oldest())
        assert stats.dropped_oldest > 0 and _balanced(stats)
        assert len(seen) == stats.delivered
        assert seen == sorted(set(seen))
        assert seen[-CAPACITY:] == list(range(N - CAPACITY + 1, N + 1))  # the newest kept
        assert stats.dropped_oldest == N - len(seen)

    run(body)


def test_slow_subscriber_sample() -> None:
    async def body(server: HookwireServer) -> None:
        seen, stats, _ = await _slow_subscriber(server, Overflow.sample(0.5))
        assert stats.sampled_out > 0 and _balanced(stats)
        assert len(seen) == stats.delivered and seen == sorted(set(seen))
        # The queue ended full above its high-water mark, where only sequences with
        # floor(seq * 0.5) > floor((seq - 1) * 0.5) - the even ones - are admitted.
        assert seen[-1] % 2 == 0
        assert any(s % 2 == 1 for s in seen)  # below the mark every event was queued

    run(body)


def test_slow_subscriber_backpressure_loses_nothing_and_holds_the_publisher() -> None:
    async def body(server: HookwireServer) -> None:
        channel = aio.insecure_channel(server.address, options=SMALL_WINDOW)
        stub = bs_grpc.EventBusServiceStub(channel)
        req = bs.SubscribeRequest(patterns=["load.>"], capacity=CAPACITY, max_batch_size=1)
        req.overflow.CopyFrom(Overflow.backpressure())
        call = stub.Subscribe(req)
        while not server.bus.subscriptions():
            await asyncio.sleep(0.01)
        client = AsyncClient(server.address)
        publish = asyncio.create_task(_publish_in_batches(client, N))
        await asyncio.sleep(0.5)
        assert not publish.done()  # the paused reader holds the publisher back
        seen: list[int] = []
        async for batch in call:
            seen.extend(e.sequence for e in batch.events)
            if batch.stats.received == N and batch.stats.queued == 0:
                stats = batch.stats
                break
        assert seen == list(range(1, N + 1))
        assert stats.delivered == N and _balanced(stats)
        assert await publish == list(range(1, N + 1))
        call.cancel()
        await client.close()
        await channel.close()

    run(body)


def test_slow_subscriber_backpressure_with_timeout_drops_after_waiting() -> None:
    async def body(server: HookwireServer) -> None:
        seen, stats, publish = await _slow_subscriber(
            server, Overflow.backpressure(timeout_s=0.02), n=60
        )
        assert stats.timed_out > 0 and _balanced(stats)
        assert len(seen) == stats.delivered == 60 - stats.timed_out
        assert publish.result() == list(range(1, 61))

    run(body)
