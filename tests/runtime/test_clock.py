"""Clocks: the virtual clock moves only when advanced; sleeping advances it."""

from __future__ import annotations

import asyncio

import pytest
from hookwire.runtime.clock import Clock, SystemClock, VirtualClock
from hookwire.runtime.errors import InvalidArgument


def test_virtual_clock_moves_only_when_advanced() -> None:
    c = VirtualClock(start_unix_ns=1_000)
    assert (c.monotonic_ns(), c.time_ns()) == (0, 1_000)
    c.advance(5)
    c.advance_ms(1.5)
    assert (c.monotonic_ns(), c.time_ns()) == (1_500_005, 1_501_005)
    assert c.monotonic_ns() == 1_500_005


def test_virtual_sleep_and_asleep_advance() -> None:
    c = VirtualClock()
    c.sleep(0.25)
    asyncio.run(c.asleep(0.5))
    assert c.monotonic_ns() == 750_000_000


@pytest.mark.parametrize("bad", [-1, 1.5, True])
def test_virtual_advance_rejects_bad_values(bad: object) -> None:
    with pytest.raises(InvalidArgument) as info:
        VirtualClock().advance(bad)  # type: ignore[arg-type]
    assert info.value.field == "ns"


def test_virtual_advance_ms_and_sleep_reject_negative() -> None:
    with pytest.raises(InvalidArgument) as info:
        VirtualClock().advance_ms(-1)
    assert info.value.field == "ms"
    with pytest.raises(InvalidArgument) as info:
        VirtualClock().sleep(-0.1)
    assert info.value.field == "seconds"


def test_system_clock_is_monotonic_and_a_clock() -> None:
    c = SystemClock()
    a = c.monotonic_ns()
    c.sleep(0.001)
    b = c.monotonic_ns()
    assert b - a >= 1_000_000
    assert isinstance(c, Clock)
    assert isinstance(VirtualClock(), Clock)
