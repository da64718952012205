"""Which asyncio event loop the server runs on: uvloop when it is installed, else asyncio's own.

grpcio's asyncio API works on any asyncio loop. uvloop (libuv, in C) makes each loop turn much
cheaper than asyncio's pure-Python selector loop, and a remote hook call takes several turns
(the call queued for the worker stream, the answer read from it, the waiting call resumed):
`python -m bench js` measures both loops in the same run. `hookwire serve --loop` and
`ServerThread(loop=...)` choose; "auto" (the default) takes uvloop when it can be imported.

Example:
    >>> loop = new_event_loop("asyncio")
    >>> loop_name(loop)
    'asyncio'
    >>> loop.close()
    >>> new_event_loop("tokio")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    hookwire.runtime.errors.InvalidArgument: loop: unknown event loop 'tokio' (expected one of ...)
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from hookwire.runtime.errors import FailedPrecondition, InvalidArgument

__all__ = ["LOOPS", "loop_factory", "loop_name", "new_event_loop", "run"]

LOOPS = ("auto", "uvloop", "asyncio")

T = TypeVar("T")


def _uvloop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        module = importlib.import_module("uvloop")
    except ImportError:
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = module.new_event_loop
    return factory


def loop_factory(kind: str = "auto") -> Callable[[], asyncio.AbstractEventLoop]:
    """A function making new loops of `kind` ("auto", "uvloop" or "asyncio").

    "uvloop" when uvloop cannot be imported is FailedPrecondition; "auto" then falls back to
    asyncio's loop.
    """
    if kind not in LOOPS:
        raise InvalidArgument(
            "loop", f"unknown event loop {kind!r} (expected one of {', '.join(LOOPS)})"
        )
    if kind == "asyncio":
        return asyncio.new_event_loop
    factory = _uvloop_factory()
    if factory is not None:
        return factory
    if kind == "uvloop":
        raise FailedPrecondition("loop", "uvloop is not installed (pip install uvloop)")
    return asyncio.new_event_loop


def new_event_loop(kind: str = "auto") -> asyncio.AbstractEventLoop:
    """A new event loop of `kind` (see `loop_factory`)."""
    return loop_factory(kind)()


def loop_name(loop: asyncio.AbstractEventLoop) -> str:
    """ "uvloop" or "asyncio": what `loop` is, for logs and benchmark labels."""
    return "uvloop" if type(loop).__module__.startswith("uvloop") else "asyncio"


def run(main: Coroutine[Any, Any, T], kind: str = "auto") -> T:
    """Like `asyncio.run(main)`, on a loop of `kind`."""
    try:
        factory = loop_factory(kind)
    except Exception:
        main.close()  # never started: no "coroutine was never awaited" warning
        raise
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main)
