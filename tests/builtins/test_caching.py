"""Caching: TTL on the virtual clock, LRU eviction, the before/after hook pair."""

from __future__ import annotations

import pytest
from hookwire.runtime.builtins.caching import CacheStore, CachingHook
from hookwire.runtime.clock import VirtualClock
from hookwire.runtime.context import HookContext, Operation
from hookwire.runtime.errors import InvalidArgument
from hookwire.runtime.results import Replace, Skipped


def test_entry_is_fresh_until_exactly_its_ttl() -> None:
    clock = VirtualClock()
    s = CacheStore(clock)
    s.put("k", 1, ttl_ns=100)
    clock.advance(99)
    assert s.get("k") == (True, 1)
    clock.advance(1)
    assert s.get("k") == (False, None)
    st = s.stats()
    assert (st.hits, st.misses, st.expirations, st.size) == (1, 1, 1, 0)


def test_lru_eviction_respects_reads() -> None:
    clock = VirtualClock()
    s = CacheStore(clock, max_entries=2)
    s.put("a", "A", 1_000)
    s.put("b", "B", 1_000)
    assert s.get("a") == (True, "A")  # a is now more recent than b
    s.put("c", "C", 1_000)
    assert s.keys() == ["a", "c"]
    assert s.get("b") == (False, None)
    assert s.stats().evictions == 1


def test_zero_ttl_stores_nothing_and_values_are_copied() -> None:
    s = CacheStore(VirtualClock())
    s.put("k", [1], 0)
    assert "k" not in s
    value = {"x": [1]}
    s.put("k", value, 10)
    value["x"].append(2)
    _, got = s.get("k")
    got["x"].append(3)
    assert s.get("k") == (True, {"x": [1]})


def test_store_validation() -> None:
    with pytest.raises(InvalidArgument, match="max_entries: must be an int >= 1"):
        CacheStore(VirtualClock(), 0)
    with pytest.raises(InvalidArgument, match="ttl_ns"):
        CacheStore(VirtualClock()).put("k", 1, -5)
    with pytest.raises(InvalidArgument, match="ttl_ns: must be an int >= 1"):
        CachingHook(VirtualClock(), ttl_ns=0)


def _ctx(
    point: str, params: dict[str, object], output: object = None, op: str = "search"
) -> HookContext:
    data: dict[str, object] = {"params": params}
    if output is not None:
        data["output"] = output
    return HookContext(point, data, operation=Operation(op))


def test_hook_pair_serves_hits_by_operation_and_params() -> None:
    clock = VirtualClock()
    cache = CachingHook(clock, ttl_ns=1_000, max_entries=8)
    assert cache.before(_ctx("before_tool_execution", {"q": "x"})) is None
    assert cache.after(_ctx("after_tool_execution", {"q": "x"}, {"hits": 3})) is None
    assert cache.before(_ctx("before_tool_execution", {"q": "x"})) == Replace({"hits": 3})
    # Other parameters, or another operation, miss.
    assert cache.before(_ctx("before_tool_execution", {"q": "y"})) is None
    assert cache.before(_ctx("before_tool_execution", {"q": "x"}, op="fetch")) is None
    clock.advance(1_000)
    assert cache.before(_ctx("before_tool_execution", {"q": "x"})) is None


def test_hook_after_without_output_declines() -> None:
    cache = CachingHook(VirtualClock(), ttl_ns=10)
    assert cache.after(_ctx("after_tool_execution", {})) == Skipped("no output at data.output")
    assert len(cache.store) == 0
