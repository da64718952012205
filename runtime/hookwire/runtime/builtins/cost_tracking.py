"""LLM cost tracking: tokens × a versioned price table, in Decimal, totals per correlation id.

Prices are per 1,000,000 tokens for three kinds: prompt (uncached input), completion (output)
and cached (input served from the provider's prompt cache). With `cached_included_in_prompt`
(default True, the OpenAI convention) the reported `prompt_tokens` already contain the cached
ones, so `prompt_tokens - cached_tokens` are billed at the prompt price; with False (the
Anthropic convention) the two counts are disjoint.

    cost = (uncached_prompt × prompt + completion × completion + cached × cached) / 1,000,000

computed with `decimal.Decimal` (exact; no float anywhere). A model missing from the table is
**not an error**: the call is recorded as an *unpriced* entry (tokens counted, cost None) and
listed in `CostTotals.unpriced_models`, so a price-table gap is visible without breaking the
chain. A malformed token count is an error (the hook fails with InvalidArgument naming it).

Example:
    >>> from decimal import Decimal
    >>> from datetime import date
    >>> from hookwire.runtime.clock import VirtualClock
    >>> table = PriceTable("2023-01", date(2023, 1, 1),
    ...                    {"m1": ModelPrice("2.50", "10.00", "1.25")})
    >>> tracker = CostTracker(table, VirtualClock())
    >>> entry = tracker.record("c1", "m1", Usage(prompt_tokens=1000, completion_tokens=200))
    >>> entry.cost
    Decimal('0.0045')
    >>> tracker.totals("c1").cost
    Decimal('0.0045')
"""

from __future__ import annotations

import decimal
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from hookwire.runtime.builtins.field_path import MISSING, FieldPath
from hookwire.runtime.clock import Clock
from hookwire.runtime.context import HookContext
from hookwire.runtime.errors import InvalidArgument
from hookwire.runtime.results import HookResult, Modified, Skipped

__all__ = [
    "CostEntry",
    "CostTotals",
    "CostTracker",
    "ModelPrice",
    "PriceTable",
    "Usage",
]

_PER = 1_000_000
# Enough digits that token counts up to 10^30 times any realistic price stay exact.
_CTX = decimal.Context(prec=80, traps=[decimal.InvalidOperation, decimal.Inexact])


def _price(value: Any, field: str) -> Decimal:
    # Floats are refused: 0.1 as a float is not 0.1, and prices must be exact.
    if isinstance(value, bool) or not isinstance(value, (Decimal, int, str)):
        raise InvalidArgument(
            field, f"must be a Decimal, an int or a decimal string, got {type(value).__name__}"
        )
    try:
        d = Decimal(value)
    except decimal.InvalidOperation:
        raise InvalidArgument(field, f"is not a decimal number: {value!r}") from None
    if not d.is_finite() or d < 0:
        raise InvalidArgument(field, f"must be a finite, non-negative price, got {value!r}")
    return d


@dataclass(frozen=True, slots=True, init=False)
class ModelPrice:
    """Prices per 1,000,000 tokens (Decimal; ints and decimal strings are converted).

    Example:
        >>> ModelPrice("3", 15, "0.30").completion
        Decimal('15')
        >>> ModelPrice(0.1, 1, 1)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        hookwire.runtime.errors.InvalidArgument: prompt: must be a Decimal, an int or ..., got float
    """

    prompt: Decimal
    completion: Decimal
    cached: Decimal

    def __init__(
        self,
        prompt: Decimal | int | str,
        completion: Decimal | int | str,
        cached: Decimal | int | str = 0,
    ) -> None:
        object.__setattr__(self, "prompt", _price(prompt, "prompt"))
        object.__setattr__(self, "completion", _price(completion, "completion"))
        object.__setattr__(self, "cached", _price(cached, "cached"))


