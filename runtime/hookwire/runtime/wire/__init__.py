"""Bytes at the edge: every conversion between runtime objects and `hookwire.v1` messages.

The core (context, results, registry, executor, breaker, bus) works on runtime objects and
imports no generated protobuf code; the server, the workers, the SDKs and the distributed
transport convert here, one module per concept (an Event becomes bytes in `wire.event`, a
HookContext in `wire.context`, ...).
"""
