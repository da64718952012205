"""HookSpec <-> hookwire.v1.HookRegistration, and BreakerConfig / BreakerStatus <-> their
messages: how hook descriptions and breaker states cross the wire (worker registration,
ListHooks, GetBreakerState).

Reading a registration validates it like any HookSpec, and every error names the member
(`hooks[0].timeout`, `hook.breaker.window_size`, ...): registrations come from workers.

Example:
    >>> from hookwire.runtime.registry import HookSpec
    >>> pb = spec_to_proto(HookSpec(name="audit", point="custom:audit", priority=-100))
    >>> (pb.name, pb.custom_point, pb.priority)
    ('audit', 'audit', -100)
    >>> spec_from_proto(pb, "hooks[0]").point
    'custom:audit'
"""

from __future__ import annotations

from typing import Any

from hookwire.runtime.breaker import BreakerConfig, BreakerStatus
from hookwire.runtime.errors import HookwireError, InvalidArgument
from hookwire.runtime.limits import MAX_NAME_BYTES
from hookwire.runtime.registry import DEFAULT_TIMEOUT_NS, FailurePolicy, HookSpec
from hookwire.runtime.results import Outcome, ResultKind
from hookwire.runtime.wire.duration import duration_from_proto, duration_to_proto
from hookwire.runtime.wire.enums import (
    FAILURE_POLICY,
    HOOK_OUTCOME,
    breaker_state_from_proto,
    breaker_state_to_proto,
    language_from_proto,
    language_to_proto,
    point_from_proto,
    point_to_proto,
)
from hookwire.v1 import hook_pb2

__all__ = [
    "breaker_config_from_proto",
    "breaker_config_to_proto",
    "breaker_status_from_proto",
    "breaker_status_to_proto",
    "spec_from_proto",
    "spec_to_proto",
]

# The result kinds a registration may declare as honoured, as HookOutcome values (in order).
_KIND_NUMBER: dict[str, int] = {
    k.value: HOOK_OUTCOME.to_number[Outcome(k.value)] for k in ResultKind
}
_NUMBER_KIND: dict[int, str] = {n: k for k, n in _KIND_NUMBER.items()}


# BreakerConfig's fields as the message holds them: plain values, and durations (`<name>_ns`).
_BREAKER_VALUES = (
    "window_size",
    "minimum_calls",
    "failure_rate_threshold",
    "slow_call_rate_threshold",
    "backoff_multiplier",
    "half_open_probes",
)
_BREAKER_DURATIONS = ("slow_call_duration", "open_duration", "max_open_duration")


def breaker_config_to_proto(config: BreakerConfig) -> hook_pb2.BreakerConfig:
    """hookwire.v1.BreakerConfig with every field set explicitly."""
    pb = hook_pb2.BreakerConfig(**{name: getattr(config, name) for name in _BREAKER_VALUES})
    for name in _BREAKER_DURATIONS:
        duration_to_proto(getattr(config, f"{name}_ns"), getattr(pb, name))
    return pb


def breaker_config_from_proto(pb: hook_pb2.BreakerConfig) -> BreakerConfig:
    """The BreakerConfig of a message: unset fields take the defaults; invalid values raise
    InvalidArgument naming `breaker.<field>`."""
    # (HasField's stub wants literal field names; these are the message's own.)
    given: dict[str, Any] = {n: getattr(pb, n) for n in _BREAKER_VALUES if pb.HasField(n)}  # type: ignore[arg-type]
    for name in _BREAKER_DURATIONS:
        if pb.HasField(name):  # type: ignore[arg-type]
            given[f"{name}_ns"] = duration_from_proto(getattr(pb, name))
    return BreakerConfig(**given)


def breaker_status_to_proto(name: str, status: BreakerStatus) -> hook_pb2.BreakerStatus:
    """The wire form of one hook's breaker status."""
    pb = hook_pb2.BreakerStatus(
        hook_name=name,
        state=breaker_state_to_proto(status.state),  # type: ignore[arg-type]
        window_calls=status.window_calls,
        window_failures=status.window_failures,
        window_slow=status.window_slow,
        probes_in_flight=status.probes_in_flight,
        good_probes=status.good_probes,
    )
    duration_to_proto(status.current_open_duration_ns, pb.current_open_duration)
    return pb


