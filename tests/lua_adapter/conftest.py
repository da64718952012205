"""Fixtures: a fresh sandbox, and `run(body, data)` running `function(ctx) <body> end`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hookwire.runtime.context import HookContext
from hookwire.runtime.lua import LuaHookAdapter, LuaSandbox
from hookwire.runtime.results import HookResult

TIMEOUT_NS = 2_000_000_000  # generous: the machine may be busy; timeout tests pass their own

Run = Callable[..., HookResult]


def lua_hook(sb: LuaSandbox, body: str, chunkname: str = "h.lua") -> LuaHookAdapter:
    """An adapter for `function(ctx) <body> end`, registered from a one-line file."""
    [reg] = sb.load_source(
        f'hookwire.register("session_start", function(ctx) {body} end)', chunkname
    )
    return LuaHookAdapter(sb, reg.fn, name=reg.name)


@pytest.fixture
def sb() -> LuaSandbox:
    return LuaSandbox(memory_limit=16 * 1024 * 1024)


@pytest.fixture
def run(sb: LuaSandbox) -> Run:
    def run_(body: str, data: dict[str, Any] | None = None, timeout_ns: int = TIMEOUT_NS) -> Any:
        ctx = HookContext("session_start", data if data is not None else {})
        return lua_hook(sb, body).call(ctx, timeout_ns)

    return run_


@pytest.fixture
def make_hook(sb: LuaSandbox) -> Callable[..., LuaHookAdapter]:
    def make(body: str, chunkname: str = "h.lua") -> LuaHookAdapter:
        return lua_hook(sb, body, chunkname)

    return make
