"""Event subscribers in each language, for `expectDelivered` (docs/semantics.md section 9).

A scenario subscription's queue, overflow strategy and counters are the bus's, identical for
every consumer; its `consumer` says who takes the drained events and reports what it saw:

- `python` (default): the events as the bus hands them out.
- `lua`: a Lua subscriber function, loaded with the Lua SDK into an embedded sandbox, gets each
  event through `LuaSandbox.deliver_event` (the path `hookwire.subscribe` uses) as Lua values
  and keeps what it saw; a second Lua function hands that back as a `hookwire.replace` result,
  so the payload comes back through the adapter's own Lua -> Python conversion.
- `javascript`: a node process (`conformance/consumers/event_consumer.mjs`) gets each event as
  the bytes of a hookwire.v1.UniversalEvent, decodes it with the generated JS bindings and the
  JS SDK's lossless JSON conversion, and answers with what it saw as JSON text.

Each consumer returns one `Seen` per event, in the order it received them.

Example:
    >>> from hookwire.runtime.bus import Event
    >>> [s.sequence for s in PythonConsumer().take([Event("a", 1, sequence=7)])]
    [7]
"""

from __future__ import annotations

import atexit
import base64
import json
import subprocess
import threading
from dataclasses import dataclass
from typing import Any, Protocol

from hookwire.conformance.share import js_root, js_script
from hookwire.runtime.bus import NO_DATA, Event
from hookwire.runtime.context import HookContext
from hookwire.runtime.lua import LuaHookAdapter, LuaSandbox
from hookwire.runtime.results import Replace
from hookwire.runtime.wire.event import event_to_proto

__all__ = [
    "CONSUMERS",
    "Consumer",
    "JsConsumer",
    "LuaConsumer",
    "PythonConsumer",
    "Seen",
    "consumer_for",
]

#: The JS consumer, in the JS source tree (hookwire.conformance.share.js_root).
JS_CONSUMER = "conformance/consumers/event_consumer.mjs"
# Real-time bounds: the node process answers in milliseconds; these only stop a broken run.
_JS_START_S = 20.0
_CALL_NS = 5_000_000_000

_LUA_SOURCE = """
local got = hookwire.array{}
hookwire.register("custom:conformance.receive", function(ev)
  got[#got + 1] = {
    type = ev.type, sequence = ev.sequence, source_language = ev.source_language,
    has_payload = ev.payload ~= nil, payload = ev.payload,
  }
end)
hookwire.register("custom:conformance.hand_back", function()
  local out = got
  got = hookwire.array{}
  return hookwire.replace(out)
end)
"""


@dataclass(frozen=True, slots=True)
class Seen:
    """One event as a consumer saw it (`payload` is NO_DATA when it carried none)."""

    type: str
    sequence: int
    source_language: str
    payload: Any

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "sequence": self.sequence,
            "sourceLanguage": self.source_language,
            "payload": None if self.payload is NO_DATA else self.payload,
            "noPayload": self.payload is NO_DATA,
        }


class Consumer(Protocol):
    """Takes the events drained from one subscription; says what it saw, in order."""

    language: str

    def take(self, events: list[Event]) -> list[Seen]: ...


class PythonConsumer:
    """The runner itself: events as the bus hands them out."""

    language = "python"

    def take(self, events: list[Event]) -> list[Seen]:
        return [Seen(e.type, e.sequence, e.source_language, e.payload) for e in events]


class LuaConsumer:
    """A Lua subscriber function in an embedded sandbox (one sandbox per consumer)."""

    language = "lua"

    def __init__(self) -> None:
        self.sandbox = LuaSandbox()
        receive, hand_back = self.sandbox.load_source(_LUA_SOURCE, "conformance_consumer.lua")
        self._receive = receive.fn
        self._hand_back = LuaHookAdapter(self.sandbox, hand_back.fn, name="hand_back")

    def take(self, events: list[Event]) -> list[Seen]:
        for e in events:
            view: dict[str, Any] = {
                "type": e.type,
                "sequence": e.sequence,
                "source_language": e.source_language,
            }
            if e.payload is not NO_DATA:
                view["payload"] = e.payload
            self.sandbox.deliver_event(self._receive, view)
        result = self._hand_back.call(HookContext("custom:conformance.hand_back"), _CALL_NS)
        if not isinstance(result, Replace) or not isinstance(result.value, list):
            raise RuntimeError(f"lua consumer: unexpected answer {result!r}")
        return [
            Seen(
                s["type"],
                s["sequence"],
                s["source_language"],
                s["payload"] if s["has_payload"] else NO_DATA,
            )
            for s in result.value
        ]


class _Node:
    """The node process of the JS consumer, shared by every run of this process."""

    _instance: _Node | None = None
    _lock = threading.Lock()

    @classmethod
    def get(cls) -> _Node:
        with cls._lock:
            if cls._instance is None or cls._instance.proc.poll() is not None:
                cls._instance = _Node()
                atexit.register(cls._instance.stop)
            return cls._instance

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            ["node", str(js_script(JS_CONSUMER))],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=js_root(),
        )

    def ask(self, frames: list[str]) -> Any:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps({"frames": frames}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            err = self.proc.stderr.read() if self.proc.stderr else ""
            raise RuntimeError(f"js consumer: node exited: {err[-2000:]}")
        return json.loads(line)

    def stop(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class JsConsumer:
    """A JavaScript subscriber in node, decoding UniversalEvent bytes with the JS bindings."""

    language = "javascript"

    def take(self, events: list[Event]) -> list[Seen]:
        frames = [base64.b64encode(event_to_proto(e).SerializeToString()).decode() for e in events]
        answer = _Node.get().ask(frames)
        if isinstance(answer, dict):
            raise RuntimeError(f"js consumer: {answer.get('error')}")
        return [
            Seen(
                s["type"],
                s["sequence"],
                s["sourceLanguage"],
                s["payload"] if s["hasPayload"] else NO_DATA,
            )
            for s in answer
        ]


CONSUMERS: dict[str, type[PythonConsumer] | type[LuaConsumer] | type[JsConsumer]] = {
    "python": PythonConsumer,
    "lua": LuaConsumer,
    "javascript": JsConsumer,
}


def consumer_for(language: str) -> Consumer:
    """A fresh consumer written in `language` ("python", "lua" or "javascript")."""
    return CONSUMERS[language]()
