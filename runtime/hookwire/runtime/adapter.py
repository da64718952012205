"""How the executor calls a hook: one adapter per language, mapping native conventions to results.

Python conventions (docs/semantics.md section 4): `return None` is CONTINUE, a HookResult is itself,
anything else is ERROR `invalid_result`, an exception is ERROR.

Example:
    >>> from hookwire.runtime.context import HookContext
    >>> from hookwire.runtime.results import Cancel
    >>> a = adapt(lambda ctx: Cancel("no"))
    >>> a.call(HookContext("session_start"), 100_000_000)
    Cancel(reason='no')
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Generic, Protocol, TypeVar, runtime_checkable

from hookwire.runtime.context import HookContext
from hookwire.runtime.errors import AsyncHookNotAllowed, InvalidArgument
from hookwire.runtime.results import CONTINUE, RESULT_TYPES, HookResult, validate_result

__all__ = [
    "HookAdapter",
    "HookFailed",
    "HookTimedOut",
    "InvalidResult",
    "PythonAsyncAdapter",
    "PythonSyncAdapter",
    "adapt",
    "describe_exception",
    "is_async_callable",
    "resume_coroutine",
    "to_result",
]

SyncHook = Callable[[HookContext], Any]
AsyncHook = Callable[[HookContext], Awaitable[Any]]
H = TypeVar("H", SyncHook, AsyncHook)


class HookFailed(Exception):
    """The hook raised / threw / rejected; the message is what the trace shows."""


class InvalidResult(Exception):
    """The hook returned something that is not a result; the trace reason is `invalid_result`."""


class HookTimedOut(Exception):
    """The adapter itself cut the call at its deadline."""


@runtime_checkable
class HookAdapter(Protocol):
    """The only way the executor calls a hook."""

    language: str
    is_async: bool

    def call(self, ctx: HookContext, timeout_ns: int) -> HookResult:
        """Run the hook synchronously; raise HookFailed / InvalidResult / HookTimedOut."""
        ...

    async def acall(self, ctx: HookContext, timeout_ns: int) -> HookResult:
        """Run the hook on the event loop; async hooks are cancelled at the deadline."""
        ...


def describe_exception(exc: BaseException) -> str:
    """The trace text of an exception: its message, or its type name when it has none."""
    text = str(exc)
    return text if text else type(exc).__name__


def to_result(value: Any) -> HookResult:
    """Map a Python hook's return value to a result (None -> CONTINUE), else InvalidResult.

    Example:
        >>> to_result(42)
        Traceback (most recent call last):
        ...
        hookwire.runtime.adapter.InvalidResult: returned int 42; expected None or a HookResult
    """
    if value is None:
        return CONTINUE
    if type(value) in RESULT_TYPES:
        try:
            return validate_result(value)
        except InvalidArgument as exc:
            raise InvalidResult(str(exc)) from None
    if inspect.iscoroutine(value):
        value.close()
        raise InvalidResult(
            "returned a coroutine; declare the hook with `async def` so it is awaited"
        )
    raise InvalidResult(
        f"returned {type(value).__name__} {value!r:.60}; expected None or a HookResult"
    )


def is_async_callable(fn: Any) -> bool:
    """True for `async def` functions, partials of them, and objects with an async __call__."""
    if inspect.iscoroutinefunction(fn):
        return True
    call = getattr(fn, "__call__", None)  # noqa: B004 - we need the attribute itself
    return call is not None and inspect.iscoroutinefunction(call)


class _PythonAdapter(Generic[H]):
    """What both Python adapters share: the hook function (checked callable) and the repr."""

    __slots__ = ("fn",)
    language = "python"

    def __init__(self, fn: H) -> None:
        if not callable(fn):
            raise InvalidArgument("hook", f"must be callable, got {type(fn).__name__}")
        self.fn: H = fn

    def __repr__(self) -> str:
        return f"{type(self).__name__}({getattr(self.fn, '__qualname__', self.fn)!r})"


class PythonSyncAdapter(_PythonAdapter[SyncHook]):
    """A plain Python function `fn(ctx) -> None | HookResult`.

    Example:
        >>> PythonSyncAdapter(lambda ctx: None).is_async
        False
    """

    __slots__ = ()
    is_async = False

    def __init__(self, fn: SyncHook) -> None:
        super().__init__(fn)
        if is_async_callable(fn):
            raise InvalidArgument(
                "hook", "is a coroutine function; wrap it in PythonAsyncAdapter (or use adapt())"
            )

    def call(self, ctx: HookContext, timeout_ns: int) -> HookResult:
        try:
            value = self.fn(ctx)
        except Exception as exc:
            raise HookFailed(describe_exception(exc)) from exc
        return to_result(value)

    async def acall(self, ctx: HookContext, timeout_ns: int) -> HookResult:
        return self.call(ctx, timeout_ns)


class PythonAsyncAdapter(_PythonAdapter[AsyncHook]):
    """An `async def fn(ctx) -> None | HookResult`, cancelled at its deadline.

    A coroutine that finishes without suspending pays no timeout machinery.

    Example:
        >>> async def hook(ctx):
        ...     return None
        >>> PythonAsyncAdapter(hook).is_async
        True
    """

    __slots__ = ()
    is_async = True

    def call(self, ctx: HookContext, timeout_ns: int) -> HookResult:
        raise AsyncHookNotAllowed(getattr(self.fn, "__qualname__", repr(self.fn)))

    async def acall(self, ctx: HookContext, timeout_ns: int) -> HookResult:
        try:
            coro = self.fn(ctx)
            if not inspect.iscoroutine(coro):
                return to_result(coro)
            try:
                yielded = coro.send(None)
            except StopIteration as stop:
                return to_result(stop.value)
            value = await resume_coroutine(coro, yielded, timeout_ns / 1e9)
        except (InvalidResult, HookTimedOut):
            raise
        except Exception as exc:
            raise HookFailed(describe_exception(exc)) from exc
        return to_result(value)


async def _drive(coro: Coroutine[Any, Any, Any], yielded: Any) -> Any:
    """Continue `coro` from a suspension it reached outside any task (after `coro.send(None)`
    returned `yielded`), the way asyncio.Task steps a coroutine: wait for the future it yielded,
    send None to resume it, and pass our own cancellation into it."""
    while True:
        try:
            if yielded is None:
                # A bare `yield` (asyncio.sleep(0)): give the loop one turn.
                await asyncio.sleep(0)
            elif getattr(yielded, "_asyncio_future_blocking", None) is not None:
                yielded._asyncio_future_blocking = False
                fut = asyncio.ensure_future(yielded)
                try:
                    await asyncio.wait((fut,))
                except asyncio.CancelledError:
                    fut.cancel()
                    raise
            else:
                raise RuntimeError(f"hook coroutine yielded an unexpected value: {yielded!r:.60}")
        except BaseException as exc:
            try:
                yielded = coro.throw(exc)
            except StopIteration as stop:
                return stop.value
            continue
        try:
            yielded = coro.send(None)
        except StopIteration as stop:
            return stop.value


async def resume_coroutine(coro: Coroutine[Any, Any, Any], yielded: Any, timeout_s: float) -> Any:
    """Finish a coroutine that suspended at its first step, cancelling it after `timeout_s`.

    Raises HookTimedOut when the deadline cancelled it; the hook's own exceptions propagate.
    """
    timeout = asyncio.timeout(max(timeout_s, 0.0))
    try:
        async with timeout:
            return await _drive(coro, yielded)
    except TimeoutError:
        if timeout.expired():
            raise HookTimedOut("timeout") from None
        raise
    finally:
        if timeout.expired():
            coro.close()


def adapt(hook: Any) -> HookAdapter:
    """Pick the adapter for a Python hook: an adapter stays itself, `async def` gets
    PythonAsyncAdapter, other callables PythonSyncAdapter.

    Example:
        >>> adapt(42)
        Traceback (most recent call last):
        ...
        hookwire.runtime.errors.InvalidArgument: hook: must be a callable or a HookAdapter, got int
    """
    if isinstance(hook, (PythonSyncAdapter, PythonAsyncAdapter)):
        return hook
    if all(hasattr(hook, a) for a in ("call", "acall", "is_async", "language")):
        return hook  # type: ignore[no-any-return]
    if not callable(hook):
        raise InvalidArgument(
            "hook", f"must be a callable or a HookAdapter, got {type(hook).__name__}"
        )
    if is_async_callable(hook):
        return PythonAsyncAdapter(hook)
    return PythonSyncAdapter(hook)
