"""Each runtime error kind carries its gRPC status code name (the code a client sees)."""

from __future__ import annotations

import pytest
from hookwire.runtime import errors
from hookwire.runtime.config.file import ConfigError
from hookwire.runtime.framing import MalformedFrame

CODES = {
    errors.HookwireError: "UNKNOWN",
    errors.InvalidArgument: "INVALID_ARGUMENT",
    errors.NotFound: "NOT_FOUND",
    errors.AlreadyExists: "ALREADY_EXISTS",
    errors.OutOfRange: "OUT_OF_RANGE",
    errors.FailedPrecondition: "FAILED_PRECONDITION",
    errors.DeadlineExceeded: "DEADLINE_EXCEEDED",
    errors.RateLimited: "RESOURCE_EXHAUSTED",
    errors.OperationCancelled: "CANCELLED",
    errors.AsyncHookNotAllowed: "FAILED_PRECONDITION",
    MalformedFrame: "DATA_LOSS",
    ConfigError: "INVALID_ARGUMENT",
}


@pytest.mark.parametrize("kind", list(CODES), ids=lambda k: k.__name__)
def test_each_kind_has_its_code(kind: type[errors.HookwireError]) -> None:
    assert kind.code == CODES[kind]


def test_a_code_given_to_one_error_is_that_errors_alone() -> None:
    e = errors.InvalidArgument("field", "reason", code="DATA_LOSS")
    assert (e.code, errors.InvalidArgument("field", "reason").code) == (
        "DATA_LOSS",
        "INVALID_ARGUMENT",
    )
    assert (e.field, e.reason, str(e)) == ("field", "reason", "field: reason")


def test_a_subclass_without_a_code_keeps_its_bases() -> None:
    class Narrower(errors.NotFound):
        pass

    class Own(errors.NotFound, code="ABORTED"):
        pass

    assert (Narrower.code, Own.code, errors.NotFound.code) == ("NOT_FOUND", "ABORTED", "NOT_FOUND")
