"""Where the runner's non-Python files live, in a checkout and in an installed wheel.

The scenarios, their JSON Schema, the golden vectors and the Lua behaviours are package data:
in a checkout they are `conformance/<name>`, a wheel ships them under
`hookwire/conformance/_share/<name>` (pyproject.toml `force-include`), so
`python -m hookwire.conformance` runs the bundled suite from either.

The JavaScript side (the `js-remote` driver's node worker and the JS event consumer) is not in
the wheel: node runs it from a JS source tree, `js_root()`, a directory holding
`conformance/js/driver_worker.mjs`, `conformance/consumers/event_consumer.mjs` and a
`node_modules` from `npm ci`, where those scripts find the JS SDK and the generated JS bindings
they import (a checkout, or an unpacked source distribution). It is `$HOOKWIRE_JS_ROOT` when set
(the runner's `--js-root`), else the checkout this package runs from, else None;
`js_unavailable()` says why the JS adapters cannot run.

Example:
    >>> (data_dir("scenarios") / "execution").is_dir()
    True
    >>> (data_dir("schema") / "scenario.schema.json").is_file()
    True
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

__all__ = ["JS_ROOT_ENV", "data_dir", "js_root", "js_script", "js_unavailable"]

_HERE = Path(__file__).resolve().parent
_WHEEL = _HERE / "_share"
_CHECKOUT = _HERE.parents[2]  # conformance/hookwire/conformance -> repository root

#: Environment variable naming the JS source tree (the runner's `--js-root`).
JS_ROOT_ENV = "HOOKWIRE_JS_ROOT"

# What a JS source tree must hold for the JS drivers to run.
_JS_NEEDS = (
    "conformance/js/driver_worker.mjs",
    "conformance/consumers/event_consumer.mjs",
    "node_modules/@bufbuild/protobuf",
)


def data_dir(name: str) -> Path:
    """`scenarios`, `schema`, `vectors`, `lua` or `expected-failures`: the wheel's copy, else
    the checkout's."""
    shipped = _WHEEL / name
    return shipped if shipped.is_dir() else _CHECKOUT / "conformance" / name


def js_root() -> Path | None:
    """The JS source tree the JS drivers run from (see the module doc), or None."""
    given = os.environ.get(JS_ROOT_ENV)
    if given:
        return Path(given).resolve()
    return _CHECKOUT if (_CHECKOUT / _JS_NEEDS[0]).is_file() else None


def js_script(relative: str) -> Path:
    """A file of the JS source tree, e.g. `conformance/js/driver_worker.mjs`."""
    root = js_root()
    return (root if root is not None else _CHECKOUT) / relative


def js_unavailable() -> str | None:
    """Why the JS drivers cannot run here (no node, no JS source tree), or None when they can."""
    if shutil.which("node") is None:
        return "node is not on PATH"
    root = js_root()
    if root is None:
        return (
            "the JS SDK and the conformance JS scripts are not installed with this hookwire; "
            f"pass --js-root DIR (or set {JS_ROOT_ENV}): a hookwire source tree after `npm ci`"
        )
    missing = [n for n in _JS_NEEDS if not (root / n).exists()]
    if missing:
        hint = " (run `npm ci` there)" if missing == ["node_modules/@bufbuild/protobuf"] else ""
        return f"the JS source tree {root} lacks {', '.join(missing)}{hint}"
    return None
