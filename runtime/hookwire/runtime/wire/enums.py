"""The hookwire.v1 enum values of the runtime's names, read from the generated descriptors.

The runtime names things in text (`"lua"`, `"before_tool_execution"`, `Outcome.MODIFIED`,
`BreakerState.HALF_OPEN`); the wire carries enum numbers. Each table below pairs a runtime name
with the value `<PREFIX><NAME IN UPPER CASE>` of its proto enum, looked up in the descriptor, so
no number is typed by hand; a runtime name without its enum value fails at import, and
tests/wire/test_enums.py checks that every proto value has a runtime name.

Example:
    >>> language_to_proto("lua")
    2
    >>> language_from_proto(3)
    'javascript'
    >>> point_to_proto("custom:audit")
    (100, 'audit')
    >>> point_from_proto(10)
    'before_tool_execution'
    >>> outcome_from_proto(outcome_to_proto(Outcome.MODIFIED))
    <Outcome.MODIFIED: 'MODIFIED'>
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Generic, TypeVar

from google.protobuf.descriptor import EnumDescriptor
from hookwire.runtime.breaker import BreakerState
from hookwire.runtime.composite import CompositeKind, TieBreaker
from hookwire.runtime.context import COMPONENT_TYPES
from hookwire.runtime.errors import InvalidArgument
from hookwire.runtime.language import LANGUAGES, check_language
from hookwire.runtime.points import ALL_POINTS, CUSTOM_PREFIX, parse_point
from hookwire.runtime.registry import FailurePolicy
from hookwire.runtime.results import Outcome
from hookwire.v1 import common_pb2, hook_pb2

__all__ = [
    "BREAKER_STATE",
    "COMPONENT_TYPE",
    "COMPOSITE_KIND",
    "FAILURE_POLICY",
    "HOOK_OUTCOME",
    "HOOK_POINT",
    "LANGUAGE",
    "TIE_BREAKER",
    "EnumTable",
    "breaker_state_from_proto",
    "breaker_state_to_proto",
    "language_from_proto",
    "language_to_proto",
    "outcome_from_proto",
    "outcome_to_proto",
    "point_from_proto",
    "point_to_proto",
]

N = TypeVar("N", bound=str)


class EnumTable(Generic[N]):
    """Runtime names <-> the numbers of one proto enum (`<prefix><NAME>` in the descriptor).

    `empty`, when given, is the runtime name of the UNSPECIFIED value (0); otherwise 0 is
    refused when read. `to_number` / `from_number` are the two dicts, for hot paths.
    """

    __slots__ = ("enum", "from_number", "to_number")

    def __init__(
        self, descriptor: EnumDescriptor, prefix: str, names: Iterable[N], empty: N | None = None
    ) -> None:
        self.enum = descriptor.name
        by_name = descriptor.values_by_name
        to_number: dict[N, int] = {}
        for name in names:
            value = by_name.get(prefix + name.upper())
            if value is None:
                raise RuntimeError(f"hookwire.v1.{self.enum} has no value {prefix}{name.upper()}")
            to_number[name] = value.number
        if empty is not None:
            to_number[empty] = 0
        self.to_number = to_number
        self.from_number: dict[int, N] = {v: k for k, v in to_number.items()}

    def number(self, name: N, field: str) -> int:
        """The enum value of a runtime name; InvalidArgument naming `field` for another name."""
        try:
            return self.to_number[name]
        except (KeyError, TypeError):
            expected = ", ".join(repr(n) for n in self.to_number if n)
            raise InvalidArgument(
                field, f"unknown {self.enum} {name!r} (expected one of {expected})"
            ) from None

    def name(self, number: int, field: str) -> N:
        """The runtime name of an enum value; InvalidArgument naming `field` for an unknown or
        (without `empty`) unspecified one."""
        try:
            return self.from_number[number]
        except KeyError:
            what = "unknown" if 0 in self.from_number else "unknown or unspecified"
            raise InvalidArgument(field, f"{what} {self.enum} {number}") from None


_HOOK = hook_pb2.DESCRIPTOR.enum_types_by_name
LANGUAGE: EnumTable[str] = EnumTable(
    common_pb2.DESCRIPTOR.enum_types_by_name["Language"], "LANGUAGE_", LANGUAGES, empty=""
)
HOOK_POINT: EnumTable[str] = EnumTable(_HOOK["HookPoint"], "HOOK_POINT_", ALL_POINTS)
HOOK_OUTCOME: EnumTable[Outcome] = EnumTable(_HOOK["HookOutcome"], "HOOK_OUTCOME_", Outcome)
BREAKER_STATE: EnumTable[BreakerState] = EnumTable(
    _HOOK["BreakerState"], "BREAKER_STATE_", BreakerState
)
FAILURE_POLICY: EnumTable[FailurePolicy] = EnumTable(
    _HOOK["FailurePolicy"], "FAILURE_POLICY_", FailurePolicy
)
COMPONENT_TYPE: EnumTable[str] = EnumTable(
    _HOOK["ComponentType"], "COMPONENT_TYPE_", COMPONENT_TYPES, empty=""
)
COMPOSITE_KIND: EnumTable[CompositeKind] = EnumTable(
    _HOOK["CompositeKind"], "COMPOSITE_KIND_", CompositeKind
)
TIE_BREAKER: EnumTable[TieBreaker] = EnumTable(_HOOK["TieBreaker"], "TIE_BREAKER_", TieBreaker)
_POINT_CUSTOM = _HOOK["HookPoint"].values_by_name["HOOK_POINT_CUSTOM"].number
# The tables' dicts as module globals: these run per trace entry and per remote call.
_LANGUAGE_NUMBER = LANGUAGE.to_number
_OUTCOME_NUMBER = HOOK_OUTCOME.to_number
_STATE_NUMBER = BREAKER_STATE.to_number


def language_to_proto(language: str, field: str = "language") -> int:
    """The hookwire.v1.Language value of a language name ("" is UNSPECIFIED)."""
    try:
        return _LANGUAGE_NUMBER[language]
    except (KeyError, TypeError):
        return LANGUAGE.number(check_language(language, field), field)


def language_from_proto(value: int, field: str = "language") -> str:
    """The language name of a hookwire.v1.Language value ("" for UNSPECIFIED)."""
    return LANGUAGE.name(value, field)


def outcome_to_proto(outcome: Outcome) -> int:
    """The hookwire.v1.HookOutcome value of an Outcome."""
    return _OUTCOME_NUMBER[outcome]


def outcome_from_proto(value: int, field: str = "outcome") -> Outcome:
    """The Outcome of a hookwire.v1.HookOutcome value."""
    return HOOK_OUTCOME.name(value, field)


def breaker_state_to_proto(state: BreakerState) -> int:
    """The hookwire.v1.BreakerState value of a state."""
    return _STATE_NUMBER[state]


def breaker_state_from_proto(value: int, field: str = "breaker_state") -> BreakerState:
    """The BreakerState of a hookwire.v1.BreakerState value."""
    return BREAKER_STATE.name(value, field)


# Points already converted: every remote call encodes its point, and programs use few points.
# Bounded (cleared when full) since custom point names come from callers.
_POINT_CACHE: dict[str, tuple[int, str]] = {}
_POINT_CACHE_MAX = 4096
_POINT_NUMBER = HOOK_POINT.to_number


def point_to_proto(text: str, field: str = "point") -> tuple[int, str]:
    """`(HookPoint value, custom_point)` of a point's text form (InvalidArgument if invalid)."""
    known = _POINT_CACHE.get(text) if type(text) is str else None
    if known is not None:
        return known
    text = parse_point(text, field)
    number = _POINT_NUMBER.get(text)
    pair = (number, "") if number is not None else (_POINT_CUSTOM, text[len(CUSTOM_PREFIX) :])
    if len(_POINT_CACHE) >= _POINT_CACHE_MAX:
        _POINT_CACHE.clear()
    _POINT_CACHE[text] = pair
    return pair


def point_from_proto(enum_value: int, custom_name: str = "", field: str = "point") -> str:
    """The text form of a `(HookPoint, custom_point)` pair."""
    if enum_value == _POINT_CUSTOM:
        return parse_point(CUSTOM_PREFIX + custom_name, "custom_point")
    name = HOOK_POINT.from_number.get(enum_value)
    if name is None:
        raise InvalidArgument(field, f"unknown or unspecified HookPoint value {enum_value}")
    if custom_name:
        raise InvalidArgument(
            "custom_point", f"must be empty unless point is CUSTOM, got {custom_name!r}"
        )
    return name
