"""Each runtime error kind carries its gRPC status code name (the code a client sees)."""

from __future__ import annotations

import pytest
from hookwire.runtime.config.file import ConfigError
from hookwire.runtime.errors import (
    AlreadyExists,
    AsyncHookNotAllowed,
    DeadlineExceeded,
    FailedPrecondition,
    HookwireError,
    InvalidArgument,
    NotFound,
    OperationCancelled,
    OutOfRange,
    RateLimited,
)
from hookwire.runtime.framing import MalformedFrame

CODES = {
    HookwireError: "UNKNOWN",
    InvalidArgument: "INVALID_ARGUMENT",
    NotFound: "NOT_FOUND",
    AlreadyExists: "ALREADY_EXISTS",
    OutOfRange: "OUT_OF_RANGE",
    FailedPrecondition: "FAILED_PRECONDITION",
    DeadlineExceeded: "DEADLINE_EXCEEDED",
    RateLimited: "RESOURCE_EXHAUSTED",
    OperationCancelled: "CANCELLED",
    AsyncHookNotAllowed: "FAILED_PRECONDITION",
    MalformedFrame: "DATA_LOSS",
    ConfigError: "INVALID_ARGUMENT",
}


@pytest.mark.parametrize("kind", list(CODES), ids=lambda k: k.__name__)
def test_each_kind_has_its_code(kind: type[HookwireError]) -> None:
    assert kind.code == CODES[kind]


def test_a_code_given_to_one_error_is_that_errors_alone() -> None:
    e = InvalidArgument("field", "reason", code="DATA_LOSS")
    assert (e.code, InvalidArgument("field", "reason").code) == ("DATA_LOSS", "INVALID_ARGUMENT")
    assert (e.field, e.reason, str(e)) == ("field", "reason", "field: reason")


def test_a_subclass_without_a_code_keeps_its_bases() -> None:
    class Narrower(NotFound):
        pass

    class Own(NotFound, code="ABORTED"):
        pass

    assert (Narrower.code, Own.code, NotFound.code) == ("NOT_FOUND", "ABORTED", "NOT_FOUND")
