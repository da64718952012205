"""Event types and NATS-style subscription patterns (docs/semantics.md section 8).

A type is dot-separated tokens of `[A-Za-z0-9_-]+`. A pattern is the same, except that a token
may be `*` (exactly one token) and the last token may be `>` (one or more trailing tokens).

Example:
    >>> p = Pattern.compile("tool.*.>")
    >>> p.matches("tool.shell.invoked.ok"), p.matches("tool.shell")
    (True, False)
"""

from __future__ import annotations

import re

from hookwire.runtime.errors import InvalidArgument
from hookwire.runtime.limits import MAX_EVENT_TYPE_BYTES, check_name

__all__ = ["Pattern", "check_type"]

_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]+\Z")
_TYPE_RE = re.compile(r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\Z")


def check_type(event_type: object, field: str = "type") -> str:
    """Return `event_type` if it is a valid event type, else raise InvalidArgument naming `field`.

    Example:
        >>> check_type("tool.invoked")
        'tool.invoked'
        >>> check_type("tool..invoked")
        Traceback (most recent call last):
        ...
        hookwire.runtime.errors.InvalidArgument: type: invalid event type 'tool..invoked': \
expected dot-separated tokens of [A-Za-z0-9_-]+
    """
    if not isinstance(event_type, str):
        raise InvalidArgument(field, f"must be a string, got {type(event_type).__name__}")
    # The cap also keeps a NATS subject (the prefix and the type) far below the server's 4 KB
    # protocol line.
    check_name(event_type, field, MAX_EVENT_TYPE_BYTES)
    if not _TYPE_RE.match(event_type):
        raise InvalidArgument(
            field,
            f"invalid event type {event_type!r}: expected dot-separated tokens of [A-Za-z0-9_-]+",
        )
    return event_type


class Pattern:
    """A compiled subscription pattern; `matches(type)` needs no regular expression.

    Example:
        >>> Pattern.compile("a.>").matches("a"), Pattern.compile("a.>").matches("a.b.c")
        (False, True)
    """

    __slots__ = ("_head", "_tail", "text")

    def __init__(self, text: str, head: tuple[str | None, ...], tail: bool) -> None:
        self.text = text
        # One entry per token before a trailing `>`: the literal, or None for `*`.
        self._head = head
        self._tail = tail

    @classmethod
    def compile(cls, text: object, field: str = "pattern") -> Pattern:
        """Parse a pattern; InvalidArgument names `field` and the pattern when it is invalid."""
        if not isinstance(text, str):
            raise InvalidArgument(field, f"must be a string, got {type(text).__name__}")
        tokens = text.split(".")
        head: list[str | None] = []
        tail = False
        for i, token in enumerate(tokens):
            if token == ">":
                if i != len(tokens) - 1:
                    raise InvalidArgument(
                        field, f"invalid pattern {text!r}: '>' is allowed only as the last token"
                    )
                tail = True
            elif token == "*":
                head.append(None)
            elif _TOKEN_RE.match(token):
                head.append(token)
            else:
                raise InvalidArgument(
                    field,
                    f"invalid pattern {text!r}: token {token!r} is not '*', '>' or [A-Za-z0-9_-]+",
                )
        return cls(text, tuple(head), tail)

    def matches(self, event_type: str) -> bool:
        """Whether an (already valid) event type matches this pattern."""
        tokens = event_type.split(".")
        head = self._head
        if self._tail:
            if len(tokens) <= len(head):
                return False
        elif len(tokens) != len(head):
            return False
        for want, got in zip(head, tokens, strict=False):
            if want is not None and want != got:
                return False
        return True

    def __repr__(self) -> str:
        return f"Pattern({self.text!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Pattern) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)
