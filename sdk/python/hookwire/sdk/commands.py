"""The operator commands of the `hookwire` command line, on top of the Python client.

`hookwire hooks`, `breakers`, `exec`, `publish`, `tail` talk to a running server (address,
token and TLS from flags or `HOOKWIRE_*` environment variables); `replay` reads a recording.
Each prints a table, or JSON with `--json`, and returns the exit status: 0 ok, 1 the server
said no (or could not be reached), 2 bad usage (argparse's own status for bad flags).

Example:
    $ hookwire exec before_tool_execution --data '{"tool": "search"}'
    result: CONTINUE
    data:   {"tool": "search"}
    HOOK   LANGUAGE  OUTCOME   REASON  DURATION_MS  SLOW  BREAKER
    audit  python    CONTINUE          0.012        no    CLOSED
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

import grpc
from hookwire.runtime.bus.event import NO_DATA, Event
from hookwire.runtime.errors import HookwireError
from hookwire.runtime.results import HookResult
from hookwire.runtime.trace import Execution
from hookwire.runtime.wire.registration import spec_from_proto
from hookwire.sdk.client import Client, Subscription, event

__all__ = ["EXIT_OK", "EXIT_REFUSED", "EXIT_USAGE", "add_commands", "result_to_json"]

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2
DEFAULT_ADDRESS = "127.0.0.1:50051"


class UsageError(Exception):
    """A command's argument is unusable (exit status 2)."""


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"HOOKWIRE_{name}", default)


def add_client_flags(p: argparse.ArgumentParser) -> None:
    """--address/--token/--token-file/--tls*/--timeout/--json, defaulting to HOOKWIRE_* vars."""
    g = p.add_argument_group("connection (defaults from HOOKWIRE_* environment variables)")
    g.add_argument(
        "--address",
        default=_env("ADDRESS", DEFAULT_ADDRESS),
        help=f"server host:port (default: $HOOKWIRE_ADDRESS or {DEFAULT_ADDRESS})",
    )
    g.add_argument("--token", default=_env("TOKEN"), help="bearer token ($HOOKWIRE_TOKEN)")
    g.add_argument(
        "--token-file",
        default=_env("TOKEN_FILE"),
        help="file holding the token ($HOOKWIRE_TOKEN_FILE)",
    )
    g.add_argument(
        "--tls",
        action="store_true",
        default=_env("TLS", "") not in ("", "0", "false"),
        help="use TLS with the system roots ($HOOKWIRE_TLS=1)",
    )
    g.add_argument(
        "--tls-ca",
        default=_env("TLS_CA"),
        help="PEM root certificate(s); implies --tls ($HOOKWIRE_TLS_CA)",
    )
    g.add_argument(
        "--tls-server-name",
        default=_env("TLS_SERVER_NAME"),
        help="name to verify the certificate against ($HOOKWIRE_TLS_SERVER_NAME)",
    )
    g.add_argument("--timeout", type=float, default=10.0, help="per-call deadline in seconds")
    p.add_argument("--json", action="store_true", help="print JSON for scripts")


def connect(args: argparse.Namespace, traceparent: str = "") -> Client:
    """A Client from the connection flags (UsageError naming a flag that cannot be used)."""
    token = args.token
    if args.token_file:
        try:
            token = Path(args.token_file).read_text().strip()
        except OSError as exc:
            raise UsageError(
                f"--token-file: cannot read {args.token_file!r}: {exc.strerror}"
            ) from None
    ca = None
    if args.tls_ca:
        try:
            ca = Path(args.tls_ca).read_bytes()
        except OSError as exc:
            raise UsageError(f"--tls-ca: cannot read {args.tls_ca!r}: {exc.strerror}") from None
    return Client(
        args.address,
        token=token or None,
        tls=args.tls,
        tls_root_cert=ca,
        tls_server_name=args.tls_server_name,
        traceparent=traceparent,
    )


# -- output ------------------------------------------------------------------------------------


