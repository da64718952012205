// The limits every hookwire entry point enforces, the same in Python, Lua, JS and the server
// (defined in runtime/hookwire/runtime/limits.py; tests/hostile/test_limits.py pins these
// copies to it). See docs/security.md, "Limits".

/** Objects and arrays around the deepest JSON value (a scalar is 0, `{}` and `[]` are 1). */
export const MAX_JSON_DEPTH = 30;
/** Hook, point, tag, feature, cache-key and operation names, in UTF-8 bytes. */
export const MAX_NAME_BYTES = 256;
/** An event type, in UTF-8 bytes. */
export const MAX_EVENT_TYPE_BYTES = 256;
/** Timeouts, TTLs and delays: at most one day. */
export const MAX_DURATION_MS = 86_400_000;
/** One gRPC message. */
export const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;