@dataclass(frozen=True, slots=True)
class PriceTable:
    """A named, dated price list: `version` (e.g. "2026-01"), `effective` date (UTC) and
    model name -> ModelPrice. Several tables can be given to a tracker; each call is priced with
    the latest table effective on the call's date.

    Example:
        >>> t = PriceTable.from_json({"version": "v1", "effective": "2026-01-01",
        ...     "models": {"m": {"prompt": "1", "completion": "2", "cached": "0.5"}}})
        >>> (t.version, t.effective, t.prices["m"].cached)
        ('v1', datetime.date(2026, 1, 1), Decimal('0.5'))
    """

    version: str
    effective: date
    prices: Mapping[str, ModelPrice]
    currency: str = "USD"

    def __post_init__(self) -> None:
        if not isinstance(self.version, str) or not self.version:
            raise InvalidArgument("version", f"must be a non-empty string, got {self.version!r}")
        if not isinstance(self.effective, date) or isinstance(self.effective, datetime):
            raise InvalidArgument(
                "effective", f"must be a datetime.date, got {type(self.effective).__name__}"
            )
        if not isinstance(self.prices, Mapping):
            raise InvalidArgument("prices", "must be a mapping of model name to ModelPrice")
        for model, price in self.prices.items():
            if not isinstance(model, str) or not model:
                raise InvalidArgument("prices", f"model names must be non-empty strings: {model!r}")
            if not isinstance(price, ModelPrice):
                raise InvalidArgument(
                    f"prices.{model}", f"must be a ModelPrice, got {type(price).__name__}"
                )
        object.__setattr__(self, "prices", dict(self.prices))

    @classmethod
    def from_json(cls, value: Any, field: str = "price_table") -> PriceTable:
        """Build from `{"version", "effective": "YYYY-MM-DD", "currency"?, "models": {name:
        {"prompt", "completion", "cached"?}}}`; prices as decimal strings or ints."""
        if not isinstance(value, dict):
            raise InvalidArgument(field, f"must be a JSON object, got {type(value).__name__}")
        unknown = set(value) - {"version", "effective", "currency", "models"}
        if unknown:
            raise InvalidArgument(field, f"unknown member(s) {sorted(unknown)}")
        try:
            eff = date.fromisoformat(value.get("effective", ""))
        except (TypeError, ValueError):
            raise InvalidArgument(
                f"{field}.effective", f"must be a date 'YYYY-MM-DD', got {value.get('effective')!r}"
            ) from None
        models = value.get("models")
        if not isinstance(models, dict):
            raise InvalidArgument(f"{field}.models", "must be an object of model name -> prices")
        prices: dict[str, ModelPrice] = {}
        for name, p in models.items():
            where = f"{field}.models.{name}"
            if not isinstance(p, dict) or not {"prompt", "completion"} <= set(p):
                raise InvalidArgument(where, "must be an object with prompt, completion, cached?")
            extra = set(p) - {"prompt", "completion", "cached"}
            if extra:
                raise InvalidArgument(where, f"unknown member(s) {sorted(extra)}")
            try:
                prices[name] = ModelPrice(p["prompt"], p["completion"], p.get("cached", 0))
            except InvalidArgument as exc:
                raise InvalidArgument(f"{where}.{exc.field}", exc.reason) from None
        return cls(value.get("version", ""), eff, prices, value.get("currency", "USD"))


