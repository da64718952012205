"""hookwire.runtime: the in-process Python hook runtime (see docs/runtime-api.md)."""
