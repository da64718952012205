"""Cross-language decoder agreement: Python (upb), Lua (generated codec, lupa) and JS (generated
wire codec, node) must accept exactly the same bytes, and decode accepted bytes to the same
message.

Python's side is `hookwire.codegen.decode.decode`: upb plus one rule upb lacks (a known field
with the wrong wire type is an error, not a silent drop), which the Lua and JS decoders share.
Unknown fields are left out of the comparison (the Lua codec drops them; upb and JS keep them).
Two differences are known and allowed, both where Python accepts and Lua and JS both refuse
(the safe side: Python re-encodes what it accepted, so nothing it sends carries them):
- upb (and protobuf's pure-Python parser alike) ignores a zero tag, which the protobuf encoding
  forbids, in some places: in a message type without fields (ContinueResult: `00 60`) and inside
  an unknown group;
- the wrong-wire-type rule runs after upb's parse, so it cannot see a field inside a oneof
  member that a later member replaced; Lua and JS refuse it as they read it.

Inputs are mutations of the golden vectors (conformance/vectors): bit flips, bytes set to
varint-relevant values, cuts, inserts, deletes, duplicated slices, varints rewritten in an
overlong form, pieces of other vectors spliced in, and the whole wrapped in a field. Run as a
campaign:

    python tests/hostile/decoders_campaign.py [--long] [--count N] [--seed S]

`nox -s fuzz` runs every tests/hostile/*_campaign.py with --long.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import lupa.lua54
from google.protobuf.message import DecodeError, Message
from hookwire.codegen.decode import decode, message_class

ROOT = Path(__file__).resolve().parents[2]
VECTORS = ROOT / "conformance" / "vectors"
GENERATED_LUA = ROOT / "generated" / "lua"
LUA_DRIVER = ROOT / "tests" / "lua_codec" / "driver.lua"
JS_DRIVER = Path(__file__).with_name("decoder_driver.mjs")

# (accepted, canonical bytes of the decoded message or the error text)
Outcome = tuple[bool, str]


def vectors() -> list[tuple[str, bytes]]:
    """(message full name, valid encoding) of every golden vector."""
    out = []
    for path in sorted(VECTORS.glob("*.json")):
        vector = json.loads(path.read_text())
        out.append((vector["message"], bytes.fromhex(vector["binary_hex"])))
    return out


def _drop_unknown(message: Message) -> None:
    # Innermost first: upb's DiscardUnknownFields stops short of the deepest levels upb accepts.
    for fd, value in message.ListFields():
        if fd.message_type is None:
            continue
        if fd.message_type.GetOptions().map_entry:
            if fd.message_type.fields_by_name["value"].message_type is not None:
                for item in value.values():
                    _drop_unknown(item)
        elif fd.is_repeated:
            for item in value:
                _drop_unknown(item)
        else:
            _drop_unknown(value)
    message.DiscardUnknownFields()


def canonical(name: str, data: bytes) -> str:
    """The deterministic encoding (hex) of `data` parsed as `name`, unknown fields dropped."""
    message = message_class(name).FromString(data)
    _drop_unknown(message)
    return message.SerializeToString(deterministic=True).hex()


def python_outcome(name: str, data: bytes) -> Outcome:
    try:
        message: Message = decode(message_class(name), data)
    except DecodeError as error:
        return False, str(error)
    _drop_unknown(message)
    return True, message.SerializeToString(deterministic=True).hex()


class Lua:
    """The generated Lua codec in a lupa Lua 5.4 state (decode, then encode)."""

    def __init__(self) -> None:
        self.runtime = lupa.lua54.LuaRuntime(encoding=None)
        self.runtime.execute(
            b'package.path = "' + str(GENERATED_LUA).encode() + b'/?.lua;" .. package.path'
        )
        self.handle = self.runtime.execute(LUA_DRIVER.read_bytes())[b"handle"]

    def outcome(self, name: str, data: bytes) -> Outcome:
        descriptor = message_class(name).DESCRIPTOR
        module = descriptor.file.name.removesuffix(".proto").replace("/", ".")
        key = descriptor.full_name[len(descriptor.file.package) + 1 :].replace(".", "_")
        ok, out = self.handle(b"bin2bin", module.encode(), key.encode(), data)
        if not ok:
            text = out.decode(errors="replace") if isinstance(out, bytes) else str(out)
            # the codec's own errors name the message; anything else is a bug in the codec
            if not text.startswith(("hookwire.", "google.")):
                raise AssertionError(f"Lua {name} {data.hex()}: internal error {text!r}")
            return False, text
        return True, canonical(name, bytes(out))


class Js:
    """The generated JS wire codecs in one node process (decode, then encode), fed in batches."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            ["node", str(JS_DRIVER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )

    def outcomes(self, cases: Sequence[tuple[str, bytes]]) -> list[Outcome]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        # One batch written while a thread-free read keeps up: answers are one line each and the
        # pipe buffers hold a batch of the sizes used here.
        out: list[Outcome] = []
        for start in range(0, len(cases), 200):
            batch = cases[start : start + 200]
            self.proc.stdin.write("".join(f"{n}\t{d.hex()}\n" for n, d in batch))
            self.proc.stdin.flush()
            for name, data in batch:
                status, _, rest = self.proc.stdout.readline().rstrip("\n").partition("\t")
                if status == "ok":
                    out.append((True, canonical(name, bytes.fromhex(rest))))
                elif status == "err" and rest.startswith("WireError: "):
                    out.append((False, rest))
                else:
                    raise AssertionError(f"JS {name} {data.hex()}: {status} {rest!r}")
        return out

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@dataclass
class Disagreement:
    name: str
    data: bytes
    python: Outcome
    lua: Outcome
    js: Outcome

    def __str__(self) -> str:
        def show(o: Outcome) -> str:
            return ("accepts " if o[0] else "rejects ") + o[1][:120]

        return (
            f"{self.name} {self.data.hex()}\n  python {show(self.python)}\n"
            f"  lua    {show(self.lua)}\n  js     {show(self.js)}"
        )