def table(rows: Sequence[Sequence[Any]], headers: Sequence[str], out: TextIO) -> None:
    """Columns aligned on the widest cell (no trailing spaces)."""
    cells = [list(map(str, headers)), *([str(c) for c in r] for r in rows)]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    for r in cells:
        out.write("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() + "\n")


def result_to_json(result: HookResult) -> dict[str, Any]:
    """A result as plain JSON: its kind and its fields.

    Example:
        >>> from hookwire.runtime.results import Modified
        >>> result_to_json(Modified({"n": 1}))
        {'kind': 'MODIFIED', 'data': {'n': 1}}
    """
    return {"kind": result.kind.value, **dataclasses.asdict(result)}


def _dump(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(", ", ": "))


def _parse_json(text: str, flag: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{flag}: not valid JSON: {exc.msg} at character {exc.pos}") from None
    except RecursionError:  # far deeper than any limit the server would accept anyway
        raise UsageError(f"{flag}: JSON nested too deeply to read") from None


# -- commands ----------------------------------------------------------------------------------


def cmd_hooks(args: argparse.Namespace, out: TextIO) -> int:
    with connect(args) as client:
        regs = client.list_hooks(args.point, timeout=args.timeout)
        states = client.breaker_states(timeout=args.timeout)
    # Grouped by point, each point's chain in call order (the server's order).
    specs = sorted((spec_from_proto(r) for r in regs), key=lambda s: s.point)
    if args.json:
        out.write(
            json.dumps(
                [
                    {
                        "name": s.name,
                        "point": s.point,
                        "priority": s.priority,
                        "language": s.language,
                        "timeout_ms": s.timeout_ns / 1e6,
                        "failure_policy": s.failure_policy.value,
                        "enabled": s.enabled,
                        "tags": sorted(s.tags),
                        "feature": s.feature,
                        "breaker": states[s.name].state.value if s.name in states else None,
                    }
                    for s in specs
                ],
                indent=2,
            )
            + "\n"
        )
        return EXIT_OK
    rows = [
        (
            s.point,
            s.name,
            s.language,
            s.priority,
            f"{s.timeout_ns / 1e6:g}",
            s.failure_policy.value,
            states[s.name].state.value if s.name in states else "-",
            "yes" if s.enabled else "no",
            s.feature or "",
        )
        for s in specs
    ]
    headers = ("POINT", "HOOK", "LANGUAGE", "PRIORITY", "TIMEOUT_MS", "POLICY", "BREAKER")
    table(rows, (*headers, "ENABLED", "FEATURE"), out)
    return EXIT_OK


def cmd_breakers(args: argparse.Namespace, out: TextIO) -> int:
    with connect(args) as client:
        if args.reset:
            client.reset_breaker(args.reset, timeout=args.timeout)
            states = client.breaker_states(args.reset, timeout=args.timeout)
        else:
            states = client.breaker_states(timeout=args.timeout)
    if args.json:
        out.write(
            json.dumps(
                {
                    name: {
                        "state": st.state.value,
                        "window_calls": st.window_calls,
                        "window_failures": st.window_failures,
                        "window_slow": st.window_slow,
                    }
                    for name, st in sorted(states.items())
                },
                indent=2,
            )
            + "\n"
        )
        return EXIT_OK
    rows = [
        (name, st.state.value, st.window_calls, st.window_failures, st.window_slow)
        for name, st in sorted(states.items())
    ]
    table(rows, ("HOOK", "STATE", "CALLS", "FAILURES", "SLOW"), out)
    return EXIT_OK


def _execution_json(ex: Execution) -> dict[str, Any]:
    return {
        "result": result_to_json(ex.result),
        "data": ex.context.data,
        "trace": [{**t.to_json(), "language": t.language} for t in ex.trace],
    }


def cmd_exec(args: argparse.Namespace, out: TextIO) -> int:
    data = _parse_json(args.data, "--data")
    if not isinstance(data, dict):
        raise UsageError(f"--data: must be a JSON object, got {type(data).__name__}")
    with connect(args, traceparent=args.traceparent or "") as client:
        ex = client.execute(args.point, data, timeout=args.timeout)
    if args.json:
        out.write(json.dumps(_execution_json(ex), indent=2) + "\n")
        return EXIT_OK
    res = result_to_json(ex.result)
    kind = res.pop("kind")
    out.write(f"result: {kind}" + (f" {_dump(res)}" if res else "") + "\n")
    out.write(f"data:   {_dump(ex.context.data)}\n")
    rows = [
        (
            t.hook_name,
            t.language,
            t.outcome.value,
            t.reason,
            f"{t.duration_ns / 1e6:.3f}",
            "yes" if t.slow else "no",
            t.breaker_state.value,
        )
        for t in ex.trace
    ]
    table(rows, ("HOOK", "LANGUAGE", "OUTCOME", "REASON", "DURATION_MS", "SLOW", "BREAKER"), out)
    return EXIT_OK


def cmd_publish(args: argparse.Namespace, out: TextIO) -> int:
    payload = _parse_json(args.payload, "PAYLOAD") if args.payload is not None else None
    with connect(args) as client:
        [seq] = client.publish(
            [event(args.type, payload, source=args.source, correlation_id=args.correlation_id)],
            timeout=args.timeout,
        )
    out.write(
        (json.dumps({"sequence": seq}) if args.json else f"published {args.type} #{seq}") + "\n"
    )
    return EXIT_OK


def event_to_json(ev: Event) -> dict[str, Any]:
    """A received event as plain JSON (payload omitted when the event has none)."""
    d: dict[str, Any] = {"sequence": ev.sequence, "type": ev.type, "id": ev.id}
    if ev.time_ns is not None:
        d["time_ns"] = ev.time_ns
    for k in ("source", "correlation_id", "traceparent"):
        v = getattr(ev, k)
        if v:
            d[k] = v
    if ev.metadata:
        d["metadata"] = dict(ev.metadata)
    if ev.payload is not NO_DATA:
        d["payload"] = ev.payload
    return d


def cmd_tail(
    args: argparse.Namespace, out: TextIO, sleep: Callable[[float], None] = time.sleep
) -> int:
    """Follow the stream; after a dropped connection, resume after the last event printed (or
    live again if none was), until interrupted or `--count` events were printed."""
    state = Subscription()
    printed = 0
    seq = args.from_seq
    while True:
        try:
            with connect(args) as client:
                for ev in client.subscribe(
                    args.patterns, from_sequence=seq, state=state, resume=False
                ):
                    if args.json:
                        out.write(json.dumps(event_to_json(ev)) + "\n")
                    else:
                        payload = "" if ev.payload is NO_DATA else _dump(ev.payload)
                        out.write(f"#{ev.sequence} {ev.type} {payload}".rstrip() + "\n")
                    out.flush()
                    printed += 1
                    if args.count and printed >= args.count:
                        return EXIT_OK
            return EXIT_OK
        except HookwireError as exc:
            if exc.code not in ("UNAVAILABLE", "INTERNAL", "CANCELLED"):
                raise
            seq = state.last_sequence + 1 if state.last_sequence else seq
            state.reconnects += 1
            print(
                f"hookwire tail: connection lost ({exc}); reconnecting from #{seq or 'live'}",
                file=sys.stderr,
                flush=True,
            )
            sleep(min(0.2 * state.reconnects, 2.0))


def cmd_replay(args: argparse.Namespace, out: TextIO) -> int:
    from hookwire.runtime.wire.replay import read_recording

    if args.config is not None:
        return _replay_against(args, out)
    recording = read_recording(args.file)
    records: list[dict[str, Any]] = [
        {
            "index": r.index,
            "point": r.point,
            "result": result_to_json(r.result),
            "hooks": [t.hook_name for t in r.trace],
        }
        for r in recording.records
    ]
    if args.json:
        doc: dict[str, Any] = {"records": records}
        if recording.error is not None:
            doc["error"] = str(recording.error)
        out.write(json.dumps(doc, indent=2) + "\n")
    else:
        rows = [
            (r["index"], r["point"], _dump(r["result"]), ", ".join(r["hooks"])) for r in records
        ]
        table(rows, ("INDEX", "POINT", "RESULT", "HOOKS"), out)
        if recording.error is not None:
            out.write(f"reading stopped early: {recording.error}\n")
    return EXIT_OK if recording.error is None else EXIT_REFUSED


def _replay_against(args: argparse.Namespace, out: TextIO) -> int:
    """Replay against the hooks a configuration file declares, on a virtual clock."""
    from hookwire.runtime.clock import VirtualClock
    from hookwire.runtime.config import configured_registry, load_config
    from hookwire.runtime.executor import Executor
    from hookwire.runtime.replay import replay
    from hookwire.runtime.wire.replay import read_recording

    config = load_config(args.config)

    def build(clock: VirtualClock) -> Executor:
        return Executor(configured_registry(config, clock)[0], clock=clock)

    report = replay(read_recording(args.file), build, VirtualClock())
    if args.json:
        doc = {
            "replayed": report.replayed,
            "ok": report.ok,
            "differences": [d.lines() for d in report.differences],
            "read_error": report.read_error,
        }
        out.write(json.dumps(doc, indent=2) + "\n")
    else:
        out.write(f"{report}\n")
    return EXIT_OK if report.ok else EXIT_REFUSED


# -- parser ------------------------------------------------------------------------------------

Command = Callable[[argparse.Namespace, TextIO], int]


def add_commands(sub: Any) -> None:
    """Add the operator commands to the `hookwire` subparsers (each sets `run`)."""
    p = sub.add_parser("hooks", help="the chains in order: language, priority, breaker state")
    p.add_argument("--point", help="only this point's chain")
    add_client_flags(p)
    p.set_defaults(run=cmd_hooks)

    p = sub.add_parser("breakers", help="breaker states; --reset NAME closes one")
    p.add_argument("--reset", metavar="NAME", help="reset this hook's breaker to CLOSED")
    add_client_flags(p)
    p.set_defaults(run=cmd_breakers)

    p = sub.add_parser("exec", help="execute a point: result, final data and trace")
    p.add_argument("point", help="e.g. before_tool_execution or custom:my.point")
    p.add_argument("--data", default="{}", help="the context's data as a JSON object")
    p.add_argument("--traceparent", help="W3C traceparent to continue (OpenTelemetry)")
    add_client_flags(p)
    p.set_defaults(run=cmd_exec)

    p = sub.add_parser("publish", help="publish one event; prints its sequence")
    p.add_argument("type", help="event type, e.g. tool.invoked")
    p.add_argument("payload", nargs="?", help="JSON payload (none when omitted)")
    p.add_argument("--source", default="hookwire://cli", help="event source")
    p.add_argument("--correlation-id", default="", help="correlation id")
    add_client_flags(p)
    p.set_defaults(run=cmd_publish)

    p = sub.add_parser("tail", help="follow events matching patterns (resumes on reconnect)")
    p.add_argument("patterns", nargs="+", metavar="PATTERN", help="e.g. 'tool.*' or '>'")
    p.add_argument(
        "--from",
        dest="from_seq",
        type=int,
        default=0,
        metavar="SEQ",
        help="start at sequence SEQ (0 = live)",
    )
    p.add_argument("--count", type=int, default=0, help="stop after N events (0 = follow)")
    add_client_flags(p)
    p.set_defaults(run=cmd_tail)

    p = sub.add_parser("replay", help="list a recording, or replay it against --config's hooks")
    p.add_argument("file", help="a recording (see docs/run.md)")
    p.add_argument("--config", type=Path, help="replay against this configuration's hooks")
    p.add_argument("--json", action="store_true", help="print JSON for scripts")
    p.set_defaults(run=cmd_replay)


def run_command(run: Command, args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    """Run one command, mapping failures to exit statuses and one-line errors on stderr."""
    try:
        return run(args, out)
    except UsageError as exc:
        print(f"hookwire {args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except HookwireError as exc:
        print(f"hookwire {args.command}: {exc.code}: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except grpc.RpcError as exc:  # a status the client did not map
        print(f"hookwire {args.command}: {exc.code().name}: {exc.details()}", file=sys.stderr)
        return EXIT_REFUSED
    except KeyboardInterrupt:
        return EXIT_OK
