// The node side of the js-remote conformance driver.
//
// One process per conformance run: it connects to the run's hookwire server as a worker on the
// executor's virtual clock, and turns each scenario hook's behaviour (sent by the Python driver
// as a JSON line on stdin) into a real JS hook function registered through the SDK. The hooks
// advance virtual time with the SDK's per-call clock, end with SDK result helpers, throw, or
// return invalid values, and publish their events with the SDK's `call.publish` (on the worker
// stream, ahead of the answer); what they see and ask to execute goes back to the driver as
// JSON lines on stdout, always before the hook's answer goes out on the gRPC stream. This is the
// testee protocol of conformance/README.md; the js-remote driver is the generic worker driver
// (`python -m hookwire.conformance --worker-cmd "node conformance/js/driver_worker.mjs {address}"`).
//
//   node conformance/js/driver_worker.mjs HOST:PORT

import { createInterface } from "node:readline";
import {
  cache,
  cancel,
  createWorker,
  fork,
  JsonNumberText,
  modified,
  proceed,
  redirect,
  replace,
  retry,
  skipped,
} from "@hookwire/sdk";

const [address] = process.argv.slice(2);
if (!address) {
  process.stderr.write("usage: driver_worker.mjs HOST:PORT\n");
  process.exit(2);
}

/** JSON text of plain values with bigints and JsonNumberText written as exact numbers. */
function jsonText(v) {
  if (typeof v === "bigint") return v.toString();
  if (v instanceof JsonNumberText) return v.text;
  if (Object.is(v, -0)) return "-0.0"; // JSON.stringify(-0) is "0": keep what the hook saw
  if (Array.isArray(v)) return `[${v.map(jsonText).join(",")}]`;
  if (v !== null && typeof v === "object") {
    const parts = [];
    for (const [k, x] of Object.entries(v)) if (x !== undefined) parts.push(`${JSON.stringify(k)}:${jsonText(x)}`);
    return `{${parts.join(",")}}`;
  }
  return JSON.stringify(v);
}

const SAFE = Number.MAX_SAFE_INTEGER;

/**
 * JSON text -> plain values without losing integers: an integer literal beyond 2^53 becomes a
 * bigint (the SDK sends it as int_value, or as number_text past int64), a fraction or exponent
 * a double. Plain `JSON.parse` would round 2^63-1 and 2^53+1 to doubles before a hook returns
 * them. HOOKWIRE_CONFORMANCE_PLAIN_JSON=1 switches back to JSON.parse (the test suite uses it
 * to show that a bundled scenario catches the loss).
 */
function parseLossless(text) {
  let i = 0;
  const fail = (what) => {
    throw new SyntaxError(`driver_worker: ${what} at offset ${i}`);
  };
  const ws = () => {
    while (i < text.length && " \t\n\r".includes(text[i])) i++;
  };
  const value = () => {
    ws();
    const c = text[i];
    if (c === "{") {
      i++;
      const out = {};
      ws();
      if (text[i] === "}") return i++, out;
      for (;;) {
        ws();
        if (text[i] !== '"') fail("expected a member name");
        const key = string();
        ws();
        if (text[i++] !== ":") fail("expected ':'");
        const v = value();
        // "__proto__" is a member like any other, not the object's prototype.
        Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
        ws();
        if (text[i] === ",") { i++; continue; }
        if (text[i++] === "}") return out;
        fail("expected ',' or '}'");
      }
    }
    if (c === "[") {
      i++;
      const out = [];
      ws();
      if (text[i] === "]") return i++, out;
      for (;;) {
        out.push(value());
        ws();
        if (text[i] === ",") { i++; continue; }
        if (text[i++] === "]") return out;
        fail("expected ',' or ']'");
      }
    }
    if (c === '"') return string();
    for (const [word, v] of [["true", true], ["false", false], ["null", null]]) {
      if (text.startsWith(word, i)) return (i += word.length), v;
    }
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(i, i + 400));
    if (!m || !m[0]) fail("expected a JSON value");
    i += m[0].length;
    if (m[2] === undefined && m[3] === undefined) {
      const n = Number(m[0]);
      return Math.abs(n) <= SAFE ? n : BigInt(m[0]);
    }
    return Number(m[0]);
  };
  const string = () => {
    // The string token, decoded by JSON.parse (escapes, surrogates).
    const start = i++;
    while (text[i] !== '"') {
      if (i >= text.length) fail("unterminated string");
      i += text[i] === "\\" ? 2 : 1;
    }
    i++;
    return JSON.parse(text.slice(start, i));
  };
  const out = value();
  ws();
  if (i !== text.length) fail("trailing text");
  return out;
}

const parseJson = process.env.HOOKWIRE_CONFORMANCE_PLAIN_JSON === "1" ? JSON.parse : parseLossless;

function emit(msg) {
  // process.stdout on a pipe writes synchronously on Linux, so this line is out before the answer.
  process.stdout.write(jsonText(msg) + "\n");
}

/** "0.250s" (proto3 JSON duration) as milliseconds. */
function durationMs(text, field) {
  const m = /^(-?\d+(?:\.\d+)?)s$/.exec(String(text));
  if (!m) throw new TypeError(`${field}: not a duration: ${text}`);
  return Number(m[1]) * 1000;
}