def _count(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidArgument(field, f"must be a non-negative integer token count, got {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts of one model call."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0

    def __post_init__(self) -> None:
        for name in ("prompt_tokens", "completion_tokens", "cached_tokens"):
            _count(getattr(self, name), name)

    @classmethod
    def from_json(cls, value: Any, field: str = "usage") -> Usage:
        """Read `{"prompt_tokens", "completion_tokens", "cached_tokens"}`; the cached count may
        also sit at `prompt_tokens_details.cached_tokens` (OpenAI's shape). Missing = 0."""
        if not isinstance(value, dict):
            raise InvalidArgument(field, f"must be an object of token counts, got {value!r}")
        cached = value.get("cached_tokens")
        details = value.get("prompt_tokens_details")
        if cached is None and isinstance(details, dict):
            cached = details.get("cached_tokens")
        return cls(
            _count(value.get("prompt_tokens", 0), f"{field}.prompt_tokens"),
            _count(value.get("completion_tokens", 0), f"{field}.completion_tokens"),
            _count(0 if cached is None else cached, f"{field}.cached_tokens"),
        )


@dataclass(frozen=True, slots=True)
class CostEntry:
    """One priced (or unpriced) call. `cost` None = unpriced; `note` says why."""

    correlation_id: str
    model: str
    usage: Usage
    cost: Decimal | None
    price_version: str | None
    timestamp_ns: int
    note: str = ""


@dataclass(frozen=True, slots=True)
class CostTotals:
    """Sums over the entries of one correlation id (or all of them)."""

    calls: int = 0
    unpriced_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    cost: Decimal = Decimal(0)
    unpriced_models: frozenset[str] = field(default_factory=frozenset)


class CostTracker:
    """A hook (any point that sees a model call's usage, typically `after_agent_execution`)
    that prices each call and keeps totals per correlation id.

    Model and usage are read from the first of `model_paths` / `usage_paths` present in the
    context. A context without usage is declined (SKIPPED). The call's date (for choosing the
    price table) is the context timestamp, or the clock's wall time when the context has none.
    With `annotate="cost"`, the hook returns MODIFIED `{"cost": {"amount": Decimal,
    "currency", "price_version"}}` (or `{"cost": {"unpriced": true}}`).

    Example:
        >>> from datetime import date
        >>> from hookwire.runtime.clock import VirtualClock
        >>> table = PriceTable("v1", date(2020, 1, 1), {"m": ModelPrice(1, 2)})
        >>> t = CostTracker(table, VirtualClock())
        >>> data = {"model": "x", "usage": {"prompt_tokens": 5}}
        >>> ctx = HookContext("after_agent_execution", data, correlation_id="c")
        >>> t(ctx)
        >>> t.totals("c").unpriced_models
        frozenset({'x'})
    """

    def __init__(
        self,
        tables: PriceTable | Sequence[PriceTable],
        clock: Clock,
        *,
        model_paths: Sequence[str] = (
            "data.model",
            "operation.parameters.model",
            "operation.result.model",
        ),
        usage_paths: Sequence[str] = ("data.usage", "operation.result.usage"),
        cached_included_in_prompt: bool = True,
        annotate: str | None = None,
    ) -> None:
        seq = (tables,) if isinstance(tables, PriceTable) else tuple(tables)
        if not seq:
            raise InvalidArgument("tables", "at least one PriceTable is needed")
        for i, t in enumerate(seq):
            if not isinstance(t, PriceTable):
                raise InvalidArgument(
                    f"tables[{i}]", f"must be a PriceTable, got {type(t).__name__}"
                )
        versions = [t.version for t in seq]
        if len(set(versions)) != len(versions):
            raise InvalidArgument("tables", f"duplicate price table versions in {versions}")
        self._tables = tuple(sorted(seq, key=lambda t: t.effective))
        self._clock = clock
        self._model_paths = tuple(FieldPath(p, "model_paths") for p in model_paths)
        self._usage_paths = tuple(FieldPath(p, "usage_paths") for p in usage_paths)
        self._included = bool(cached_included_in_prompt)
        if annotate is not None and (not isinstance(annotate, str) or not annotate):
            raise InvalidArgument("annotate", f"must be None or a non-empty key, got {annotate!r}")
        self._annotate = annotate
        self._entries: dict[str, list[CostEntry]] = {}
        self._lock = threading.Lock()

    def table_for(self, timestamp_ns: int) -> PriceTable | None:
        """The latest table effective on the UTC date of `timestamp_ns` (None if none yet)."""
        day = datetime.fromtimestamp(timestamp_ns / 1e9, UTC).date()
        chosen = None
        for t in self._tables:
            if t.effective <= day:
                chosen = t
        return chosen

    def price(self, price: ModelPrice, usage: Usage) -> Decimal:
        """The exact cost of `usage` at `price`."""
        if self._included:
            if usage.cached_tokens > usage.prompt_tokens:
                raise InvalidArgument(
                    "usage.cached_tokens",
                    f"{usage.cached_tokens} exceeds prompt_tokens {usage.prompt_tokens} "
                    "(cached tokens are counted inside prompt tokens)",
                )
            uncached = usage.prompt_tokens - usage.cached_tokens
        else:
            uncached = usage.prompt_tokens
        with decimal.localcontext(_CTX):
            total = (
                uncached * price.prompt
                + usage.completion_tokens * price.completion
                + usage.cached_tokens * price.cached
            )
            return total / _PER

    def record(
        self, correlation_id: str, model: str, usage: Usage, timestamp_ns: int | None = None
    ) -> CostEntry:
        """Price one call and add it to the totals of `correlation_id`."""
        if not isinstance(model, str) or not model:
            raise InvalidArgument("model", f"must be a non-empty string, got {model!r}")
        if not isinstance(usage, Usage):
            raise InvalidArgument("usage", f"must be a Usage, got {type(usage).__name__}")
        ts = timestamp_ns if timestamp_ns else self._clock.time_ns()
        table = self.table_for(ts)
        if table is None:
            entry = CostEntry(
                correlation_id, model, usage, None, None, ts, "no price table effective yet"
            )
        elif model not in table.prices:
            entry = CostEntry(
                correlation_id,
                model,
                usage,
                None,
                table.version,
                ts,
                f"model {model!r} is not in price table {table.version!r}",
            )
        else:
            cost = self.price(table.prices[model], usage)
            entry = CostEntry(correlation_id, model, usage, cost, table.version, ts)
        with self._lock:
            self._entries.setdefault(correlation_id, []).append(entry)
        return entry

    def __call__(self, ctx: HookContext) -> HookResult | None:
        usage_raw = _first(self._usage_paths, ctx)
        if usage_raw is MISSING:
            return Skipped("no token usage in the context")
        model = _first(self._model_paths, ctx)
        if not isinstance(model, str) or not model:
            where = ", ".join(p.text for p in self._model_paths)
            raise InvalidArgument(where, f"no model name found (got {model!r})")
        usage = Usage.from_json(usage_raw)
        entry = self.record(ctx.correlation_id, model, usage, ctx.timestamp_ns)
        if self._annotate is None:
            return None
        if entry.cost is None:
            return Modified({self._annotate: {"unpriced": True, "model": model}})
        table = next(t for t in self._tables if t.version == entry.price_version)
        return Modified(
            {
                self._annotate: {
                    "amount": entry.cost,
                    "currency": table.currency,
                    "price_version": table.version,
                }
            }
        )

    def entries(self, correlation_id: str) -> tuple[CostEntry, ...]:
        """Every entry recorded under `correlation_id`, in order."""
        return tuple(self._entries.get(correlation_id, ()))

    def correlation_ids(self) -> tuple[str, ...]:
        """Correlation ids with at least one entry, in first-seen order."""
        return tuple(self._entries)

    def totals(self, correlation_id: str | None = None) -> CostTotals:
        """Totals for one correlation id, or over everything when None."""
        with self._lock:
            if correlation_id is None:
                entries = [e for es in self._entries.values() for e in es]
            else:
                entries = list(self._entries.get(correlation_id, []))
        cost = Decimal(0)
        with decimal.localcontext(_CTX):
            for e in entries:
                if e.cost is not None:
                    cost += e.cost
        return CostTotals(
            calls=len(entries),
            unpriced_calls=sum(1 for e in entries if e.cost is None),
            prompt_tokens=sum(e.usage.prompt_tokens for e in entries),
            completion_tokens=sum(e.usage.completion_tokens for e in entries),
            cached_tokens=sum(e.usage.cached_tokens for e in entries),
            cost=cost,
            unpriced_models=frozenset(e.model for e in entries if e.cost is None),
        )

    def reset(self, correlation_id: str | None = None) -> None:
        """Forget the entries of one correlation id (or all)."""
        if correlation_id is None:
            self._entries.clear()
        else:
            self._entries.pop(correlation_id, None)


def _first(paths: tuple[FieldPath, ...], ctx: HookContext) -> Any:
    for p in paths:
        v = p.get(ctx)
        if v is not MISSING:
            return v
    return MISSING
