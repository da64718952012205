"""Language names in text form ("python", "lua", "javascript", "native", "") and their proto values.

Example:
    >>> language_to_proto("lua")
    2
    >>> language_from_proto(3)
    'javascript'
"""

from __future__ import annotations

from hookwire.runtime.errors import InvalidArgument
from hookwire.v1 import common_pb2

__all__ = ["LANGUAGES", "check_language", "language_from_proto", "language_to_proto"]

_TO_PROTO: dict[str, int] = {
    "": common_pb2.LANGUAGE_UNSPECIFIED,
    "python": common_pb2.LANGUAGE_PYTHON,
    "lua": common_pb2.LANGUAGE_LUA,
    "javascript": common_pb2.LANGUAGE_JAVASCRIPT,
    "native": common_pb2.LANGUAGE_NATIVE,
}
_FROM_PROTO: dict[int, str] = {v: k for k, v in _TO_PROTO.items()}

LANGUAGES: tuple[str, ...] = ("python", "lua", "javascript", "native")


def check_language(language: str, field: str = "language", allow_empty: bool = True) -> str:
    """Validate a language name and return it."""
    if language in _TO_PROTO and (allow_empty or language):
        return language
    raise InvalidArgument(
        field, f"unknown language {language!r} (expected one of {', '.join(LANGUAGES)})"
    )


def language_to_proto(language: str, field: str = "language") -> int:
    """The hookwire.v1.Language value of a language name."""
    try:
        return _TO_PROTO[language]
    except (KeyError, TypeError):
        raise InvalidArgument(
            field, f"unknown language {language!r} (expected one of {', '.join(LANGUAGES)})"
        ) from None


def language_from_proto(value: int, field: str = "language") -> str:
    """The language name of a hookwire.v1.Language value ("" for UNSPECIFIED)."""
    try:
        return _FROM_PROTO[value]
    except KeyError:
        raise InvalidArgument(field, f"unknown Language value {value}") from None
