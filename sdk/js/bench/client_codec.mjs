// The JS client's codecs before and after moving them onto the generated wire codecs, in one
// process (`node sdk/js/bench/client_codec.mjs [rounds]`). Each row is what the client does for
// one RPC message, from its plain input to the bytes, or from the bytes to what it hands back:
//   encode ExecuteRequest     execute()'s context -> bytes
//   encode PublishRequest     publish() of 1,000 small events -> bytes
//   decode ExecuteResponse    bytes (one MODIFIED result, a context, 2 trace entries) -> {result, context, trace}
//   decode EventBatch         bytes of 1,000 small events + stats -> plain events (subscribe())
// "before" is the client's code as of commit d5a7b7d (protobuf-es create() / toBinary /
// fromBinary, then the conversion it did), kept below as the baseline; "after" is the client's
// codec objects (client.js `clientWire`). Prints one JSON line: microseconds per message (best of
// the rounds) and the ratios before/after.

import assert from "node:assert/strict";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { DurationSchema, TimestampSchema } from "@bufbuild/protobuf/wkt";
import { Language, TraceContextSchema } from "#generated/hookwire/v1/common_pb.js";
import { UniversalEventSchema } from "#generated/hookwire/v1/event_pb.js";
import { EventBatchSchema, PublishRequestSchema } from "#generated/hookwire/v1/event_service_pb.js";
import { ExecuteRequestSchema, ExecuteResponseSchema } from "#generated/hookwire/v1/executor_service_pb.js";
import {
  BreakerState,
  ComponentIdSchema,
  ComponentType,
  DistributedContextSchema,
  HookContextSchema,
  HookOutcome,
  HookPoint,
  OperationSchema,
} from "#generated/hookwire/v1/hook_pb.js";
import { clientWire } from "../src/client.js";
import { contextFromProto } from "../src/context.js";
import { fromJsonObject, fromJsonValue, toJsonObject, toJsonValue } from "../src/json.js";
import { resultFromProto } from "../src/results.js";

const ROUNDS = Number(process.argv[2] ?? 7);
const EVENTS = 1000;

// -- inputs ------------------------------------------------------------------------------------

const context = {
  point: "before_tool_execution",
  data: { tool: "search", args: { q: "hookwire", limit: 10 }, ok: true },
  metadata: { session: "s-1" },
  correlationId: "corr-0001",
  timestampNs: 1_764_000_000_123_000_000n,
  traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
};
const events = Array.from({ length: EVENTS }, (_, i) => ({
  type: "bench.js.tick",
  payload: { i, ok: true },
  source: "bench",
  metadata: { k: "v" },
  ttlMs: 5000,
}));

const tsOf = (ns) => create(TimestampSchema, { seconds: ns / 1_000_000_000n, nanos: Number(ns % 1_000_000_000n) });
const durOf = (ms) => {
  const ns = BigInt(Math.round(ms * 1e6));
  return create(DurationSchema, { seconds: ns / 1_000_000_000n, nanos: Number(ns % 1_000_000_000n) });
};
const responseBytes = toBinary(
  ExecuteResponseSchema,
  create(ExecuteResponseSchema, {
    execution: {
      result: { kind: { case: "modified", value: { data: toJsonObject({ checked: true, n: 1 }) } } },
      context: {
        point: HookPoint.BEFORE_TOOL_EXECUTION,
        data: toJsonObject({ tool: "search", args: { q: "hookwire", limit: 10 }, checked: true }),
        metadata: { session: "s-1" },
        correlationId: "corr-0001",
        language: Language.JAVASCRIPT,
        timestamp: tsOf(1_764_000_000_123_000_000n),
        distributed: { traceContext: { traceparent: context.traceparent } },
      },
      trace: [
        { hookName: "py_guard", language: Language.PYTHON, outcome: HookOutcome.SUCCESS, duration: durOf(0.02), breakerState: BreakerState.CLOSED },
        { hookName: "js_check", language: Language.JAVASCRIPT, outcome: HookOutcome.SUCCESS, duration: durOf(0.2), breakerState: BreakerState.CLOSED },
      ],
    },
  }),
);
const batchBytes = toBinary(
  EventBatchSchema,
  create(EventBatchSchema, {
    events: Array.from({ length: EVENTS }, (_, i) => ({
      id: `01J${String(i).padStart(23, "0")}`,
      type: "bench.js.tick",
      source: "bench",
      sourceLanguage: Language.PYTHON,
      payload: toJsonValue({ i }),
      sequence: BigInt(i + 1),
      time: tsOf(1_764_000_000_000_000_000n + BigInt(i)),
    })),
    stats: { received: 1000n, delivered: 1000n },
  }),
);

// -- before: the client's code as of d5a7b7d -----------------------------------------------------

function languageNameBefore(lang) {
  const name = Language[lang];
  return typeof name === "string" && lang !== Language.UNSPECIFIED ? name.toLowerCase() : "";
}

