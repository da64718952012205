"""Bytes at the edge: every conversion between runtime objects and `hookwire.v1` messages.

The core (context, results, registry, executor, breaker, bus) works on runtime objects and
imports no generated protobuf code; the server, the workers, the SDKs and the distributed
transport convert here, one module per concept:

- `wire.context`: HookContext (and ComponentId, Operation, DistributedContext);
- `wire.results`: HookResult;
- `wire.registration`: HookSpec (HookRegistration), BreakerConfig, BreakerStatus;
- `wire.trace`: Execution and TraceEntry;
- `wire.json`: plain JSON values (JsonValue, JsonObject), and the depth of encoded ones;
- `wire.enums`: the enum values of points, languages, outcomes, breaker states, ...;
- `wire.duration`: Duration and Timestamp;
- `wire.replay`: recordings (files of ExecutionRecord);
- `wire.tags`: field tags, for code that writes or scans encoded messages by hand.
"""
