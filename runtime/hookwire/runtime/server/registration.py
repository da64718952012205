"""hookwire.v1.HookRegistration -> HookSpec (field-named errors): how hook descriptions cross
the wire (worker registration, ListHooks).

Example:
    >>> from hookwire.runtime.registry import HookSpec
    >>> pb = HookSpec(name="audit", point="custom:audit", priority=-100).to_proto()
    >>> (pb.name, pb.custom_point, pb.priority)
    ('audit', 'audit', -100)
    >>> spec_from_proto(pb, "hooks[0]").point
    'custom:audit'
"""

from __future__ import annotations

from hookwire.runtime.breaker import BreakerConfig
from hookwire.runtime.errors import HookwireError, InvalidArgument
from hookwire.runtime.language import language_from_proto
from hookwire.runtime.limits import MAX_NAME_BYTES
from hookwire.runtime.points import point_from_proto
from hookwire.runtime.registry import FailurePolicy, HookSpec
from hookwire.v1 import hook_pb2

__all__ = ["spec_from_proto"]

_NS = 1_000_000_000
_DEFAULT_TIMEOUT_NS = 100_000_000


def spec_from_proto(
    pb: hook_pb2.HookRegistration, field: str = "hook", *, default_language: str = "python"
) -> HookSpec:
    """A validated HookSpec from a HookRegistration; errors name `<field>.<member>`."""
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
    timeout_ns = _DEFAULT_TIMEOUT_NS
    if pb.HasField("timeout"):
        timeout_ns = pb.timeout.seconds * _NS + pb.timeout.nanos
        if timeout_ns <= 0:
            raise InvalidArgument(f"{field}.timeout", f"must be positive, got {timeout_ns} ns")
    if pb.failure_policy == hook_pb2.FAILURE_POLICY_FAIL_CLOSED:
        policy = FailurePolicy.FAIL_CLOSED
    elif pb.failure_policy in (
        hook_pb2.FAILURE_POLICY_UNSPECIFIED,
        hook_pb2.FAILURE_POLICY_FAIL_OPEN,
    ):
        policy = FailurePolicy.FAIL_OPEN
    else:
        raise InvalidArgument(f"{field}.failure_policy", f"unknown value {pb.failure_policy}")
    try:
        breaker = (
            BreakerConfig.from_proto(pb.breaker)
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
        )
    except HookwireError as exc:
        raise InvalidArgument(f"{field}.{exc.field or 'hook'}", exc.reason) from None
