"""Registry: names, order, flags, lazy hooks, filters, errors (docs/semantics.md section 2)."""

from __future__ import annotations

from typing import Any

import pytest
from hookwire.runtime.breaker import BreakerConfig
from hookwire.runtime.errors import AlreadyExists, InvalidArgument, NotFound
from hookwire.runtime.registry import FailurePolicy, HookSpec, Priority, Registry
from hookwire.runtime.wire.registration import spec_from_proto, spec_to_proto
from hookwire.v1 import hook_pb2

P = "before_tool_execution"


def noop(ctx: Any) -> None:
    return None


def names(reg: Registry, point: str = P) -> list[str]:
    return [e.name for e in reg.chain(point)]


def test_order_by_priority_then_registration() -> None:
    reg = Registry()
    reg.register(noop, name="low", point=P, priority=Priority.LOW)
    reg.register(noop, name="n1", point=P)
    reg.register(noop, name="first", point=P, priority=Priority.HIGHEST)
    reg.register(noop, name="n2", point=P, priority=0)
    reg.register(noop, name="last", point=P, priority=Priority.LOWEST)
    reg.register(noop, name="high", point=P, priority=-100)
    assert names(reg) == ["first", "high", "n1", "n2", "low", "last"]


def test_reregistration_goes_last_among_its_priority() -> None:
    reg = Registry()
    for n in ("a", "b", "c"):
        reg.register(noop, name=n, point=P)
    reg.unregister("a")
    reg.register(noop, name="a", point=P)
    assert names(reg) == ["b", "c", "a"]


def test_chain_is_cached_until_a_change() -> None:
    reg = Registry()
    reg.register(noop, name="a", point=P)
    first = reg.chain(P)
    assert reg.chain(P) is first
    v = reg.version
    reg.register(noop, name="b", point="session_start")
    assert reg.version == v + 1
    assert reg.chain(P) is not first
    assert names(reg) == ["a"]


def test_disable_enable_keep_place() -> None:
    reg = Registry()
    for n in ("a", "b", "c"):
        reg.register(noop, name=n, point=P)
    reg.disable("b")
    assert names(reg) == ["a", "c"]
    assert reg.get("b").enabled is False
    reg.enable("b")
    assert names(reg) == ["a", "b", "c"]


def test_feature_flags_are_off_until_turned_on() -> None:
    reg = Registry()
    reg.register(noop, name="plain", point=P)
    reg.register(noop, name="beta", point=P, feature="beta")
    assert names(reg) == ["plain"]
    reg.set_feature("beta", True)
    assert names(reg) == ["plain", "beta"]
    reg.set_feature("beta", False)
    assert names(reg) == ["plain"]
    assert names(Registry(features=["beta"])) == []
    reg2 = Registry(features=["beta"])
    reg2.register(noop, name="beta", point=P, feature="beta")
    assert names(reg2) == ["beta"]


def test_errors() -> None:
    reg = Registry()
    reg.register(noop, name="a", point=P)
    with pytest.raises(AlreadyExists) as info:
        reg.register(noop, name="a", point="session_start")
    assert (info.value.code, info.value.field) == ("ALREADY_EXISTS", "name")
    assert "'a'" in str(info.value)
    with pytest.raises(InvalidArgument) as inv:
        reg.register(noop, name="b", point="before_tool")
    assert inv.value.field == "point"
    with pytest.raises(InvalidArgument) as inv:
        reg.register(noop, name="b", point=P, priority=2**31)
    assert inv.value.field == "priority"
    with pytest.raises(InvalidArgument) as inv:
        reg.register(noop, name="b", point=P, priority=True)
    assert inv.value.field == "priority"
    with pytest.raises(InvalidArgument) as inv:
        reg.register(noop, name="b", point=P, timeout_ms=0)
    assert inv.value.field == "timeout_ms"
    with pytest.raises(InvalidArgument) as inv:
        reg.register(noop, name="b", point=P, failure_policy="FAIL_SOMETIMES")
    assert inv.value.field == "failure_policy"
    with pytest.raises(InvalidArgument) as inv:
        reg.register(42, name="b", point=P)
    assert inv.value.field == "hook"
    with pytest.raises(InvalidArgument) as inv:
        reg.register(noop, name="", point=P)
    assert inv.value.field == "name"
    with pytest.raises(InvalidArgument) as inv:
        reg.register(noop, name="b", point=P, tags="ab")
    assert inv.value.field == "tags"
    with pytest.raises(InvalidArgument) as inv:
        reg.register(noop, name="b", point=P, language="cobol")
    assert inv.value.field == "language"
    for op in (reg.unregister, reg.enable, reg.disable, reg.get, reg.breaker):
        with pytest.raises(NotFound) as nf:
            op("zzz")
        assert nf.value.code == "NOT_FOUND"
    with pytest.raises(InvalidArgument):
        reg.chain("not_a_point")
    assert len(reg) == 1 and "a" in reg


