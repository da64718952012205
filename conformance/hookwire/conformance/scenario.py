"""The typed form of a scenario file (validated JSON in, frozen dataclasses out).

The JSON Schema (conformance/schema/scenario.schema.json) checks the shape; `loader.py` then
builds these objects and checks what a schema cannot say (unique names, steps that name
declared hooks). Durations stay in milliseconds here, as written.

Example:
    >>> b = Behaviour.parse([{"returnsNothing": True}, {"raises": "boom"}])
    >>> [b.step_for(n).raises for n in range(4)]
    [None, 'boom', 'boom', 'boom']
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Behaviour", "CallStep", "CompositeDef", "HookDef", "NestedExecute", "Scenario"]

# Named priority levels of docs/semantics.md section 2 (also proto hookwire.v1.Priority).
PRIORITY_LEVELS: dict[str, int] = {
    "HIGHEST": -(2**31),
    "HIGH": -100,
    "NORMAL": 0,
    "LOW": 100,
    "LOWEST": 2**31 - 1,
}


@dataclass(frozen=True, slots=True)
class NestedExecute:
    """A nested execution a hook runs through the executor during one of its calls."""

    point: str
    context: dict[str, Any]
    expect: dict[str, Any]
    #: `{code, messageContains}`: the nested execution must be refused with this error.
    refused: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class CallStep:
    """What one call of a hook does: side effects in field order, then how it ends.

    Exactly one of `returns` (plain JSON result), `raises` (message), `returns_invalid` is set,
    or none of them: the call returns nothing (CONTINUE by the language's convention).
    """

    advance_ms: float = 0
    record: bool = False
    publish: tuple[dict[str, Any], ...] = ()
    execute: NestedExecute | None = None
    returns: dict[str, Any] | None = None
    raises: str | None = None
    returns_invalid: bool = False

    @staticmethod
    def parse(raw: dict[str, Any]) -> CallStep:
        nested = raw.get("execute")
        return CallStep(
            advance_ms=raw.get("advanceMs", 0),
            record=raw.get("record", False),
            publish=tuple(raw.get("publish", ())),
            execute=None
            if nested is None
            else NestedExecute(
                nested["point"],
                nested.get("context", {}),
                nested.get("expect", {}),
                nested.get("refused"),
            ),
            returns=raw.get("returns"),
            raises=raw.get("raises"),
            returns_invalid=raw.get("returnsInvalid", False),
        )


@dataclass(frozen=True, slots=True)
class Behaviour:
    """A hook's per-call steps: call n (0-based) does step n; then `repeat` decides.

    `repeat="last"` (default) repeats the last step forever; `"cycle"` starts over.
    """

    calls: tuple[CallStep, ...]
    repeat: str = "last"

    @staticmethod
    def parse(raw: list[dict[str, Any]] | dict[str, Any]) -> Behaviour:
        if isinstance(raw, list):
            return Behaviour(tuple(CallStep.parse(c) for c in raw))
        return Behaviour(tuple(CallStep.parse(c) for c in raw["calls"]), raw.get("repeat", "last"))

    def step_for(self, call_index: int) -> CallStep:
        """The step for the hook's call number `call_index` (0-based)."""
        n = len(self.calls)
        if call_index < n:
            return self.calls[call_index]
        return self.calls[call_index % n] if self.repeat == "cycle" else self.calls[-1]

    def suspends(self) -> bool:
        """True when some step has a side effect that an async hook performs by awaiting."""
        return any(c.advance_ms or c.execute is not None for c in self.calls)


@dataclass(frozen=True, slots=True)
class CompositeDef:
    """A composite hook's kind, options and children (docs/semantics.md section 6)."""

    kind: str
    children: tuple[HookDef, ...]
    threshold: float | None = None
    tie_breaker: str | None = None


@dataclass(frozen=True, slots=True)
class HookDef:
    """One declared hook (or composite child) with its registration options.

    `point` is the parent's point for a composite child. Durations are milliseconds;
    `breaker` holds the overrides as written (lowerCamelCase keys).
    """

    name: str
    point: str
    priority: int = 0
    timeout_ms: float = 100
    failure_policy: str = "FAIL_OPEN"
    breaker: dict[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    feature: str | None = None
    enabled: bool = True
    registered: bool = True
    behaviour: Behaviour | None = None
    composite: CompositeDef | None = None
    #: Declared honoured result kinds of its custom point (None: not declared).
    honours: tuple[str, ...] | None = None

    @staticmethod
    def parse(raw: dict[str, Any], point: str | None = None) -> HookDef:
        prio = raw.get("priority", 0)
        where = raw.get("point", point)
        assert where is not None  # the schema requires a point on top-level hooks
        comp = raw.get("composite")
        return HookDef(
            name=raw["name"],
            point=where,
            priority=PRIORITY_LEVELS[prio] if isinstance(prio, str) else prio,
            timeout_ms=raw.get("timeoutMs", 100),
            failure_policy=raw.get("failurePolicy", "FAIL_OPEN"),
            breaker=dict(raw.get("breaker", {})),
            tags=tuple(raw.get("tags", ())),
            feature=raw.get("feature"),
            enabled=raw.get("enabled", True),
            registered=raw.get("registered", True),
            behaviour=Behaviour.parse(raw["behaviour"]) if "behaviour" in raw else None,
            composite=None
            if comp is None
            else CompositeDef(
                kind=comp["kind"],
                children=tuple(HookDef.parse(c, where) for c in comp["children"]),
                threshold=comp.get("threshold"),
                tie_breaker=comp.get("tieBreaker"),
            ),
            honours=tuple(raw["honours"]) if "honours" in raw else None,
        )

    def walk(self) -> list[HookDef]:
        """This hook and, for a composite, every descendant, depth first."""
        out = [self]
        if self.composite is not None:
            for child in self.composite.children:
                out.extend(child.walk())
        return out


@dataclass(frozen=True, slots=True)
class Scenario:
    """A validated scenario: its hooks and the raw (schema-checked) steps."""

    id: str
    description: str
    spec: tuple[str, ...]
    hooks: tuple[HookDef, ...]
    subscriptions: tuple[dict[str, Any], ...]
    steps: tuple[dict[str, Any], ...]
    source: Path
    bus: dict[str, Any] = field(default_factory=dict)
    #: "required" (every adapter must pass) or "recommended" (see conformance/README.md).
    level: str = "required"

    def hook(self, name: str) -> HookDef:
        """The top-level hook declared under `name` (KeyError if none)."""
        for h in self.hooks:
            if h.name == name:
                return h
        raise KeyError(name)
