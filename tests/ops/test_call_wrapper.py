"""CallWrapper protocol v2 (hookwire.runtime.observer): `begin` gives a token or None; `end` /
`abort` follow for tokens only, innermost first; the chain runs the wrapped callables only
when some wrapper acts around the execution."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from hookwire.runtime.clock import VirtualClock
from hookwire.runtime.context import HookContext
from hookwire.runtime.executor import Executor
from hookwire.runtime.hook_call import HookCalls, current_hook_call
from hookwire.runtime.observer import CallWrapper
from hookwire.runtime.registry import Registry

P = "before_tool_execution"


class Wrapper:
    """Acts around the executions `acts(ctx)` says; logs every protocol call."""

    def __init__(self, name: str, log: list[Any], acts: Callable[[HookContext], bool]) -> None:
        self.name = name
        self.log = log
        self.acts = acts

    def begin(self, point: str, ctx: HookContext) -> object | None:
        self.log.append((self.name, "begin"))
        return (self.name, ctx.data["i"]) if self.acts(ctx) else None

    def wrap(self, entry: Any, call: Callable[[HookContext], Any]) -> Callable[[HookContext], Any]:
        def wrapped(ctx: HookContext) -> Any:
            self.log.append((self.name, "call", entry.name))
            return call(ctx)

        return wrapped

    def end(self, token: Any, point: str, execution: Any, started: int, ended: int) -> None:
        assert started <= ended
        self.log.append((self.name, "end", token))

    def abort(self, token: Any, exc: BaseException) -> None:
        self.log.append((self.name, "abort", token, type(exc).__name__))


def _executor(*wrappers: Any, hook: Callable[[HookContext], Any] | None = None) -> Executor:
    clock = VirtualClock()
    reg = Registry(clock=clock)
    reg.register(hook or (lambda ctx: None), name="h", point=P)
    return Executor(reg, clock=clock, observers=list(wrappers))


def _ctx(i: int) -> HookContext:
    return HookContext(P, {"i": i})


def test_both_wrappers_and_hook_calls_are_call_wrappers() -> None:
    assert isinstance(Wrapper("a", [], lambda ctx: True), CallWrapper)
    assert isinstance(HookCalls(), CallWrapper)


@pytest.mark.parametrize("run", ["execute", "aexecute"])
def test_a_none_token_costs_only_begin_and_the_hooks_run_unwrapped(run: str) -> None:
    log: list[Any] = []
    ex = _executor(Wrapper("w", log, lambda ctx: False))
    for i in range(2):
        if run == "execute":
            ex.execute(P, _ctx(i))
        else:
            asyncio.run(ex.aexecute(P, _ctx(i)))
    assert log == [("w", "begin"), ("w", "begin")]


@pytest.mark.parametrize("run", ["execute", "aexecute"])
def test_a_token_gets_the_wrapped_calls_and_its_end(run: str) -> None:
    log: list[Any] = []
    ex = _executor(Wrapper("w", log, lambda ctx: ctx.data["i"] == 1))
    for i in range(3):
        if run == "execute":
            ex.execute(P, _ctx(i))
        else:
            asyncio.run(ex.aexecute(P, _ctx(i)))
    assert log == [
        ("w", "begin"),
        ("w", "begin"),
        ("w", "call", "h"),
        ("w", "end", ("w", 1)),
        ("w", "begin"),
    ]


def test_ends_run_innermost_first_and_a_none_wrapper_still_sees_its_wrapped_calls() -> None:
    log: list[Any] = []
    outer = Wrapper("outer", log, lambda ctx: True)
    inner = Wrapper("inner", log, lambda ctx: False)
    ex = _executor(outer, inner)
    ex.execute(P, _ctx(0))
    assert log == [
        ("outer", "begin"),
        ("inner", "begin"),
        # Another wrapper acts: every wrapper's callable runs (the one whose begin gave None
        # passes through); the last wrapper's callable is the outermost.
        ("inner", "call", "h"),
        ("outer", "call", "h"),
        ("outer", "end", ("outer", 0)),
    ]


def test_abort_replaces_end_when_the_chain_raises() -> None:
    log: list[Any] = []

    def interrupt(ctx: HookContext) -> None:
        raise KeyboardInterrupt  # not a hook failure: it propagates

    ex = _executor(
        Wrapper("a", log, lambda ctx: True), Wrapper("b", log, lambda ctx: True), hook=interrupt
    )
    with pytest.raises(KeyboardInterrupt):
        ex.execute(P, _ctx(4))
    assert log[-2:] == [
        ("b", "abort", ("b", 4), "KeyboardInterrupt"),
        ("a", "abort", ("a", 4), "KeyboardInterrupt"),
    ]
    assert not any(entry[1] == "end" for entry in log)


def test_a_begin_that_raises_aborts_the_wrappers_begun_before_it() -> None:
    log: list[Any] = []
    ran: list[int] = []

    class Broken(Wrapper):
        def begin(self, point: str, ctx: HookContext) -> object | None:
            raise RuntimeError("cannot start")

    ex = _executor(
        Wrapper("a", log, lambda ctx: True),
        Broken("b", log, lambda ctx: True),
        hook=lambda ctx: ran.append(1),
    )
    with pytest.raises(RuntimeError, match="cannot start"):
        ex.execute(P, _ctx(0))
    assert log == [("a", "begin"), ("a", "abort", ("a", 0), "RuntimeError")]
    assert ran == []


def test_a_call_wrapper_is_not_told_executed() -> None:
    class Both(Wrapper):
        def executed(self, *args: Any) -> None:
            self.log.append((self.name, "executed"))

    log: list[Any] = []
    _executor(Both("w", log, lambda ctx: True)).execute(P, _ctx(0))
    assert ("w", "executed") not in log and ("w", "end", ("w", 0)) in log


def test_hook_calls_wrap_every_execution() -> None:
    seen: list[Any] = []
    ex = _executor(HookCalls(), hook=lambda ctx: seen.append(current_hook_call()))
    ex.execute(P, _ctx(0))
    (call,) = seen
    assert call is not None and call.causation_id == f"{P}/h"
