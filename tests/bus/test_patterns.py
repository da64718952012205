from __future__ import annotations

import pytest
from hookwire.runtime.bus import EventBus, Pattern, check_type
from hookwire.runtime.errors import InvalidArgument


@pytest.mark.parametrize(
    ("pattern", "event_type", "expected"),
    [
        ("a.b", "a.b", True),
        ("a.b", "a.b.c", False),
        ("a.*", "a.b", True),
        ("a.*", "a", False),
        ("a.*", "a.b.c", False),
        ("*.b", "x.b", True),
        ("a.>", "a.b", True),
        ("a.>", "a.b.c.d", True),
        ("a.>", "a", False),
        (">", "a", True),
        (">", "a.b.c", True),
        ("*", "a", True),
        ("*", "a.b", False),
        ("a.*.c.>", "a.x.c.d", True),
        ("a.*.c.>", "a.x.c", False),
        ("a.*.c.>", "a.x.d.e", False),
        ("A-b_1.x", "A-b_1.x", True),
        ("a.b", "a.B", False),
    ],
)
def test_nats_matching(pattern: str, event_type: str, expected: bool) -> None:
    assert Pattern.compile(pattern).matches(event_type) is expected


@pytest.mark.parametrize("bad", ["", "a..b", ".a", "a.", "a b", "a.>.b", "a.b*", "a.>>", "é", 7])
def test_invalid_pattern_names_argument_and_pattern(bad: object) -> None:
    with pytest.raises(InvalidArgument) as info:
        Pattern.compile(bad, "patterns[1]")
    assert info.value.field == "patterns[1]"
    assert info.value.code == "INVALID_ARGUMENT"
    if isinstance(bad, str):
        assert repr(bad) in str(info.value)


@pytest.mark.parametrize("good", ["a", "tool.invoked", "A-1._x", "hookwire.breaker.half_opened"])
def test_valid_types(good: str) -> None:
    assert check_type(good) == good


@pytest.mark.parametrize("bad", ["", "a..b", "a.*", "a.>", "a b", ".a", "a.", "a\n", None])
def test_invalid_types(bad: object) -> None:
    with pytest.raises(InvalidArgument) as info:
        check_type(bad)
    assert info.value.field == "type"


def test_subscribe_reports_which_pattern_is_invalid(bus: EventBus) -> None:
    with pytest.raises(InvalidArgument) as info:
        bus.subscribe("a.*", "b.>.c")
    assert info.value.field == "patterns[1]"
    assert "'b.>.c'" in str(info.value)
    with pytest.raises(InvalidArgument) as info:
        bus.subscribe()
    assert info.value.field == "patterns"
    assert bus.subscriptions() == []


def test_route_cache_follows_subscription_changes(bus: EventBus) -> None:
    a = bus.subscribe("x.*")
    bus.publish("x.y", 1)
    b = bus.subscribe("x.>")  # must see the next x.y even though x.y's route was cached
    bus.publish("x.y", 2)
    a.close()
    bus.publish("x.y", 3)
    assert [e.payload for e in a] == [1, 2]
    assert [e.payload for e in b] == [2, 3]


def test_event_types_are_capped() -> None:
    from hookwire.runtime.limits import MAX_EVENT_TYPE_BYTES

    assert check_type("a" * MAX_EVENT_TYPE_BYTES)
    with pytest.raises(InvalidArgument) as info:
        check_type("a" * (MAX_EVENT_TYPE_BYTES + 1))
    assert info.value.field == "type" and "at most" in info.value.reason