def known_difference(py: Outcome, lua: Outcome, js: Outcome) -> str | None:
    """Why this disagreement is one of the two allowed ones (see the module doc), or None."""
    if not py[0] or lua[0] or js[0]:
        return None
    if "invalid field number 0" in lua[1] and "field number 0" in js[1]:
        return "upb ignores a zero tag in some places"
    if "wrong wire type" in lua[1] and (
        "is not valid for this field" in js[1] or "has wrong wire type" in js[1]
    ):
        return "a wrong wire type inside a replaced oneof member"
    return None


class Decoders:
    """All three decoders, compared on batches of inputs."""

    def __init__(self) -> None:
        self.lua = Lua()
        self.js = Js()

    def close(self) -> None:
        self.js.close()

    def compare(self, cases: Sequence[tuple[str, bytes]]) -> tuple[int, list[Disagreement]]:
        """(how many of the cases Python accepted, the cases where the decoders disagree)."""
        js = self.js.outcomes(cases)
        accepted = 0
        bad = []
        for (name, data), js_outcome in zip(cases, js, strict=True):
            py = python_outcome(name, data)
            lua = self.lua.outcome(name, data)
            accepted += py[0]
            if not py[0] and not lua[0] and not js_outcome[0]:
                continue
            if py == lua == js_outcome or known_difference(py, lua, js_outcome):
                continue
            bad.append(Disagreement(name, data, py, lua, js_outcome))
        return accepted, bad


def _overlong(data: bytearray, at: int, rng: random.Random) -> None:
    """Rewrite the varint ending at the first byte < 0x80 from `at` with extra 0x80 bytes."""
    end = at
    while end < len(data) and data[end] >= 0x80:
        end += 1
    if end >= len(data):
        return
    pad = rng.choice([1, 2, 4, 5, 6, 9])
    last = data[end]
    data[end : end + 1] = bytes([last | 0x80]) + b"\x80" * (pad - 1) + b"\x00"


def _len_field(number: int, payload: bytes) -> bytes:
    out = bytearray([number << 3 | 2])
    n = len(payload)
    while n > 0x7F:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out) + payload


def mutate(rng: random.Random, data: bytes, others: Sequence[bytes] = ()) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        kind = rng.randrange(10)
        if kind == 8 and others:
            # splice in a piece of another vector: real fields in foreign places
            other = rng.choice(others)
            start = rng.randrange(len(other)) if other else 0
            at = rng.randrange(len(out) + 1)
            out[at:at] = other[start : start + rng.randint(1, 24)]
            continue
        if kind == 9:
            # wrap everything in a length-delimited field: new nesting, known or unknown
            out = bytearray(_len_field(rng.randint(1, 16), bytes(out)))
            continue
        at = rng.randrange(len(out)) if out else 0
        if kind == 0 and out:
            out[at] ^= 1 << rng.randrange(8)
        elif kind == 1 and out:
            out[at] = rng.choice([0x00, 0x01, 0x0F, 0x10, 0x7F, 0x80, 0xFF, 0x0B, 0x0C, 0x20])
        elif kind == 2:
            del out[at:]
        elif kind == 3:
            out[at:at] = rng.randbytes(rng.randint(1, 4))
        elif kind == 4 and out:
            del out[at : at + rng.randint(1, 3)]
        elif kind == 5 and out:
            n = rng.randint(1, 8)
            out[at:at] = out[at : at + n]
        else:
            _overlong(out, at, rng)
    return bytes(out)


def cases(seed: int, count: int) -> Iterator[tuple[str, bytes]]:
    rng = random.Random(seed)
    base = vectors()
    others = [data for _, data in base]
    for _ in range(count):
        name, data = rng.choice(base)
        yield name, mutate(rng, data, others)


def run(seed: int, count: int, progress: bool = False) -> tuple[int, int, list[Disagreement]]:
    """Compare `count` mutated inputs; returns (tried, accepted by all, disagreements)."""
    decoders = Decoders()
    tried = accepted = 0
    bad: list[Disagreement] = []
    started = time.monotonic()
    try:
        batch: list[tuple[str, bytes]] = []
        for case in cases(seed, count):
            batch.append(case)
            if len(batch) == 1000:
                n, b = decoders.compare(batch)
                tried, accepted = tried + len(batch), accepted + n
                bad += b
                batch = []
                if progress:
                    print(
                        f"decoders: {tried}/{count} inputs, {accepted} accepted, "
                        f"{len(bad)} disagreements, {time.monotonic() - started:.0f} s",
                        flush=True,
                    )
        if batch:
            n, b = decoders.compare(batch)
            tried, accepted = tried + len(batch), accepted + n
            bad += b
    finally:
        decoders.close()
    return tried, accepted, bad


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--long", action="store_true", help="a long campaign (2,000,000 inputs)")
    parser.add_argument("--count", type=int, default=None, help="how many inputs to try")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: time)")
    args = parser.parse_args(argv)
    count = args.count if args.count is not None else 2_000_000 if args.long else 20_000
    seed = args.seed if args.seed is not None else int(time.time())
    print(f"decoders: seed {seed}, {count} inputs", flush=True)
    tried, accepted, bad = run(seed, count, progress=True)
    for d in bad[:20]:
        print(d)
    print(f"decoders: {tried} tried, {accepted} accepted, {len(bad)} disagreements")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
