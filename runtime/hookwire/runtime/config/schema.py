"""The configuration file's JSON Schema (hookwire.schema.json, shipped in the package) and the
validator that applies it.

The schema is the one definition of the format: `hookwire check-config` and `hookwire serve`
validate against it before anything starts, and editors or CI can use the same file with any
JSON Schema tool. The validator below implements the subset of draft 2020-12 the schema uses
(type, properties, required, additionalProperties, items, enum, minimum/maximum,
exclusiveMinimum, minLength/maxLength, minItems, pattern, $ref to $defs), so the runtime needs
no jsonschema dependency; a test checks it agrees with the jsonschema package.

Example:
    >>> for error in validate({"server": {"port": "x"}, "hookz": 1}):
    ...     print(error)
    hookz: unknown key (expected one of: bus, features, hooks, python_path, server)
    server.port: must be an integer, got 'x'
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

__all__ = ["SCHEMA_PATH", "SchemaError", "schema", "validate"]

SCHEMA_PATH = Path(__file__).with_name("hookwire.schema.json")

_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
}
_ARTICLE = {"object": "a table", "array": "an array", "integer": "an integer"}


class SchemaError:
    """One violation: the key path ("hooks.python[0].priority") and the reason."""

    __slots__ = ("path", "reason")

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}" if self.path else self.reason

    def __repr__(self) -> str:
        return f"SchemaError({self.path!r}, {self.reason!r})"


@cache
def schema() -> dict[str, Any]:
    """The published schema as a dict."""
    loaded: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return loaded


def validate(instance: Any, root: dict[str, Any] | None = None) -> list[SchemaError]:
    """Every violation of the schema by `instance`, in key order (empty list: valid)."""
    root = root if root is not None else schema()
    errors: list[SchemaError] = []
    _check(instance, root, root, "", errors)
    return errors


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _is(value: Any, t: str) -> bool:
    if isinstance(value, bool) and t != "boolean":
        return False
    return isinstance(value, _TYPES[t])


def _check(
    v: Any, s: dict[str, Any], root: dict[str, Any], path: str, out: list[SchemaError]
) -> None:
    ref = s.get("$ref")
    if ref is not None:
        target: Any = root
        for part in ref.removeprefix("#/").split("/"):
            target = target[part]
        s = target
    t = s.get("type")
    if t is not None and not _is(v, t):
        out.append(SchemaError(path, f"must be {_ARTICLE.get(t, 'a ' + t)}, got {v!r}"))
        return
    if "enum" in s and v not in s["enum"]:
        choices = ", ".join(json.dumps(c) for c in s["enum"])
        out.append(SchemaError(path, f"must be one of {choices}, got {v!r}"))
        return
    if isinstance(v, dict):
        props: dict[str, Any] = s.get("properties", {})
        for key in s.get("required", ()):
            if key not in v:
                out.append(SchemaError(_join(path, key), "is required"))
        extra = s.get("additionalProperties", True)
        for key in sorted(v):
            sub = props.get(key)
            if sub is not None:
                _check(v[key], sub, root, _join(path, key), out)
            elif extra is False:
                known = ", ".join(sorted(props))
                out.append(SchemaError(_join(path, key), f"unknown key (expected one of: {known})"))
            elif isinstance(extra, dict):
                _check(v[key], extra, root, _join(path, key), out)
    elif isinstance(v, list):
        if len(v) < s.get("minItems", 0):
            out.append(SchemaError(path, f"needs at least {s['minItems']} item(s)"))
        items = s.get("items")
        if items is not None:
            for i, item in enumerate(v):
                _check(item, items, root, f"{path}[{i}]", out)
    elif isinstance(v, str):
        if len(v) < s.get("minLength", 0):
            out.append(SchemaError(path, "must not be empty"))
        elif "maxLength" in s and len(v) > s["maxLength"]:
            out.append(SchemaError(path, f"must be at most {s['maxLength']} characters"))
        elif "pattern" in s and not re.search(s["pattern"], v):
            out.append(SchemaError(path, f"must match {s['pattern']}, got {v!r}"))
    elif isinstance(v, (int, float)) and not isinstance(v, bool):
        if "minimum" in s and v < s["minimum"]:
            out.append(SchemaError(path, f"must be >= {s['minimum']}, got {v!r}"))
        elif "exclusiveMinimum" in s and v <= s["exclusiveMinimum"]:
            out.append(SchemaError(path, f"must be > {s['exclusiveMinimum']}, got {v!r}"))
        elif "maximum" in s and v > s["maximum"]:
            out.append(SchemaError(path, f"must be <= {s['maximum']}, got {v!r}"))
