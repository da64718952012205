"""Caching: a TTL + LRU store on the clock, and a hook pair serving operation outputs from it.

Decision (docs/semantics.md section 7): the caching built-in owns its store and answers with
REPLACE. Its `before` hook (at a before point) returns `REPLACE{value}` on a fresh hit, so
the operation does not run; on a miss it returns CONTINUE. Its `after` hook (at the matching
after point) stores the operation's output for `ttl_ns`. The key is the canonical JSON of the
values at `key_paths` (by default the operation type and the parameters `run()` puts in
`data.params`). The CACHE result kind is for hooks that want `run()`'s own store
(`run(..., cache=CacheStore(...))`) to do the same work: `CachingHook.directive` answers with
`CACHE{key, ttl}` for that use. Both ways use `CacheStore`.

An entry stored at t with ttl is fresh while `now - t < ttl` (stale exactly at t + ttl).
A ttl of 0 stores nothing. When `max_entries` is exceeded, the least recently used entry
(read or written) is evicted. Values are deep-copied in and out, so callers cannot alter
what the cache holds.

Example:
    >>> from hookwire.runtime.clock import VirtualClock
    >>> clock = VirtualClock()
    >>> store = CacheStore(clock, max_entries=2)
    >>> store.put("a", {"x": 1}, ttl_ns=1_000)
    >>> store.get("a")
    (True, {'x': 1})
    >>> clock.advance(1_000)
    >>> store.get("a")
    (False, None)
"""

from __future__ import annotations

import copy
import json
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from hookwire.runtime.builtins.field_path import MISSING, FieldPath
from hookwire.runtime.clock import Clock
from hookwire.runtime.context import HookContext
from hookwire.runtime.errors import InvalidArgument
from hookwire.runtime.results import Cache, HookResult, Replace, Skipped

__all__ = ["CacheStats", "CacheStore", "CachingHook", "cache_key"]


