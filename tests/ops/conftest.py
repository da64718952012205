"""Fixtures: a directory holding a complete hookwire.toml with a Python hook module, a Lua file,
a built-in and a composite (the example of docs/operations.md); a tracer provider exporting to
memory; an id generator counting 1, 2, 3..."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.id_generator import IdGenerator

Exporting = Callable[..., tuple[TracerProvider, InMemorySpanExporter]]

HOOKS_PY = """\
from hookwire.runtime.results import Cancel, Modified


def tag(ctx):
    return Modified({"tagged": True})


def allow(ctx):
    return None


def deny_empty(ctx):
    return Cancel("no tool") if not ctx.data.get("tool") else None
"""

AUDIT_LUA = """\
hookwire.register("before_tool_execution", function(ctx)
  return hookwire.modified({audited = true})
end, {name = "lua_audit", priority = 20})
"""

CONFIG = """\
python_path = ["."]

[server]
host = "127.0.0.1"
port = 0
token_env = "OPS_TEST_TOKEN"

[bus]
transport = "in-process"
retention = 1000
default_capacity = 256
rate_limit = { rate = 10000, burst = 1000 }

[features]
beta = true

[[hooks.python]]
name = "tagger"
import = "ops_hooks:tag"
point = "before_tool_execution"
priority = 10
timeout_ms = 250
failure_policy = "FAIL_OPEN"
breaker = { window_size = 20, minimum_calls = 5, open_duration_ms = 5000 }
tags = ["audit"]

[[hooks.lua]]
path = "lua"
sandbox = { memory_limit_bytes = 16777216 }

[[hooks.builtin]]
name = "limit"
kind = "rate_limit"
point = "before_tool_execution"
priority = -10
settings = { rate = 1000, burst = 100, key_path = "correlation_id" }

[[hooks.composite]]
name = "gate"
kind = "FIRST_MATCH"
point = "before_tool_execution"
priority = 30
feature = "beta"
[[hooks.composite.children]]
name = "deny_empty"
import = "ops_hooks:deny_empty"
[[hooks.composite.children]]
name = "allow"
import = "ops_hooks:allow"
"""


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "ops_hooks.py").write_text(HOOKS_PY)
    (tmp_path / "lua").mkdir()
    (tmp_path / "lua" / "audit.lua").write_text(AUDIT_LUA)
    (tmp_path / "hookwire.toml").write_text(CONFIG)
    monkeypatch.setenv("OPS_TEST_TOKEN", "t0k3n")
    return tmp_path


def _exporting(**provider: Any) -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    built = TracerProvider(**provider)
    built.add_span_processor(SimpleSpanProcessor(exporter))
    return built, exporter


@pytest.fixture
def exporting() -> Exporting:
    """`exporting(**arguments)`: a TracerProvider built with them whose spans go to the
    in-memory exporter returned with it."""
    return _exporting


class _Counting(IdGenerator):
    """Ids 1, 2, 3... in the order asked for, span and trace ids alike (not random)."""

    def __init__(self) -> None:
        self.n = 0

    def generate_span_id(self) -> int:
        self.n += 1
        return self.n

    def generate_trace_id(self) -> int:
        self.n += 1
        return self.n


@pytest.fixture
def counting_ids() -> Callable[[], IdGenerator]:
    """Makes id generators counting 1, 2, 3..., each from 1."""
    return _Counting
