"""Native hook results, outcome kinds, precedence, and their plain-JSON form.

Their hookwire.v1 form is built in hookwire.runtime.wire.results.

A hook returns `None` (CONTINUE) or one of these frozen dataclasses.

Example:
    >>> r = result_from_json({"retry": {"delay": "0.060s", "maxAttempts": 3}})
    >>> r
    Retry(delay_ns=60000000, max_attempts=3)
    >>> result_to_json(r)
    {'retry': {'delay': '0.060s', 'maxAttempts': 3}}
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar, TypeAlias, get_args

from hookwire.runtime.errors import InvalidArgument
from hookwire.runtime.json_value import validate_json
from hookwire.runtime.limits import UINT32_MAX, check_duration_ns, check_name

__all__ = [
    "CONTINUE",
    "PRECEDENCE",
    "STOPPING_KINDS",
    "Cache",
    "Cancel",
    "Continue",
    "Fork",
    "ForkOperation",
    "HookResult",
    "Modified",
    "Outcome",
    "Redirect",
    "Replace",
    "ResultKind",
    "Retry",
    "Skipped",
    "duration_from_json",
    "duration_to_json",
    "result_from_json",
    "result_to_json",
    "validate_result",
]


class ResultKind(StrEnum):
    """What a hook decided."""

    CONTINUE = "CONTINUE"
    MODIFIED = "MODIFIED"
    CANCEL = "CANCEL"
    REDIRECT = "REDIRECT"
    REPLACE = "REPLACE"
    RETRY = "RETRY"
    FORK = "FORK"
    CACHE = "CACHE"
    SKIPPED = "SKIPPED"


class Outcome(StrEnum):
    """How one hook call ended, as recorded in the trace: a result kind, ERROR or TIMEOUT."""

    CONTINUE = "CONTINUE"
    MODIFIED = "MODIFIED"
    CANCEL = "CANCEL"
    REDIRECT = "REDIRECT"
    REPLACE = "REPLACE"
    RETRY = "RETRY"
    FORK = "FORK"
    CACHE = "CACHE"
    SKIPPED = "SKIPPED"
    ERROR = "ERROR"
    TIMEOUT = "TIMEOUT"


# Kinds that end the chain and become the final result: all but the three that let it go on
# (docs/semantics.md section 3).
STOPPING_KINDS: frozenset[ResultKind] = frozenset(ResultKind) - {
    ResultKind.CONTINUE,
    ResultKind.MODIFIED,
    ResultKind.SKIPPED,
}

# PARALLEL / PREFER_ACTION precedence, strongest first (docs/semantics.md section 6).
PRECEDENCE: tuple[ResultKind, ...] = (
    ResultKind.CANCEL,
    ResultKind.REDIRECT,
    ResultKind.REPLACE,
    ResultKind.RETRY,
    ResultKind.FORK,
    ResultKind.CACHE,
    ResultKind.MODIFIED,
    ResultKind.CONTINUE,
)


class _Result:
    """What every result kind shares: its `kind`, and the trace `outcome` of the same name."""

    __slots__ = ()
    kind: ClassVar[ResultKind]
    outcome: ClassVar[Outcome]

    def __init_subclass__(cls, kind: ResultKind | None = None) -> None:
        # None: dataclass(slots=True) rebuilding the class, which already has both.
        if kind is not None:
            cls.kind = kind
            cls.outcome = Outcome(kind)


@dataclass(frozen=True, slots=True)
class Continue(_Result, kind=ResultKind.CONTINUE):
    """CONTINUE: nothing to change. Hooks usually just `return None`."""


@dataclass(frozen=True, slots=True)
class Modified(_Result, kind=ResultKind.MODIFIED):
    """MODIFIED: merge-patch `data` into the context's data (RFC 7396); the chain goes on.

    Example:
        >>> Modified({"user": None, "n": 2}).kind
        <ResultKind.MODIFIED: 'MODIFIED'>
    """

    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Cancel(_Result, kind=ResultKind.CANCEL):
    """CANCEL: stop the chain and the operation, with a reason."""

    reason: str


@dataclass(frozen=True, slots=True)
class Redirect(_Result, kind=ResultKind.REDIRECT):
    """REDIRECT: stop; run the operation registered under `target` instead."""

    target: str


@dataclass(frozen=True, slots=True)
class Replace(_Result, kind=ResultKind.REPLACE):
    """REPLACE: stop; use `value` (any JSON value, `None` = null) as the operation's output."""

    value: Any