def _check_nonneg_int(value: Any, name: str, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidArgument(name, f"must be an int >= {minimum}, got {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class CacheStats:
    """Counters of a CacheStore."""

    hits: int
    misses: int
    stores: int
    evictions: int
    expirations: int
    size: int


class CacheStore:
    """Key -> JSON value with a per-entry TTL (on the clock) and LRU eviction at max_entries."""

    __slots__ = (
        "_clock",
        "_entries",
        "_evictions",
        "_expirations",
        "_hits",
        "_lock",
        "_misses",
        "_stores",
        "max_entries",
    )

    def __init__(self, clock: Clock, max_entries: int = 1024) -> None:
        self._clock = clock
        self.max_entries = _check_nonneg_int(max_entries, "max_entries", 1)
        # key -> (expires_at monotonic ns, value); order = least recently used first.
        self._entries: OrderedDict[str, tuple[int, Any]] = OrderedDict()
        self._hits = self._misses = self._stores = self._evictions = self._expirations = 0
        # Hooks may run on several threads; the LRU order and counters change on every read.
        self._lock = threading.Lock()

    def get(self, key: str) -> tuple[bool, Any]:
        """`(True, value)` for a fresh entry (and marks it recently used), else `(False, None)`."""
        with self._lock:
            hit, value = self._get(key)
        return (True, copy.deepcopy(value)) if hit else (False, None)

    def _get(self, key: str) -> tuple[bool, Any]:
        entry = self._entries.get(key)
        if entry is None:
            self._misses += 1
            return False, None
        expires_at, value = entry
        if self._clock.monotonic_ns() >= expires_at:
            del self._entries[key]
            self._expirations += 1
            self._misses += 1
            return False, None
        self._entries.move_to_end(key)
        self._hits += 1
        return True, value

    def put(self, key: str, value: Any, ttl_ns: int) -> None:
        """Store `value` under `key`, fresh for `ttl_ns` from now (0: nothing is stored)."""
        if not isinstance(key, str):
            raise InvalidArgument("key", f"must be a string, got {type(key).__name__}")
        _check_nonneg_int(ttl_ns, "ttl_ns")
        stored = copy.deepcopy(value)
        with self._lock:
            if ttl_ns == 0:
                self._entries.pop(key, None)
                return
            self._entries[key] = (self._clock.monotonic_ns() + ttl_ns, stored)
            self._entries.move_to_end(key)
            self._stores += 1
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
                self._evictions += 1

    def clear(self) -> None:
        """Drop every entry (counters are kept)."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        entry = self._entries.get(key) if isinstance(key, str) else None
        return entry is not None and self._clock.monotonic_ns() < entry[0]

    def keys(self) -> list[str]:
        """Held keys, least recently used first (stale ones included until touched)."""
        return list(self._entries)

    def stats(self) -> CacheStats:
        """Hit, miss, store, eviction and expiration counts, and the current size."""
        return CacheStats(
            self._hits,
            self._misses,
            self._stores,
            self._evictions,
            self._expirations,
            len(self._entries),
        )


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"not JSON: {type(value).__name__}")


def cache_key(values: Sequence[Any]) -> str:
    """Canonical JSON text of `values` (sorted keys, no spaces): equal inputs, equal keys.

    Example:
        >>> cache_key(["search", {"q": "x", "n": 2}])
        '["search",{"n":2,"q":"x"}]'
    """
    try:
        return json.dumps(
            list(values), sort_keys=True, separators=(",", ":"), default=_json_default
        )
    except (TypeError, ValueError) as exc:
        raise InvalidArgument("key_paths", f"values are not JSON: {exc}") from None


class CachingHook:
    """The caching built-in: register `before` at a before point and `after` at the after point.

    Example:
        >>> from hookwire.runtime.clock import VirtualClock
        >>> from hookwire.runtime.context import Operation
        >>> cache = CachingHook(VirtualClock(), ttl_ns=5_000_000_000)
        >>> op = Operation("search")
        >>> before = HookContext("before_tool_execution", {"params": {"q": "x"}}, operation=op)
        >>> cache.before(before) is None
        True
        >>> after = HookContext("after_tool_execution", {"params": {"q": "x"}, "output": [1]},
        ...                     operation=op)
        >>> cache.after(after)
        >>> cache.before(before)
        Replace(value=[1])
    """

    __slots__ = ("_key_paths", "_output_path", "store", "ttl_ns")

    def __init__(
        self,
        clock: Clock,
        *,
        ttl_ns: int,
        max_entries: int = 1024,
        key_paths: Sequence[str] = ("operation.type", "data.params"),
        output_path: str = "data.output",
    ) -> None:
        self.ttl_ns = _check_nonneg_int(ttl_ns, "ttl_ns", 1)
        self.store = CacheStore(clock, max_entries)
        if isinstance(key_paths, str) or not key_paths:
            raise InvalidArgument("key_paths", f"must be a non-empty list of paths: {key_paths!r}")
        self._key_paths = tuple(FieldPath(p, "key_paths") for p in key_paths)
        self._output_path = FieldPath(output_path, "output_path")

    def key(self, ctx: HookContext) -> str:
        """The cache key of a context (absent paths count as null)."""
        values = [p.get(ctx) for p in self._key_paths]
        return cache_key([None if v is MISSING else v for v in values])

    def before(self, ctx: HookContext) -> HookResult | None:
        """REPLACE{cached output} on a fresh hit; CONTINUE on a miss."""
        hit, value = self.store.get(self.key(ctx))
        return Replace(value) if hit else None

    def directive(self, ctx: HookContext) -> HookResult:
        """The CACHE form: `CACHE{key, ttl}` for this context, leaving lookup and storage to the
        runner's store (`run(..., cache=CacheStore(...))`); register it instead of `before` and
        `after` when run() drives the operation. This object's own store is then unused."""
        return Cache(self.key(ctx), self.ttl_ns)

    def after(self, ctx: HookContext) -> HookResult | None:
        """Store the output found at `output_path`; SKIPPED when the context has none."""
        output = self._output_path.get(ctx)
        if output is MISSING:
            return Skipped(f"no output at {self._output_path.text}")
        self.store.put(self.key(ctx), output, self.ttl_ns)
        return None
