"""The limits every hookwire entry point enforces, the same in Python, Lua, JS and the server.

One limit means the same thing in every language: a value accepted by one entry point can never
break another (a "poison" event or context). The values here are the single definition; the Lua
and JS SDKs carry the same numbers, pinned by tests, and docs/security.md lists them.

Counting rules:
- JSON depth: the number of containers (objects and arrays) around the deepest value. A scalar
  has depth 0, `{}` and `[]` depth 1, `{"a": [1]}` depth 2. Map entries are not a level.
- Lengths of names are counted in UTF-8 bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from hookwire.runtime.errors import InvalidArgument

__all__ = [
    "INT32_MAX",
    "INT32_MIN",
    "INT64_MAX",
    "INT64_MIN",
    "MAX_CONTEXT_PARENTS",
    "MAX_DURATION_MS",
    "MAX_DURATION_NS",
    "MAX_EVENT_TYPE_BYTES",
    "MAX_JSON_DEPTH",
    "MAX_MESSAGE_BYTES",
    "MAX_NAME_BYTES",
    "UINT32_MAX",
    "check_duration_ns",
    "check_name",
    "check_parents",
]

# Deep enough for any real payload, shallow enough that the protobuf encoding of the deepest
# allowed value still decodes in upb (Python), Lua and JS inside the deepest envelope we send.
# Those decoders accept messages nested 100 levels below the top one (map entries count as a
# level), and each object level costs three (JsonValue, JsonObject, the map entry). The deepest
# envelope holds a JsonValue at level 5 (WorkerMessage.result_batch.results.result.replace.value)
# and a JsonObject at level 6 (... .result.fork.operations.parameters), so depth d needs
# 5 + 3d <= 100: d <= 31. 30 leaves room for a context's parents (see MAX_CONTEXT_PARENTS) and
# one more envelope level; tests/hostile/test_limits.py recomputes this from the schema.
MAX_JSON_DEPTH: Final = 30

# Ancestors of a HookContext (`parent`, its `parent`, ...). Each adds a level around the
# context's data: with MAX_JSON_DEPTH 30, the deepest envelope (ExecutorMessage.call_batch)
# has room for 5; 4 keeps one spare level.
MAX_CONTEXT_PARENTS: Final = 4

# Hook names, custom point names, tags, feature flags, cache keys, composite children.
MAX_NAME_BYTES: Final = 256

# An event type; it becomes part of a NATS subject (`hookwire.events.<type>`), and the NATS
# protocol line is limited to 4 KiB.
MAX_EVENT_TYPE_BYTES: Final = 256

# Hook timeouts, retry delays and cache TTLs: at most one day, so every such duration fits in an
# int64 of nanoseconds and in a double of milliseconds without loss. (Event TTLs are the bus's:
# it keeps any non-negative int64 of nanoseconds.)
MAX_DURATION_MS: Final = 86_400_000

# One gRPC message or one stdio frame.
MAX_MESSAGE_BYTES: Final = 4 * 1024 * 1024

MAX_DURATION_NS: Final = MAX_DURATION_MS * 1_000_000

# The ranges of the protobuf integer types values travel as: priorities are int32, counts
# (attempts, breaker windows and probes) uint32, JSON integers int64 (larger ones are doubles).
INT32_MIN: Final = -(2**31)
INT32_MAX: Final = 2**31 - 1
UINT32_MAX: Final = 2**32 - 1
INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1


def check_name(value: str, field: str, limit: int = MAX_NAME_BYTES) -> None:
    """Raise InvalidArgument if the string `value` is longer than `limit` UTF-8 bytes.

    Example:
        >>> check_name("x" * 300, "name")  # doctest: +NORMALIZE_WHITESPACE
        Traceback (most recent call last):
        ...
        hookwire.runtime.errors.InvalidArgument: name: must be at most 256 bytes of UTF-8, got 300
    """
    # len() in characters bounds the UTF-8 length from below (and from above by 4x): the
    # encode runs only for the rare long name.
    if len(value) * 4 > limit:
        size = len(value.encode("utf-8", "surrogatepass"))
        if size > limit:
            raise InvalidArgument(field, f"must be at most {limit} bytes of UTF-8, got {size}")


def check_duration_ns(value: int, field: str) -> None:
    """Raise InvalidArgument if the nanoseconds `value` exceed MAX_DURATION_MS (one day).

    Example:
        >>> check_duration_ns(10**14, "ttl_ns")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        hookwire.runtime.errors.InvalidArgument: ttl_ns: must be at most 86400000 ms (one day), ...
    """
    if value > MAX_DURATION_NS:
        raise InvalidArgument(
            field, f"must be at most {MAX_DURATION_MS} ms (one day), got {value} ns"
        )


def _parent(ctx: Any) -> Any:
    return ctx.parent


def check_parents(parent: Any, field: str, parent_of: Callable[[Any], Any] = _parent) -> None:
    """Raise InvalidArgument if `parent` (a context's parent, or None) starts a chain of more
    than MAX_CONTEXT_PARENTS. `parent_of` reads a context's parent (None when it has none):
    `.parent` of a HookContext by default; the wire passes one for its messages.

    Example:
        >>> from hookwire.runtime.context import HookContext
        >>> chain = HookContext("session_start")
        >>> for _ in range(5):
        ...     chain = HookContext("session_start", parent=chain)
        >>> check_parents(chain, "context.parent")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        hookwire.runtime.errors.InvalidArgument: context.parent: a context may have at most 4 ...
    """
    count = 0
    while parent is not None:
        count += 1
        if count > MAX_CONTEXT_PARENTS:
            raise InvalidArgument(
                field,
                f"a context may have at most {MAX_CONTEXT_PARENTS} ancestors (parent, its "
                "parent, ...)",
            )
        parent = parent_of(parent)