/** A scenario result (plain JSON form) built with the SDK's helpers. */
function result(r) {
  const [kind] = Object.keys(r);
  const v = r[kind] ?? {};
  switch (kind) {
    case "continue":
      return proceed();
    case "modified":
      return modified(v.data ?? {});
    case "cancel":
      return cancel(v.reason ?? "");
    case "redirect":
      return redirect(v.target ?? "");
    case "replace":
      return replace(v.value === undefined ? null : v.value);
    case "retry":
      return retry(v.delay === undefined ? 0 : durationMs(v.delay, "retry.delay"), v.maxAttempts ?? 0);
    case "fork":
      return fork((v.operations ?? []).map((o) => ({ operation: o.operation ?? "", parameters: o.parameters ?? {} })));
    case "cache":
      return cache(v.key ?? "", v.ttl === undefined ? 0 : durationMs(v.ttl, "cache.ttl"));
    case "skipped":
      return skipped(v.reason ?? "");
    default:
      throw new TypeError(`unknown result kind ${kind}`);
  }
}

// A value that is not a result: a string spelling a kind must be refused (no magic strings).
const INVALID_VALUE = "continue";

const worker = createWorker({ address, workerId: `conformance-js-${process.pid}`, virtualClock: true });
const calls = new Map(); // "run/hook" -> calls so far
const answers = new Map(); // request id -> resolve
let requestIds = 0;

function stepFor(behaviour, n) {
  const steps = behaviour.calls;
  if (n < steps.length) return steps[n];
  return behaviour.repeat === "cycle" ? steps[n % steps.length] : steps[steps.length - 1];
}

function finish(step) {
  // On odd calls this runs inside a Promise callback, so the failure is a rejection there.
  if (step.raises !== undefined) throw new Error(step.raises);
  if (step.returnsInvalid) return INVALID_VALUE;
  if (step.returns !== undefined) return result(step.returns);
  return undefined;
}

/** Send a request to the driver and wait for its answer ({error} when it failed). */
function ask(msg) {
  const id = ++requestIds;
  const answer = new Promise((resolve) => answers.set(id, resolve));
  emit({ ...msg, id });
  return answer;
}

function buildHook(run, hook, behaviour) {
  const counter = `${run}/${hook}`;
  return (ctx, call) => {
    const n = calls.get(counter) ?? 0;
    calls.set(counter, n + 1);
    const step = stepFor(behaviour, n);
    if (step.advanceMs) call.clock.advanceMs(step.advanceMs);
    if (step.record) {
      emit({ ev: "seen", run, hook, ctx: { point: ctx.point, data: ctx.data, metadata: ctx.metadata, correlationId: ctx.correlationId } });
    }
    // Published through the SDK: each event goes on the worker stream as a publish frame, stamped
    // with this call's virtual time, ahead of the call's answer. A bad event throws into the hook.
    // An event with `sequence` is awaited: publish resolves to the event's sequence.
    const checks = [];
    for (const event of step.publish ?? []) {
      const opts = {};
      for (const key of ["ttlMs", "source", "correlationId", "metadata"]) if (event[key] !== undefined) opts[key] = event[key];
      try {
        const published = call.publish(event.type, event.payload, opts);
        if (event.sequence !== undefined) {
          checks.push(
            published.then((seq) => {
              if (String(seq) !== String(event.sequence)) {
                emit({ ev: "problem", run, hook, message: `publish of ${event.type} returned ${seq}, expected ${event.sequence}` });
              }
            }),
          );
        }
      } catch (err) {
        if (event.refused !== undefined) {
          // Expected: report the refusal as JS saw it (the SDK's TypeError is its argument error).
          const code = err?.code ?? (err instanceof TypeError ? "INVALID_ARGUMENT" : "");
          emit({ ev: "refused", run, hook, type: event.type, code, message: String(err?.message ?? err) });
          continue;
        }
        emit({ ev: "done", run, hook, n });
        throw err;
      }
    }
    if (checks.length) {
      return Promise.all(checks).then(async () => {
        if (step.execute !== undefined) await ask({ ev: "nested", run, hook, n });
        emit({ ev: "done", run, hook, n });
        return finish(step);
      });
    }
    if (step.execute === undefined) {
      emit({ ev: "done", run, hook, n });
      // Every second call answers through a Promise, so both the sync and the async path run.
      if (n % 2 === 1) return Promise.resolve().then(() => finish(step));
      return finish(step);
    }
    // Nested executions run in the driver's executor: wait for them.
    return (async () => {
      await ask({ ev: "nested", run, hook, n });
      emit({ ev: "done", run, hook, n });
      return finish(step);
    })();
  };
}

async function handle(msg) {
  switch (msg.op) {
    case "define": {
      try {
        await worker.register("custom:conformance.js", buildHook(msg.run, msg.hook, msg.behaviour), {
          name: msg.key,
          timeoutMs: 3_600_000,
        });
        emit({ ev: "defined", id: msg.id });
      } catch (err) {
        emit({ ev: "defined", id: msg.id, error: String(err?.message ?? err) });
      }
      break;
    }
    case "undefine":
      for (const key of msg.keys) await worker.unregister(key).catch(() => {});
      for (const k of [...calls.keys()]) if (k.startsWith(`${msg.run}/`)) calls.delete(k);
      break;
    case "answer": {
      const resolve = answers.get(msg.id);
      answers.delete(msg.id);
      resolve?.(msg);
      break;
    }
    default:
      process.stderr.write(`driver_worker: unknown op ${msg.op}\n`);
  }
}

worker.on("error", (err) => {
  process.stderr.write(`driver_worker: ${err.message}\n`);
  process.exit(1);
});
await worker.start();
emit({ ev: "ready", language: "javascript", connectionId: worker.connectionId });

const lines = createInterface({ input: process.stdin });
lines.on("line", (line) => {
  if (line.trim()) handle(parseJson(line));
});
// The driver went away: leave cleanly.
lines.on("close", async () => {
  await worker.close(1000);
  process.exit(0);
});
