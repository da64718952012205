"""Typed errors of the runtime; each names the field or argument at fault and the reason.

Example:
    >>> e = InvalidArgument("priority", "must fit in int32, got 2**40")
    >>> (e.code, e.field, str(e))
    ('INVALID_ARGUMENT', 'priority', 'priority: must fit in int32, got 2**40')
"""

from __future__ import annotations

__all__ = [
    "AlreadyExists",
    "AsyncHookNotAllowed",
    "DeadlineExceeded",
    "FailedPrecondition",
    "HookwireError",
    "InvalidArgument",
    "NotFound",
    "OperationCancelled",
    "OutOfRange",
    "RateLimited",
]


class HookwireError(Exception):
    """Base of every runtime error: a gRPC status code name, the field at fault, a message.

    Two call forms: `InvalidArgument("field", "reason")` or `InvalidArgument("reason",
    field="field")`. Either renders as "field: reason" (just "reason" when there is no field).
    """

    code: str = "UNKNOWN"

    def __init_subclass__(cls, code: str | None = None) -> None:
        # Each kind of error declares its code in its class line: `class X(HookwireError,
        # code="NOT_FOUND")`. Without one, a subclass keeps its base's code.
        super().__init_subclass__()
        if code is not None:
            cls.code = code

    def __init__(
        self,
        field_or_message: str,
        message: str | None = None,
        *,
        field: str | None = None,
        code: str | None = None,
    ) -> None:
        if message is None:
            message = field_or_message
        else:
            field = field_or_message
        self.field = field
        self.reason = message
        if code is not None:
            self.code = code
        super().__init__(f"{field}: {message}" if field else message)


class InvalidArgument(HookwireError, code="INVALID_ARGUMENT"):
    """A value failed validation (gRPC INVALID_ARGUMENT)."""


class NotFound(HookwireError, code="NOT_FOUND"):
    """A name that is not registered (gRPC NOT_FOUND)."""


class AlreadyExists(HookwireError, code="ALREADY_EXISTS"):
    """A name that is already taken (gRPC ALREADY_EXISTS)."""


class OutOfRange(HookwireError, code="OUT_OF_RANGE"):
    """A position outside what is held, e.g. a sequence older than the retention log."""


class FailedPrecondition(HookwireError, code="FAILED_PRECONDITION"):
    """The system is not in a state where the request can run."""


class DeadlineExceeded(HookwireError, code="DEADLINE_EXCEEDED"):
    """A deadline passed before the work finished."""


class RateLimited(HookwireError, code="RESOURCE_EXHAUSTED"):
    """A rate limit refused the request (gRPC RESOURCE_EXHAUSTED)."""


class OperationCancelled(HookwireError, code="CANCELLED"):
    """An operation was cancelled by a hook (CANCEL result); `reason` is the hook's reason.

    Example:
        >>> str(OperationCancelled("quota exceeded", field="tool_call"))
        'tool_call: quota exceeded'
    """


class AsyncHookNotAllowed(FailedPrecondition):
    """The synchronous `execute()` met a coroutine hook; use `aexecute()` instead.

    Example:
        >>> str(AsyncHookNotAllowed("audit"))  # doctest: +ELLIPSIS
        "hook: hook 'audit' is a coroutine function (async def); ... use Executor.aexecute()"
    """

    def __init__(self, hook_name: str) -> None:
        super().__init__(
            "hook",
            f"hook {hook_name!r} is a coroutine function (async def); the synchronous "
            "Executor.execute() cannot run it: use Executor.aexecute()",
        )
        self.hook_name = hook_name