@dataclass(frozen=True, slots=True)
class Retry(_Result, kind=ResultKind.RETRY):
    """RETRY: stop; re-run after `delay_ns`, at most `max_attempts` attempts in all."""

    delay_ns: int
    max_attempts: int


@dataclass(frozen=True, slots=True)
class ForkOperation:
    """One operation a FORK starts beside the main one."""

    operation: str
    parameters: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Fork(_Result, kind=ResultKind.FORK):
    """FORK: stop; run `operations` concurrently beside the main operation."""

    operations: tuple[ForkOperation, ...]


@dataclass(frozen=True, slots=True)
class Cache(_Result, kind=ResultKind.CACHE):
    """CACHE: stop; serve the output cached under `key`, fresh for `ttl_ns`."""

    key: str
    ttl_ns: int


@dataclass(frozen=True, slots=True)
class Skipped(_Result, kind=ResultKind.SKIPPED):
    """SKIPPED: the hook declined to act; the chain goes on."""

    reason: str = ""


HookResult: TypeAlias = (
    Continue | Modified | Cancel | Redirect | Replace | Retry | Fork | Cache | Skipped
)

CONTINUE = Continue()

RESULT_TYPES: tuple[type, ...] = get_args(HookResult)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def validate_result(result: Any, field: str = "result") -> HookResult:
    """Check that `result` is a well-formed HookResult; raise InvalidArgument naming the field.

    Example:
        >>> validate_result(Modified([1]))  # type: ignore[arg-type]  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        hookwire.runtime.errors.InvalidArgument: result.modified.data: must be a JSON object, ...
    """
    t = type(result)
    if t is Continue:
        return result  # type: ignore[no-any-return]
    if t is Modified:
        if not isinstance(result.data, dict):
            raise InvalidArgument(
                f"{field}.modified.data",
                f"must be a JSON object, got {type(result.data).__name__}",
            )
        validate_json(result.data, f"{field}.modified.data")
    elif t is Cancel or t is Skipped:
        if not isinstance(result.reason, str):
            name = "cancel" if t is Cancel else "skipped"
            raise InvalidArgument(f"{field}.{name}.reason", "must be a string")
    elif t is Redirect:
        if not isinstance(result.target, str) or not result.target:
            raise InvalidArgument(f"{field}.redirect.target", "must be a non-empty string")
        check_name(result.target, f"{field}.redirect.target")
    elif t is Replace:
        validate_json(result.value, f"{field}.replace.value")
    elif t is Retry:
        if not _is_int(result.delay_ns) or result.delay_ns < 0:
            raise InvalidArgument(f"{field}.retry.delay_ns", "must be a non-negative int")
        check_duration_ns(result.delay_ns, f"{field}.retry.delay_ns")
        if not _is_int(result.max_attempts) or not 1 <= result.max_attempts <= UINT32_MAX:
            raise InvalidArgument(f"{field}.retry.max_attempts", "must be an int >= 1")
    elif t is Fork:
        if not isinstance(result.operations, tuple):
            raise InvalidArgument(f"{field}.fork.operations", "must be a tuple of ForkOperation")
        for i, op in enumerate(result.operations):
            where = f"{field}.fork.operations[{i}]"
            if not isinstance(op, ForkOperation):
                raise InvalidArgument(where, f"must be a ForkOperation, got {type(op).__name__}")
            if not isinstance(op.operation, str) or not op.operation:
                raise InvalidArgument(f"{where}.operation", "must be a non-empty string")
            check_name(op.operation, f"{where}.operation")
            if not isinstance(op.parameters, dict):
                raise InvalidArgument(f"{where}.parameters", "must be a JSON object")
            validate_json(op.parameters, f"{where}.parameters")
    elif t is Cache:
        if not isinstance(result.key, str):
            raise InvalidArgument(f"{field}.cache.key", "must be a string")
        check_name(result.key, f"{field}.cache.key")
        if not _is_int(result.ttl_ns) or result.ttl_ns < 0:
            raise InvalidArgument(f"{field}.cache.ttl_ns", "must be a non-negative int")
        check_duration_ns(result.ttl_ns, f"{field}.cache.ttl_ns")
    else:
        raise InvalidArgument(
            field, f"must be None or a HookResult, got {type(result).__name__}: {result!r:.80}"
        )
    return result  # type: ignore[no-any-return]