function contextToProtoBefore(ctx) {
  const init = {
    point: HookPoint[ctx.point.toUpperCase()],
    customPoint: "",
    data: toJsonObject(ctx.data ?? {}, "context.data"),
    metadata: { ...ctx.metadata },
    correlationId: ctx.correlationId ?? "",
    language: Language.JAVASCRIPT,
  };
  if (ctx.timestampNs !== undefined) init.timestamp = tsOf(BigInt(ctx.timestampNs));
  if (ctx.component !== undefined) init.component = create(ComponentIdSchema, { ...ctx.component, type: ComponentType.UNSPECIFIED });
  if (ctx.operation !== undefined) init.operation = create(OperationSchema, {});
  if (ctx.traceparent !== undefined || ctx.tracestate !== undefined || ctx.remoteAgentId !== undefined) {
    init.distributed = create(DistributedContextSchema, {
      remoteAgentId: ctx.remoteAgentId ?? "",
      traceContext: create(TraceContextSchema, { traceparent: ctx.traceparent ?? "", tracestate: ctx.tracestate ?? "" }),
    });
  }
  return create(HookContextSchema, init);
}

function eventToProtoBefore(e, field) {
  const init = {
    type: e.type,
    id: e.id ?? "",
    source: e.source ?? "",
    sourceLanguage: Language.JAVASCRIPT,
    payload: toJsonValue(e.payload, `${field}.payload`),
    correlationId: e.correlationId ?? "",
    causationId: e.causationId ?? "",
    metadata: { ...(e.metadata ?? {}) },
  };
  if (e.ttlMs !== undefined) init.ttl = durOf(e.ttlMs);
  if (e.timeNs !== undefined) init.time = tsOf(BigInt(e.timeNs));
  if (e.traceparent || e.tracestate) {
    init.traceContext = create(TraceContextSchema, { traceparent: e.traceparent ?? "", tracestate: e.tracestate ?? "" });
  }
  return create(UniversalEventSchema, init);
}

function eventFromProtoBefore(pb) {
  return {
    id: pb.id,
    type: pb.type,
    source: pb.source,
    sourceLanguage: languageNameBefore(pb.sourceLanguage),
    sequence: pb.sequence,
    payload: fromJsonValue(pb.payload),
    correlationId: pb.correlationId,
    causationId: pb.causationId,
    metadata: { ...pb.metadata },
    timeNs: pb.time ? pb.time.seconds * 1_000_000_000n + BigInt(pb.time.nanos) : undefined,
    ttlMs: pb.ttl ? Number(pb.ttl.seconds) * 1000 + pb.ttl.nanos / 1e6 : undefined,
    traceparent: pb.traceContext?.traceparent ?? "",
    tracestate: pb.traceContext?.tracestate ?? "",
  };
}

const durationMs = (d) => (d === undefined ? 0 : Number(d.seconds) * 1000 + d.nanos / 1e6);
const before = {
  encodeExecute: () => toBinary(ExecuteRequestSchema, create(ExecuteRequestSchema, { context: contextToProtoBefore(context) })),
  encodePublish: () =>
    toBinary(PublishRequestSchema, create(PublishRequestSchema, { events: events.map((e, i) => eventToProtoBefore(e, `events[${i}]`)) })),
  decodeExecute: () => {
    const execution = fromBinary(ExecuteResponseSchema, responseBytes).execution;
    return {
      result: resultFromProto(execution.result),
      context: execution.context ? contextFromProto(execution.context) : undefined,
      trace: execution.trace.map((t) => ({
        hook: t.hookName,
        language: languageNameBefore(t.language),
        outcome: HookOutcome[t.outcome],
        reason: t.reason,
        durationMs: durationMs(t.duration),
        slow: t.slow,
        breaker: BreakerState[t.breakerState],
      })),
      execution,
    };
  },
  decodeBatch: () => {
    const batch = fromBinary(EventBatchSchema, batchBytes);
    return { events: batch.events.map(eventFromProtoBefore), stats: batch.stats };
  },
};

// -- after: the client's codecs ------------------------------------------------------------------

const { EXECUTE, PUBLISH, SUBSCRIBE } = clientWire;
const after = {
  encodeExecute: () => EXECUTE.serialize({ context: clientWire.contextToWire(context) }),
  encodePublish: () => {
    const wire = new Array(events.length);
    for (let i = 0; i < events.length; i++) wire[i] = clientWire.eventToWire(events[i], i);
    return PUBLISH.serialize({ events: wire });
  },
  decodeExecute: () => EXECUTE.deserialize(responseBytes),
  decodeBatch: () => SUBSCRIBE.deserialize(batchBytes),
};

// Both sides must agree before their speed means anything.
for (const k of ["encodeExecute", "encodePublish"]) assert.deepEqual(Buffer.from(after[k]()), Buffer.from(before[k]()), k);
for (const k of ["decodeExecute", "decodeBatch"]) assert.deepEqual(after[k](), before[k](), k);

function best(fn, n) {
  let us = Infinity;
  for (let r = 0; r <= ROUNDS; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) fn();
    const t = Number(process.hrtime.bigint() - t0) / 1000 / n;
    if (r > 0) us = Math.min(us, t); // round 0 warms up the JIT
  }
  return us;
}

const round = (x) => Math.round(x * 100) / 100;
const out = { rounds: ROUNDS, events: EVENTS };
for (const [k, n] of [
  ["encodeExecute", 20000],
  ["decodeExecute", 20000],
  ["encodePublish", 40],
  ["decodeBatch", 40],
]) {
  const b = best(before[k], n);
  const a = best(after[k], n);
  out[`${k}_us`] = { before: round(b), after: round(a), ratio: round(b / a) };
}
console.log(JSON.stringify(out));
