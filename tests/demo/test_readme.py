"""The README's Python example runs and does what its comments say."""

from __future__ import annotations

import re
from pathlib import Path

from hookwire.runtime import Cancel, Outcome

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_python_example_runs() -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert blocks, "the README lost its Python example"
    scope: dict[str, object] = {}
    exec(compile(blocks[0], str(README), "exec"), scope)
    run = scope["run"]
    assert run.result == Cancel("rm is not allowed")  # type: ignore[attr-defined]
    assert [(e.hook_name, e.outcome) for e in run.trace] == [  # type: ignore[attr-defined]
        ("redact", Outcome.MODIFIED),
        ("guard", Outcome.CANCEL),
    ]