# ---------------------------------------------------------------------------------------------
# Durations (proto3 JSON form).

_DURATION_RE = re.compile(r"(-?)([0-9]+)(?:\.([0-9]{1,9}))?s\Z")
_NS = 1_000_000_000


def duration_to_json(ns: int) -> str:
    """Proto3 JSON Duration text with 0, 3, 6 or 9 fractional digits.

    Example:
        >>> [duration_to_json(n) for n in (30_000_000_000, 60_000_000, 1_500_000_000, 1)]
        ['30s', '0.060s', '1.500s', '0.000000001s']
    """
    sign = "-" if ns < 0 else ""
    seconds, frac = divmod(abs(ns), _NS)
    if frac == 0:
        return f"{sign}{seconds}s"
    if frac % 1_000_000 == 0:
        return f"{sign}{seconds}.{frac // 1_000_000:03d}s"
    if frac % 1_000 == 0:
        return f"{sign}{seconds}.{frac // 1_000:06d}s"
    return f"{sign}{seconds}.{frac:09d}s"


def duration_from_json(text: Any, field: str) -> int:
    """Parse proto3 JSON Duration text ("1.5s") to nanoseconds.

    Example:
        >>> duration_from_json("1.5s", "ttl")
        1500000000
    """
    if not isinstance(text, str):
        raise InvalidArgument(field, f"must be a duration string like '1.5s', got {text!r}")
    m = _DURATION_RE.match(text)
    if not m:
        raise InvalidArgument(field, f"must be a duration string like '1.5s', got {text!r}")
    ns = int(m.group(2)) * _NS + int((m.group(3) or "").ljust(9, "0") or 0)
    return -ns if m.group(1) else ns


# ---------------------------------------------------------------------------------------------
# Plain JSON form (proto3 JSON, but JsonValue / JsonObject written as plain JSON).


def result_to_json(result: HookResult) -> dict[str, Any]:
    """The plain JSON form of a result.

    Example:
        >>> result_to_json(Modified({"a": 1, "b": None}))
        {'modified': {'data': {'a': 1, 'b': None}}}
    """
    if isinstance(result, Continue):
        return {"continue": {}}
    if isinstance(result, Modified):
        return {"modified": {"data": result.data}}
    if isinstance(result, Cancel):
        return {"cancel": {"reason": result.reason}}
    if isinstance(result, Redirect):
        return {"redirect": {"target": result.target}}
    if isinstance(result, Replace):
        return {"replace": {"value": result.value}}
    if isinstance(result, Retry):
        return {
            "retry": {
                "delay": duration_to_json(result.delay_ns),
                "maxAttempts": result.max_attempts,
            }
        }
    if isinstance(result, Fork):
        return {
            "fork": {
                "operations": [
                    {"operation": o.operation, "parameters": o.parameters}
                    for o in result.operations
                ]
            }
        }
    if isinstance(result, Cache):
        return {"cache": {"key": result.key, "ttl": duration_to_json(result.ttl_ns)}}
    if isinstance(result, Skipped):
        return {"skipped": {"reason": result.reason}}
    raise InvalidArgument("result", f"must be a HookResult, got {type(result).__name__}")


