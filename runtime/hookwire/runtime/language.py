"""Language names in text form: "python", "lua", "javascript", "native", and "" (unspecified).

Their hookwire.v1.Language values are in hookwire.runtime.wire.enums.

Example:
    >>> check_language("lua")
    'lua'
    >>> check_language("ruby")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    hookwire.runtime.errors.InvalidArgument: language: unknown language 'ruby' ...
"""

from __future__ import annotations

from hookwire.runtime.errors import InvalidArgument

__all__ = ["LANGUAGES", "check_language"]

LANGUAGES: tuple[str, ...] = ("python", "lua", "javascript", "native")
_KNOWN = frozenset(("", *LANGUAGES))


def check_language(language: str, field: str = "language", allow_empty: bool = True) -> str:
    """Validate a language name and return it."""
    if isinstance(language, str) and language in _KNOWN and (allow_empty or language):
        return language
    raise InvalidArgument(
        field, f"unknown language {language!r} (expected one of {', '.join(LANGUAGES)})"
    )