def test_custom_points() -> None:
    reg = Registry()
    reg.register(noop, name="a", point="custom:billing.charge")
    assert names(reg, "custom:billing.charge") == ["a"]
    assert names(reg, "custom:other") == []


def test_filters() -> None:
    reg = Registry()
    reg.register(noop, name="a", point=P, priority=10, tags=("audit", "x"))
    reg.register(noop, name="b", point=P, priority=-5, language="lua")
    reg.register(noop, name="c", point="session_start", priority=0, tags=("audit",))
    reg.disable("c")
    assert [s.name for s in reg.hooks()] == ["b", "c", "a"]
    assert [s.name for s in reg.hooks(point=P)] == ["b", "a"]
    assert [s.name for s in reg.hooks(language="lua")] == ["b"]
    assert [s.name for s in reg.hooks(tag="audit")] == ["c", "a"]
    assert [s.name for s in reg.hooks(priority_range=(-5, 0))] == ["b", "c"]
    assert [s.name for s in reg.hooks(point=P, tag="audit", priority_range=(0, 10))] == ["a"]
    with pytest.raises(InvalidArgument) as info:
        reg.hooks(priority_range=(5, 1))
    assert info.value.field == "priority_range"


def test_decorator_and_spec_fields() -> None:
    reg = Registry()

    @reg.hook(P, priority=10, timeout_ms=5, failure_policy="FAIL_CLOSED", tags=("t",))
    def check(ctx: Any) -> None:
        return None

    spec = reg.get("check")
    assert spec == HookSpec(
        "check",
        P,
        10,
        "python",
        5_000_000,
        FailurePolicy.FAIL_CLOSED,
        BreakerConfig(),
        True,
        frozenset({"t"}),
        None,
    )
    assert check(None) is None  # the decorator returns the function unchanged


def test_lazy_factory_called_once_on_first_use() -> None:
    reg = Registry()
    calls: list[int] = []

    def factory() -> Any:
        calls.append(1)
        return noop

    reg.register(factory, name="lazy", point=P, lazy=True)
    assert calls == []
    entry = reg.entry("lazy")
    assert entry.lazy
    from hookwire.runtime.context import HookContext

    lazy_adapter = entry.adapter
    lazy_adapter.call(HookContext(P), 1)
    lazy_adapter.call(HookContext(P), 1)
    assert calls == [1]
    assert not reg.entry("lazy").lazy  # the built adapter replaced the lazy one


def test_spec_proto_round_trip() -> None:
    spec = HookSpec(
        "h",
        "custom:x",
        -7,
        "javascript",
        250_000_000,
        FailurePolicy.FAIL_CLOSED,
        BreakerConfig.production(),
        False,
        frozenset({"b", "a"}),
        "beta",
    )
    pb = spec_to_proto(spec)
    assert list(pb.tags) == ["a", "b"]
    back = spec_from_proto(hook_pb2.HookRegistration.FromString(pb.SerializeToString()))
    assert back == spec
    minimal = spec_from_proto(
        hook_pb2.HookRegistration(name="m", point=hook_pb2.HOOK_POINT_SESSION_START)
    )
    assert minimal == HookSpec("m", "session_start")