def _obj(value: Any, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidArgument(field, f"must be a JSON object, got {type(value).__name__}")
    return value


def _take(body: dict[str, Any], names: tuple[str, ...], field: str, allowed: set[str]) -> Any:
    unknown = set(body) - allowed
    if unknown:
        raise InvalidArgument(field, f"unknown member(s) {sorted(unknown)}")
    for n in names:
        if n in body:
            return body[n]
    return None


def _str(value: Any, field: str, default: str = "") -> str:
    if value is None:
        return default
    if not isinstance(value, str):
        raise InvalidArgument(field, f"must be a string, got {type(value).__name__}")
    return value


def result_from_json(value: Any, field: str = "result") -> HookResult:
    """Parse the plain JSON form of a result; errors name the member at fault.

    Example:
        >>> result_from_json({"cache": {"key": "k", "ttl": "30s"}})
        Cache(key='k', ttl_ns=30000000000)
    """
    body_map = _obj(value, field)
    if len(body_map) != 1:
        raise InvalidArgument(
            field, f"must have exactly one result kind member, got {sorted(body_map)}"
        )
    (kind, body) = next(iter(body_map.items()))
    where = f"{field}.{kind}"
    body = _obj(body, where)
    if kind == "continue":
        _take(body, (), where, set())
        return CONTINUE
    if kind == "modified":
        data = _take(body, ("data",), where, {"data"})
        data = {} if data is None else _obj(data, f"{where}.data")
        validate_json(data, f"{where}.data")
        return Modified(data)
    if kind == "cancel":
        return Cancel(_str(_take(body, ("reason",), where, {"reason"}), f"{where}.reason"))
    if kind == "redirect":
        return Redirect(_str(_take(body, ("target",), where, {"target"}), f"{where}.target"))
    if kind == "replace":
        v = _take(body, ("value",), where, {"value"})
        validate_json(v, f"{where}.value")
        return Replace(v)
    if kind == "retry":
        allowed = {"delay", "maxAttempts", "max_attempts"}
        delay = _take(body, ("delay",), where, allowed)
        attempts = _take(body, ("maxAttempts", "max_attempts"), where, allowed)
        delay_ns = 0 if delay is None else duration_from_json(delay, f"{where}.delay")
        if not _is_int(attempts) or not 1 <= attempts <= UINT32_MAX:
            raise InvalidArgument(
                f"{where}.maxAttempts", f"must be an int in [1, 2^32-1], got {attempts!r}"
            )
        return Retry(delay_ns, attempts)
    if kind == "fork":
        ops = _take(body, ("operations",), where, {"operations"})
        if ops is None:
            ops = []
        if not isinstance(ops, list):
            raise InvalidArgument(f"{where}.operations", "must be a list")
        out = []
        for i, op in enumerate(ops):
            ow = f"{where}.operations[{i}]"
            op = _obj(op, ow)
            name = _str(
                _take(op, ("operation",), ow, {"operation", "parameters"}), f"{ow}.operation"
            )
            params = op.get("parameters")
            params = {} if params is None else _obj(params, f"{ow}.parameters")
            validate_json(params, f"{ow}.parameters")
            out.append(ForkOperation(name, params))
        return Fork(tuple(out))
    if kind == "cache":
        key = _str(_take(body, ("key",), where, {"key", "ttl"}), f"{where}.key")
        ttl = body.get("ttl")
        return Cache(key, 0 if ttl is None else duration_from_json(ttl, f"{where}.ttl"))
    if kind == "skipped":
        return Skipped(_str(_take(body, ("reason",), where, {"reason"}), f"{where}.reason"))
    raise InvalidArgument(
        field,
        f"unknown result kind {kind!r} (expected continue, modified, cancel, redirect, replace, "
        "retry, fork, cache or skipped)",
    )
