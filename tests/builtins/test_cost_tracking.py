"""Cost tracking: Decimal totals computed by hand, versioned tables, unpriced models."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hookwire.runtime.builtins.cost_tracking import (
    CostTracker,
    ModelPrice,
    PriceTable,
    Usage,
)
from hookwire.runtime.clock import VirtualClock
from hookwire.runtime.context import HookContext, Operation
from hookwire.runtime.errors import InvalidArgument
from hookwire.runtime.results import Modified, Skipped

TABLE = PriceTable(
    "2023-01",
    date(2023, 1, 1),
    {"gpt-a": ModelPrice("2.50", "10.00", "1.25"), "cheap": ModelPrice("0.1", "0.1", "0")},
)


def _ns(y: int, m: int, d: int) -> int:
    return int(datetime(y, m, d, 12, tzinfo=UTC).timestamp()) * 1_000_000_000


def test_cached_tokens_inside_prompt_tokens() -> None:
    t = CostTracker(TABLE, VirtualClock())
    e = t.record("c1", "gpt-a", Usage(1000, 500, 400))
    # (600 * 2.50 + 500 * 10.00 + 400 * 1.25) / 1e6 = (1500 + 5000 + 500) / 1e6
    assert e.cost == Decimal("0.007")
    assert e.price_version == "2023-01"


def test_cached_tokens_separate_from_prompt_tokens() -> None:
    t = CostTracker(TABLE, VirtualClock(), cached_included_in_prompt=False)
    e = t.record("c1", "gpt-a", Usage(1000, 500, 400))
    # (1000 * 2.50 + 500 * 10.00 + 400 * 1.25) / 1e6 = 8000 / 1e6
    assert e.cost == Decimal("0.008")


def test_totals_per_correlation_id_are_exact_decimals() -> None:
    t = CostTracker(TABLE, VirtualClock())
    for _ in range(3):
        # 1,000,000 prompt tokens at 0.1 per million = 0.1 each; three make exactly 0.3.
        t.record("c1", "cheap", Usage(1_000_000, 0, 0))
    t.record("c2", "gpt-a", Usage(3, 0, 0))
    assert t.totals("c1").cost == Decimal("0.3")
    assert str(t.totals("c1").cost) == "0.3"
    # 3 * 2.50 / 1e6
    assert t.totals("c2").cost == Decimal("0.0000075")
    assert t.totals("c1").prompt_tokens == 3_000_000
    assert t.totals("c1").calls == 3
    assert t.totals().cost == Decimal("0.3000075")
    assert t.correlation_ids() == ("c1", "c2")
    assert t.totals("nobody").calls == 0


def test_unknown_model_is_recorded_unpriced() -> None:
    t = CostTracker(TABLE, VirtualClock())
    t.record("c", "gpt-a", Usage(1_000_000, 0, 0))
    e = t.record("c", "mystery", Usage(10, 20, 0))
    assert e.cost is None
    assert e.note == "model 'mystery' is not in price table '2023-01'"
    tot = t.totals("c")
    assert (tot.calls, tot.unpriced_calls, tot.cost) == (2, 1, Decimal("2.5"))
    assert tot.unpriced_models == frozenset({"mystery"})
    assert tot.completion_tokens == 20


def test_latest_effective_table_is_used() -> None:
    v2 = PriceTable("2023-06", date(2023, 6, 1), {"gpt-a": ModelPrice(5, 20, 2)})
    t = CostTracker([v2, TABLE], VirtualClock())
    assert t.record("c", "gpt-a", Usage(1_000_000), _ns(2023, 3, 1)).cost == Decimal("2.50")
    e = t.record("c", "gpt-a", Usage(1_000_000), _ns(2023, 7, 1))
    assert (e.cost, e.price_version) == (Decimal(5), "2023-06")
    early = t.record("c", "gpt-a", Usage(1), _ns(2022, 1, 1))
    assert early.cost is None and early.note == "no price table effective yet"
    # Without a timestamp the clock's wall time decides (VirtualClock starts 2023-11-14).
    assert t.record("c", "gpt-a", Usage(1_000_000)).price_version == "2023-06"


def test_hook_reads_usage_from_operation_result() -> None:
    t = CostTracker(TABLE, VirtualClock(), annotate="cost")
    op = Operation(
        "llm",
        "1",
        parameters={"model": "gpt-a"},
        result={
            "usage": {
                "prompt_tokens": 2000,
                "completion_tokens": 100,
                "prompt_tokens_details": {"cached_tokens": 1000},
            }
        },
    )
    ctx = HookContext("after_agent_execution", {}, correlation_id="run-7", operation=op)
    r = t(ctx)
    # (1000 * 2.50 + 100 * 10.00 + 1000 * 1.25) / 1e6 = 4750 / 1e6
    assert r == Modified(
        {"cost": {"amount": Decimal("0.00475"), "currency": "USD", "price_version": "2023-01"}}
    )
    assert t.totals("run-7").cached_tokens == 1000
    assert t(HookContext("after_agent_execution", {"model": "gpt-a"})) == Skipped(
        "no token usage in the context"
    )


def test_bad_counts_and_prices_are_clear_errors() -> None:
    t = CostTracker(TABLE, VirtualClock())
    with pytest.raises(InvalidArgument, match=r"usage\.prompt_tokens: must be a non-negative"):
        t(HookContext("after_agent_execution", {"model": "gpt-a", "usage": {"prompt_tokens": -1}}))
    with pytest.raises(InvalidArgument, match="cached_tokens: 5 exceeds prompt_tokens 2"):
        t.record("c", "gpt-a", Usage(2, 0, 5))
    with pytest.raises(InvalidArgument, match="no model name found"):
        t(HookContext("after_agent_execution", {"usage": {"prompt_tokens": 1}}))
    with pytest.raises(InvalidArgument) as info:
        ModelPrice("1", 0.5)  # type: ignore[arg-type]
    assert info.value.field == "completion"
    with pytest.raises(InvalidArgument) as info:
        PriceTable.from_json(
            {
                "version": "v",
                "effective": "2023-01-01",
                "models": {"m": {"prompt": "x", "completion": "1"}},
            }
        )
    assert info.value.field == "price_table.models.m.prompt"
    with pytest.raises(InvalidArgument, match="effective: must be a date"):
        PriceTable.from_json({"version": "v", "effective": "Jan 1", "models": {}})
    with pytest.raises(InvalidArgument, match="duplicate price table versions"):
        CostTracker([TABLE, TABLE], VirtualClock())


def test_price_table_from_json() -> None:
    t = PriceTable.from_json(
        {
            "version": "v9",
            "effective": "2024-02-29",
            "currency": "EUR",
            "models": {"m": {"prompt": "0.15", "completion": 1}},
        }
    )
    assert t.prices["m"] == ModelPrice(Decimal("0.15"), Decimal(1), Decimal(0))
    assert (t.currency, t.effective) == ("EUR", date(2024, 2, 29))
