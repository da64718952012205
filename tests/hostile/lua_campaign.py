"""A longer campaign over the Lua attack corpus: every attack in several wrappings, both adapters.

Each attack of tests/hostile/test_lua_sandbox.py runs as written (its typed outcome is checked
as in the test) and wrapped: inside `pcall`, inside a coroutine, inside an `__index`
metamethod, inside `load`ed code, and inside a `__close` handler. A wrapped attack may end
differently (a pcall turns an error into a normal return), but it must end within timeout +
100 ms of CPU time, never leak another call's data, and leave the same hook and another hook
working. Prints, per class, attacks tried and contained and the worst CPU time to stop.

Usage (from the repository root):
    python -m tests.hostile.lua_campaign [--adapters embedded,process] [--rounds N]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

from hookwire.runtime.results import Replace

from tests.hostile.test_lua_sandbox import (
    ATTACKS,
    SECRET,
    SLACK_MS,
    TIMEOUT_MS,
    Attack,
    Embedded,
    Target,
    check,
    start_process,
    write_hooks,
)

WRAPPINGS = {
    "pcall": "pcall(function() {body} end)",
    "coroutine": "coroutine.wrap(function() {body} end)()",
    "metamethod": "local _ = setmetatable({{}}, {{__index = function() {body} end}}).x",
    "load": "load([==[ {body} ]==])()",
    "close": "do local _ <close> = setmetatable({{}}, {{__close = function() {body} end}}) end",
}


def variants() -> list[tuple[Attack, bool]]:
    """(attack, exact): the corpus as written (exact outcome) and in every wrapping."""
    out: list[tuple[Attack, bool]] = [(a, True) for a in ATTACKS]
    for wname, template in WRAPPINGS.items():
        for a in ATTACKS:
            body = template.format(body=a.body)
            out.append((Attack(f"{a.name}.{wname}", a.klass, body, a.outcome, a.reason), False))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--adapters", default="embedded,process")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--long", action="store_true", help="at least 5 rounds (nox -s fuzz)")
    args = parser.parse_args(argv)
    if args.long:
        args.rounds = max(args.rounds, 5)
    cases = variants()
    failures: list[str] = []
    for kind in args.adapters.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            directory = write_hooks(Path(tmp), [a for a, _ in cases])
            target: Target | None = (
                Embedded(directory) if kind == "embedded" else start_process(directory)
            )
            if target is None:
                print("process: no Lua interpreter, skipped")
                continue
            tried: dict[str, int] = defaultdict(int)
            held: dict[str, int] = defaultdict(int)
            worst: dict[str, float] = defaultdict(float)
            try:
                for _ in range(args.rounds):
                    for attack, exact in cases:
                        tried[attack.klass] += 1
                        try:
                            target.call("other", {"secret": SECRET})
                            out, cpu_s = target.call(attack.name, {"attack": True})
                            if exact:
                                check(attack, out)
                            assert SECRET not in repr(out), f"leaked: {out!r}"
                            assert cpu_s <= (TIMEOUT_MS + SLACK_MS) / 1000, f"{cpu_s * 1e3:.0f} ms"
                            assert target.call(attack.name, {})[0] == Replace("ok")
                            assert target.call("other", {})[0] == Replace("other")
                        except AssertionError as exc:
                            failures.append(f"{kind} {attack.name}: {exc}")
                            continue
                        held[attack.klass] += 1
                        worst[attack.klass] = max(worst[attack.klass], cpu_s)
            finally:
                target.close()
            print(f"{kind}:")
            print(f"  {'class':14s} {'tried':>6s} {'contained':>9s} {'worst CPU to stop':>18s}")
            for klass in tried:
                print(
                    f"  {klass:14s} {tried[klass]:6d} {held[klass]:9d} "
                    f"{worst[klass] * 1000:15.0f} ms"
                )
    for f in failures:
        print("FAILED", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
