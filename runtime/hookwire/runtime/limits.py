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

from typing import Final

__all__ = [
    "MAX_DURATION_MS",
    "MAX_EVENT_TYPE_BYTES",
    "MAX_JSON_DEPTH",
    "MAX_MESSAGE_BYTES",
    "MAX_NAME_BYTES",
]

# Deep enough for any real payload, shallow enough that the protobuf encoding of the deepest
# allowed value (each object level costs three nested messages) stays under upb's recursion limit
# inside the deepest envelope we send.
MAX_JSON_DEPTH: Final = 32

# Hook names, custom point names, tags, feature flags, cache keys, composite children.
MAX_NAME_BYTES: Final = 256

# An event type; it becomes part of a NATS subject (`hookwire.events.<type>`), and the NATS
# protocol line is limited to 4 KiB.
MAX_EVENT_TYPE_BYTES: Final = 256

# Timeouts, TTLs, retry delays, breaker windows: at most one day, so every duration fits in an
# int64 of nanoseconds and in a double of milliseconds without loss.
MAX_DURATION_MS: Final = 86_400_000

# One gRPC message or one stdio frame.
MAX_MESSAGE_BYTES: Final = 4 * 1024 * 1024
