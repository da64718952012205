"""Event subscribers in Lua and JavaScript see what was published, losslessly and in order."""

from __future__ import annotations

from typing import Any

import pytest
from hookwire.conformance.consumers import JsConsumer, LuaConsumer, PythonConsumer, Seen
from hookwire.runtime.bus import NO_DATA, Event

PAYLOAD: dict[str, Any] = {
    "list": [1, 2.5, None, True, "x"],
    "empty_array": [],
    "empty_object": {},
    "big": 2**63 - 1,
    "small": -(2**63),
    "beyond_double": 9007199254740993,
    "text": "\u00e9\u2603\U0001f600",
}


def _events() -> list[Event]:
    return [
        Event("app.a", PAYLOAD, sequence=3, source_language="lua"),
        Event("app.b", None, sequence=4, source_language="javascript"),
        Event("app.c", sequence=7, source_language="python"),
    ]


@pytest.mark.parametrize("consumer", [PythonConsumer, LuaConsumer, JsConsumer])
def test_consumer_sees_every_event_losslessly(consumer: type) -> None:
    seen = consumer().take(_events())
    assert seen == [
        Seen("app.a", 3, "lua", PAYLOAD),
        Seen("app.b", 4, "javascript", None),
        Seen("app.c", 7, "python", NO_DATA),
    ]
    # bool is not 1, [] is not {}: compare types too.
    got = seen[0].payload
    assert type(got["list"][3]) is bool
    assert type(got["empty_array"]) is list and type(got["empty_object"]) is dict


@pytest.mark.parametrize("consumer", [LuaConsumer, JsConsumer])
def test_consumer_starts_empty_for_each_delivery(consumer: type) -> None:
    c = consumer()
    assert [s.sequence for s in c.take(_events()[:1])] == [3]
    assert [s.sequence for s in c.take(_events()[1:])] == [4, 7]
    assert c.take([]) == []
