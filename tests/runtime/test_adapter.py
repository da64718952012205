"""Python adapters: conventions, adapt(), errors."""

from __future__ import annotations

import asyncio
import functools
from typing import Any

import pytest
from hookwire.runtime.adapter import (
    HookFailed,
    InvalidResult,
    PythonAsyncAdapter,
    PythonSyncAdapter,
    adapt,
    to_result,
)
from hookwire.runtime.context import HookContext
from hookwire.runtime.errors import InvalidArgument
from hookwire.runtime.results import CONTINUE, Cancel, Modified

CTX = HookContext("session_start")


def test_to_result_conventions() -> None:
    assert to_result(None) is CONTINUE
    assert to_result(Cancel("x")) == Cancel("x")
    with pytest.raises(InvalidResult) as info:
        to_result({"cancel": {}})
    assert "expected None or a HookResult" in str(info.value)
    with pytest.raises(InvalidResult) as info:
        to_result(Modified([1]))  # type: ignore[arg-type]
    assert "result.modified.data" in str(info.value)


def test_adapt_picks_the_adapter() -> None:
    async def coro(ctx: Any) -> None:
        return None

    class AsyncCallable:
        async def __call__(self, ctx: Any) -> None:
            return None

    assert type(adapt(lambda c: None)) is PythonSyncAdapter
    assert type(adapt(coro)) is PythonAsyncAdapter
    assert type(adapt(functools.partial(coro))) is PythonAsyncAdapter
    assert type(adapt(AsyncCallable())) is PythonAsyncAdapter
    a = PythonSyncAdapter(lambda c: None)
    assert adapt(a) is a
    with pytest.raises(InvalidArgument):
        adapt("not callable")
    with pytest.raises(InvalidArgument):
        PythonSyncAdapter(coro)


def test_sync_adapter_wraps_exceptions() -> None:
    def bad(ctx: Any) -> None:
        raise ValueError("nope")

    with pytest.raises(HookFailed) as info:
        PythonSyncAdapter(bad).call(CTX, 1)
    assert str(info.value) == "nope"
    assert asyncio.run(PythonSyncAdapter(lambda c: Cancel("a")).acall(CTX, 1)) == Cancel("a")


def test_async_adapter_maps_results_and_errors() -> None:
    async def ok(ctx: Any) -> Any:
        await asyncio.sleep(0)
        return Modified({"a": 1})

    async def bad(ctx: Any) -> Any:
        await asyncio.sleep(0)
        raise RuntimeError("")

    async def invalid(ctx: Any) -> Any:
        return 7

    assert asyncio.run(PythonAsyncAdapter(ok).acall(CTX, 10**9)) == Modified({"a": 1})
    with pytest.raises(HookFailed) as info:
        asyncio.run(PythonAsyncAdapter(bad).acall(CTX, 10**9))
    assert str(info.value) == "RuntimeError"
    with pytest.raises(InvalidResult):
        asyncio.run(PythonAsyncAdapter(invalid).acall(CTX, 10**9))
