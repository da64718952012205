"""Find, validate and parse scenario files.

Every `*.json` under each directory (recursively) is one scenario. A file that is not JSON,
breaks the schema, or names an undeclared hook is rejected with a `ScenarioError` naming the
file and the JSON path of the offending field.

Example:
    >>> import json, tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "bad.json").write_text(json.dumps({"id": "x", "description": "d",
    ...     "spec": "SEMANTICS 2", "steps": [{"advanceMs": "soon"}]}))
    >>> try:
    ...     load_scenarios([d])
    ... except ScenarioError as e:
    ...     print(e.json_path, "|", e.reason)
    $.steps[0].advanceMs | 'soon' is not of type 'number'
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from hookwire.conformance.scenario import HookDef, Scenario
from hookwire.conformance.share import data_dir

__all__ = ["DEFAULT_SCENARIO_DIR", "SCHEMA_PATH", "ScenarioError", "load_scenarios", "schema"]

SCHEMA_PATH = data_dir("schema") / "scenario.schema.json"
DEFAULT_SCENARIO_DIR = data_dir("scenarios")

# Steps whose value names a top-level hook.
_NAME_STEPS = ("resetBreaker", "enable", "disable", "unregister", "register")


class ScenarioError(Exception):
    """A scenario file that cannot be used: `file: $.json.path: reason`."""

    def __init__(self, file: Path, json_path: str, reason: str) -> None:
        self.file = file
        self.json_path = json_path
        self.reason = reason
        super().__init__(f"{_display(file)}: {json_path}: {reason}")


def _display(path: Path) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)
    return str(path) if rel.startswith("..") else rel


@cache
def schema() -> dict[str, Any]:
    """The published scenario schema (draft 2020-12)."""
    loaded: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return loaded


@cache
def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(schema())


def _json_path(parts: Iterable[Any]) -> str:
    out = "$"
    for p in parts:
        out += (
            f"[{p}]" if isinstance(p, int) else (f".{p}" if str(p).isidentifier() else f"[{p!r}]")
        )
    return out


def _deepest(error: jsonschema.ValidationError) -> jsonschema.ValidationError:
    """The most specific cause: descend into oneOf/anyOf contexts along the longest path."""
    best = jsonschema.exceptions.best_match([error])
    while best.context:
        deeper = jsonschema.exceptions.best_match(best.context)
        if len(deeper.absolute_path) < len(best.absolute_path):
            break
        best = deeper
    return best


def _step_actions() -> tuple[str, ...]:
    one_of = schema()["$defs"]["step"]["oneOf"]
    return tuple(alt["required"][0] for alt in one_of)


def _check_step_actions(raw: Any, file: Path) -> None:
    """Say which action keys a step has (the schema's oneOf would only say "not valid")."""
    steps = raw.get("steps") if isinstance(raw, dict) else None
    if not isinstance(steps, list):
        return
    actions = _step_actions()
    for i, step in enumerate(steps):
        if not isinstance(step, dict):
            continue
        present = [k for k in step if k in actions]
        if len(present) != 1:
            found = f"found {present}" if present else f"found none among {sorted(step)}"
            raise ScenarioError(
                file, f"$.steps[{i}]", f"needs exactly one of {', '.join(actions)}; {found}"
            )


def validate(raw: Any, file: Path) -> None:
    """Raise ScenarioError for the first (most specific) schema violation in `raw`."""
    _check_step_actions(raw, file)
    errors = sorted(_validator().iter_errors(raw), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        err = _deepest(jsonschema.exceptions.best_match(errors))
        message = err.message
        if err.validator == "not" and isinstance(err.validator_value, dict):
            # The schema words these rules in a $comment; the generic message dumps the schema.
            message = f"{err.validator_value.get('$comment', 'conflicting members')}"
            message += (
                f", got {sorted(err.instance) if isinstance(err.instance, dict) else err.instance}"
            )
        raise ScenarioError(file, _json_path(err.absolute_path), message)


def _qualified_names(hook: HookDef, prefix: str = "") -> list[str]:
    """`hook`'s name and, for a composite, its descendants' qualified names ("guard/flaky")."""
    name = prefix + hook.name
    out = [name]
    if hook.composite is not None:
        for child in hook.composite.children:
            out.extend(_qualified_names(child, name + "/"))
    return out


def parse(raw: dict[str, Any], file: Path) -> Scenario:
    """Validate `raw` and build the Scenario, checking names the schema cannot check."""
    validate(raw, file)
    hooks = tuple(HookDef.parse(h) for h in raw.get("hooks", ()))
    seen: dict[str, str] = {}
    for i, top in enumerate(hooks):
        for h in top.walk():
            where = f"$.hooks[{i}]" + ("" if h is top else " (composite child)")
            if h.name in seen:
                raise ScenarioError(
                    file, where + ".name", f"hook name {h.name!r} is declared twice"
                )
            seen[h.name] = where
    top_names = {h.name for h in hooks}
    qualified = {q for h in hooks for q in _qualified_names(h)}
    for i, step in enumerate(raw["steps"]):
        for key in _NAME_STEPS:
            # Only a declared hook can be registered; the others may name an unknown hook on
            # purpose when they expect NOT_FOUND. A breaker is also named by its qualified
            # name ("guard/flaky": child `flaky` of composite `guard`).
            lenient = key != "register" and "expectError" in step
            names = qualified if key == "resetBreaker" else top_names
            if key in step and step[key] not in names and not lenient:
                raise ScenarioError(
                    file, f"$.steps[{i}].{key}", f"{step[key]!r} is not a declared hook"
                )
    _check_subscription_ids(raw, file)
    return Scenario(
        id=raw["id"],
        description=raw["description"],
        spec=tuple([raw["spec"]] if isinstance(raw["spec"], str) else raw["spec"]),
        hooks=hooks,
        subscriptions=tuple(raw.get("subscriptions", ())),
        steps=tuple(raw["steps"]),
        source=file,
        bus=dict(raw.get("bus", {})),
        level=raw.get("level", "required"),
    )


def _check_subscription_ids(raw: dict[str, Any], file: Path) -> None:
    """Subscription ids are unique, and bus expectations name one opened before them."""
    known: set[str] = set()
    for i, sub in enumerate(raw.get("subscriptions", ())):
        if sub["id"] in known:
            raise ScenarioError(
                file, f"$.subscriptions[{i}].id", f"subscription id {sub['id']!r} is used twice"
            )
        known.add(sub["id"])
    for i, step in enumerate(raw["steps"]):
        if "subscribe" in step:
            sid = step["subscribe"]["id"]
            if sid in known:
                raise ScenarioError(
                    file, f"$.steps[{i}].subscribe.id", f"subscription id {sid!r} is used twice"
                )
            if "expectError" not in step:
                known.add(sid)
        names: list[tuple[str, str]] = []
        if "expectDelivered" in step:
            names.append((".expectDelivered.subscription", step["expectDelivered"]["subscription"]))
        for name in step.get("expectBusStats", {}):
            names.append((f".expectBusStats.{name}", name))
        for where, name in names:
            if name not in known:
                raise ScenarioError(
                    file,
                    f"$.steps[{i}]{where}",
                    f"{name!r} is not a subscription opened before this step",
                )


def load_file(file: Path) -> Scenario:
    """Load one scenario file."""
    try:
        raw = json.loads(file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ScenarioError(file, "$", f"not valid JSON: {e.msg} at line {e.lineno}") from e
    except OSError as e:
        raise ScenarioError(file, "$", f"cannot read: {e.strerror}") from e
    return parse(raw, file)


def load_scenarios(dirs: Sequence[Path]) -> list[Scenario]:
    """Every `*.json` under each directory, recursively, sorted by path; ids must be unique."""
    out: list[Scenario] = []
    by_id: dict[str, Path] = {}
    for d in dirs:
        if not d.is_dir():
            raise ScenarioError(d, "$", "scenario directory does not exist")
        for file in sorted(d.rglob("*.json")):
            sc = load_file(file)
            if sc.id in by_id and by_id[sc.id] != file:
                raise ScenarioError(
                    file, "$.id", f"id {sc.id!r} is already used by {_display(by_id[sc.id])}"
                )
            by_id[sc.id] = file
            out.append(sc)
    return out