def breaker_status_from_proto(pb: hook_pb2.BreakerStatus) -> BreakerStatus:
    """The runtime's BreakerStatus from its wire form."""
    return BreakerStatus(
        state=breaker_state_from_proto(pb.state),
        window_calls=pb.window_calls,
        window_failures=pb.window_failures,
        window_slow=pb.window_slow,
        current_open_duration_ns=duration_from_proto(pb.current_open_duration),
        probes_in_flight=pb.probes_in_flight,
        good_probes=pb.good_probes,
    )


def spec_to_proto(spec: HookSpec) -> hook_pb2.HookRegistration:
    """hookwire.v1.HookRegistration of a HookSpec (tags sorted, breaker fully set, the
    honoured kinds in HookOutcome order)."""
    point, custom = point_to_proto(spec.point)
    honoured = spec.honoured
    pb = hook_pb2.HookRegistration(
        name=spec.name,
        point=point,  # type: ignore[arg-type]
        custom_point=custom,
        priority=spec.priority,
        language=language_to_proto(spec.language),  # type: ignore[arg-type]
        failure_policy=FAILURE_POLICY.to_number[spec.failure_policy],  # type: ignore[arg-type]
        tags=sorted(spec.tags),
        feature=spec.feature or "",
        enabled=spec.enabled,
        honoured_results=[n for k, n in _KIND_NUMBER.items() if k in honoured],  # type: ignore[misc]
    )
    duration_to_proto(spec.timeout_ns, pb.timeout)
    pb.breaker.CopyFrom(breaker_config_to_proto(spec.breaker))
    return pb


def spec_from_proto(
    pb: hook_pb2.HookRegistration, field: str = "hook", *, default_language: str = "python"
) -> HookSpec:
    """A validated HookSpec from a HookRegistration; errors name `<field>.<member>`. Unset
    timeout, breaker and enabled take the defaults, an unspecified language
    `default_language`, an unspecified failure policy FAIL_OPEN."""
    if not pb.name:
        raise InvalidArgument(f"{field}.name", "must be a non-empty string")
    # Checked before anything is built from them: a worker's names are echoed in every
    # ListHooks and Execute answer.
    for member, value in (
        ("name", pb.name),
        ("custom_point", pb.custom_point),
        ("feature", pb.feature),
        *((f"tags[{i}]", t) for i, t in enumerate(pb.tags)),
    ):
        size = len(value.encode())
        if size > MAX_NAME_BYTES:
            raise InvalidArgument(
                f"{field}.{member}", f"is {size} bytes long; at most {MAX_NAME_BYTES} (UTF-8)"
            )
    point = point_from_proto(pb.point, pb.custom_point, f"{field}.point")
    language = language_from_proto(pb.language, f"{field}.language") or default_language
    timeout_ns = DEFAULT_TIMEOUT_NS
    if pb.HasField("timeout"):
        timeout_ns = duration_from_proto(pb.timeout)
        if timeout_ns <= 0:
            raise InvalidArgument(f"{field}.timeout", f"must be positive, got {timeout_ns} ns")
    if pb.failure_policy == 0:  # UNSPECIFIED
        policy = FailurePolicy.FAIL_OPEN
    else:
        policy = FAILURE_POLICY.name(pb.failure_policy, f"{field}.failure_policy")
    honours: frozenset[str] | None = None
    if pb.honoured_results:
        kinds = set()
        for number in pb.honoured_results:
            kind = _NUMBER_KIND.get(number)
            if kind is None:
                raise InvalidArgument(
                    f"{field}.honoured_results",
                    f"{number} is not a result kind (HookOutcome CONTINUE..SKIPPED)",
                )
            kinds.add(kind)
        honours = frozenset(kinds)
    try:
        breaker = (
            breaker_config_from_proto(pb.breaker)
            if pb.HasField("breaker")
            else BreakerConfig.default()
        )
    except HookwireError as exc:
        # BreakerConfig names its fields `breaker.<name>` already.
        member = (exc.field or "").removeprefix("breaker").lstrip(".")
        raise InvalidArgument(f"{field}.breaker.{member}".rstrip("."), exc.reason) from None
    try:
        return HookSpec(
            name=pb.name,
            point=point,
            priority=pb.priority,
            language=language,
            timeout_ns=timeout_ns,
            failure_policy=policy,
            breaker=breaker,
            enabled=pb.enabled if pb.HasField("enabled") else True,
            tags=frozenset(pb.tags),
            feature=pb.feature or None,
            honours=honours,
        )
    except HookwireError as exc:
        raise InvalidArgument(f"{field}.{exc.field or 'hook'}", exc.reason) from None
