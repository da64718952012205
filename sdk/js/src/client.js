// The hookwire client: execute points, publish and subscribe to events, read hooks and breakers.

import { create } from "@bufbuild/protobuf";
import { DurationSchema, TimestampSchema } from "@bufbuild/protobuf/wkt";
import { Language, TraceContextSchema } from "../../../generated/js/hookwire/v1/common_pb.js";
import { UniversalEventSchema } from "../../../generated/js/hookwire/v1/event_pb.js";
import {
  BackpressureSchema,
  DropNewestSchema,
  DropOldestSchema,
  EventBatchSchema,
  OverflowStrategySchema,
  PublishRequestSchema,
  PublishResponseSchema,
  SampleSchema,
  SubscribeRequestSchema,
} from "../../../generated/js/hookwire/v1/event_service_pb.js";
import {
  ExecuteRequestSchema,
  ExecuteResponseSchema,
  GetBreakerStateRequestSchema,
  GetBreakerStateResponseSchema,
  ListHooksRequestSchema,
  ListHooksResponseSchema,
  ResetBreakerRequestSchema,
  ResetBreakerResponseSchema,
} from "../../../generated/js/hookwire/v1/executor_service_pb.js";
import { BreakerState, FailurePolicy, HookOutcome } from "../../../generated/js/hookwire/v1/hook_pb.js";
import { contextFromProto, contextToProto, languageName, pointFromProto, pointToProto } from "./context.js";
import { fromGrpcError, HookwireError } from "./errors.js";
import { describe, fromJsonValue, toJsonValue } from "./json.js";
import { durationToMs, msToDuration, resultFromProto } from "./results.js";
import { callMetadata, callOptions, codec, openChannel } from "./transport.js";

const EXEC = "/hookwire.v1.ExecutorService/";
const BUS = "/hookwire.v1.EventBusService/";

/**
 * Connect to a hookwire server.
 *
 * @param {{address: string, token?: string, tls?: boolean | {rootCert?: string | Buffer, serverName?: string}}} options
 * @returns {HookwireClient}
 * @example
 *   const client = createClient({ address: "127.0.0.1:50051", token: "s3cret" });
 *   const { result, context } = await client.execute({ point: "before_tool_execution", data: { tool: "search" } });
 *   client.close();
 */
export function createClient(options) {
  return new HookwireClient(options);
}

export class HookwireClient {
  constructor(options) {
    const { client, baseMetadata } = openChannel(options);
    this._client = client;
    this._md = baseMetadata;
  }

  _unary(method, reqSchema, resSchema, request, opts = {}) {
    const req = codec(reqSchema);
    const res = codec(resSchema);
    return new Promise((resolve, reject) => {
      this._client.makeUnaryRequest(
        method,
        req.serialize,
        res.deserialize,
        request,
        callMetadata(this._md, opts),
        callOptions(opts.deadlineMs),
        (err, value) => (err ? reject(fromGrpcError(err)) : resolve(value)),
      );
    });
  }

  /**
   * Execute a point. `context.point` is the point ("before_tool_execution", "custom:<name>").
   * Resolves to `{result, context, trace, execution}`: result as `{kind, ...}`, context as hooks
   * see it, trace entries `{hook, language, outcome, reason, durationMs, slow, breaker}`, and the
   * raw hookwire.v1.Execution message.
   *
   * @param {object} context
   * @param {{deadlineMs?: number, correlationId?: string, traceparent?: string, tracestate?: string}} [opts]
   */
  async execute(context, opts = {}) {
    const request = create(ExecuteRequestSchema, { context: contextToProto(context) });
    const response = await this._unary(EXEC + "Execute", ExecuteRequestSchema, ExecuteResponseSchema, request, opts);
    const execution = response.execution;
    return {
      result: resultFromProto(execution.result),
      context: execution.context ? contextFromProto(execution.context) : undefined,
      trace: execution.trace.map(traceEntry),
      execution,
    };
  }

  /**
   * Publish a batch (accepted or rejected whole). Resolves to the sequences (bigint) in order.
   * Each event: `{type, payload?, source?, id?, correlationId?, causationId?, metadata?, ttlMs?,
   * timeNs?, traceparent?, tracestate?}`.
   *
   * @param {object[]} events
   * @example const [seq] = await client.publish([{ type: "tool.invoked", payload: { tool: "search" } }]);
   */
  async publish(events, opts = {}) {
    if (!Array.isArray(events)) throw new TypeError(`events: must be an array, got ${describe(events)}`);
    const request = create(PublishRequestSchema, { events: events.map((e, i) => eventToProto(e, `events[${i}]`)) });
    const response = await this._unary(BUS + "Publish", PublishRequestSchema, PublishResponseSchema, request, opts);
    return response.sequences;
  }

  /**
   * Subscribe: an async iterable of events (`{type, sequence, payload, ...}`) matching
   * `patterns`. When the stream breaks (UNAVAILABLE), it re-subscribes from the sequence after
   * the last delivered one, up to `resumeAttempts` times in a row; `iterator.stats` holds the
   * subscription's counters after the latest batch. Break out of the loop (or call
   * `iterator.cancel()`) to end the subscription.
   *
   * @param {{patterns: string[] | string, fromSequence?: number | bigint, capacity?: number,
   *   overflow?: "drop_oldest" | "drop_newest" | {backpressure: {timeoutMs?: number}} | {sample: {rate: number, highWaterMark?: number}},
   *   maxBatchSize?: number, resumeAttempts?: number}} options
   * @example
   *   for await (const event of client.subscribe({ patterns: ["tool.>"], fromSequence: 1 })) {
   *     console.log(event.sequence, event.type, event.payload);
   *   }
   */
  subscribe(options) {
    return new Subscription(this, subscribeRequest(options), options.resumeAttempts ?? 3);
  }

  /** Registered hooks in chain order, filtered by `{point, language, tags}`. */
  async listHooks(filter = {}) {
    const init = { tags: filter.tags ?? [] };
    if (filter.point !== undefined) Object.assign(init, pointToProto(filter.point, "filter.point"));
    if (filter.language !== undefined) {
      const lang = Language[String(filter.language).toUpperCase()];
      if (typeof lang !== "number") throw new TypeError(`filter.language: unknown language ${filter.language}`);
      init.language = lang;
    }
    const res = await this._unary(
      EXEC + "ListHooks",
      ListHooksRequestSchema,
      ListHooksResponseSchema,
      create(ListHooksRequestSchema, init),
    );
    return res.hooks.map((h) => ({
      name: h.name,
      point: pointFromProto(h.point, h.customPoint),
      priority: h.priority,
      language: languageName(h.language),
      timeoutMs: durationToMs(h.timeout),
      failurePolicy: FailurePolicy[h.failurePolicy],
      tags: [...h.tags],
      feature: h.feature,
      enabled: h.enabled ?? true,
    }));
  }

  /** Breaker states of the named hooks (all when none named). */
  async breakerState(hookNames = []) {
    const res = await this._unary(
      EXEC + "GetBreakerState",
      GetBreakerStateRequestSchema,
      GetBreakerStateResponseSchema,
      create(GetBreakerStateRequestSchema, { hookNames }),
    );
    return res.breakers.map(breakerStatus);
  }

  /** Reset one hook's breaker to CLOSED; resolves to its new status. */
  async resetBreaker(hookName) {
    const res = await this._unary(
      EXEC + "ResetBreaker",
      ResetBreakerRequestSchema,
      ResetBreakerResponseSchema,
      create(ResetBreakerRequestSchema, { hookName }),
    );
    return breakerStatus(res.breaker);
  }

  /** Close the channel. */
  close() {
    this._client.close();
  }
}

function breakerStatus(b) {
  return {
    hookName: b.hookName,
    state: BreakerState[b.state],
    windowCalls: b.windowCalls,
    windowFailures: b.windowFailures,
    windowSlow: b.windowSlow,
    currentOpenDurationMs: durationToMs(b.currentOpenDuration),
    probesInFlight: b.probesInFlight,
    goodProbes: b.goodProbes,
  };
}

function traceEntry(t) {
  return {
    hook: t.hookName,
    language: languageName(t.language),
    outcome: HookOutcome[t.outcome],
    reason: t.reason,
    durationMs: durationToMs(t.duration),
    slow: t.slow,
    breaker: BreakerState[t.breakerState],
  };
}

function eventToProto(e, field) {
  if (e === null || typeof e !== "object") throw new TypeError(`${field}: must be an object, got ${describe(e)}`);
  if (typeof e.type !== "string" || e.type === "") throw new TypeError(`${field}.type: must be a non-empty string`);
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
  if (e.ttlMs !== undefined) init.ttl = msToDuration(e.ttlMs);
  if (e.timeNs !== undefined) {
    const ns = BigInt(e.timeNs);
    init.time = create(TimestampSchema, { seconds: ns / 1_000_000_000n, nanos: Number(ns % 1_000_000_000n) });
  }
  if (e.traceparent || e.tracestate) {
    init.traceContext = create(TraceContextSchema, { traceparent: e.traceparent ?? "", tracestate: e.tracestate ?? "" });
  }
  return create(UniversalEventSchema, init);
}

/** A UniversalEvent message as a plain event. */
export function eventFromProto(pb) {
  return {
    id: pb.id,
    type: pb.type,
    source: pb.source,
    sourceLanguage: languageName(pb.sourceLanguage),
    sequence: pb.sequence,
    payload: fromJsonValue(pb.payload),
    correlationId: pb.correlationId,
    causationId: pb.causationId,
    metadata: { ...pb.metadata },
    timeNs: pb.time ? pb.time.seconds * 1_000_000_000n + BigInt(pb.time.nanos) : undefined,
    ttlMs: pb.ttl ? durationToMs(pb.ttl) : undefined,
    traceparent: pb.traceContext?.traceparent ?? "",
    tracestate: pb.traceContext?.tracestate ?? "",
  };
}

function subscribeRequest(o) {
  if (o === null || typeof o !== "object") throw new TypeError(`options: must be an object, got ${describe(o)}`);
  const patterns = typeof o.patterns === "string" ? [o.patterns] : o.patterns;
  if (!Array.isArray(patterns) || patterns.length === 0 || patterns.some((p) => typeof p !== "string")) {
    throw new TypeError(`patterns: must be a non-empty array of strings, got ${describe(o.patterns)}`);
  }
  const init = { patterns, fromSequence: BigInt(o.fromSequence ?? 0) };
  if (o.capacity !== undefined) init.capacity = o.capacity;
  if (o.maxBatchSize !== undefined) init.maxBatchSize = o.maxBatchSize;
  if (o.overflow !== undefined) init.overflow = overflowToProto(o.overflow);
  return create(SubscribeRequestSchema, init);
}

function overflowToProto(o) {
  let strategy;
  if (o === "drop_oldest") strategy = { case: "dropOldest", value: create(DropOldestSchema) };
  else if (o === "drop_newest") strategy = { case: "dropNewest", value: create(DropNewestSchema) };
  else if (o && typeof o === "object" && o.backpressure) {
    const init = {};
    if (o.backpressure.timeoutMs !== undefined) init.timeout = msToDuration(o.backpressure.timeoutMs);
    strategy = { case: "backpressure", value: create(BackpressureSchema, init) };
  } else if (o && typeof o === "object" && o.sample) {
    const init = { rate: o.sample.rate };
    if (o.sample.highWaterMark !== undefined) init.highWaterMark = o.sample.highWaterMark;
    strategy = { case: "sample", value: create(SampleSchema, init) };
  } else {
    throw new TypeError(
      `overflow: must be "drop_oldest", "drop_newest", {backpressure: {timeoutMs}} or {sample: {rate}}, got ${describe(o)}`,
    );
  }
  return create(OverflowStrategySchema, { strategy });
}

const RESUMABLE = new Set(["UNAVAILABLE", "INTERNAL", "UNKNOWN"]);

/** The async iterator returned by `subscribe()`. */
class Subscription {
  constructor(client, request, resumeAttempts) {
    this._client = client;
    this._request = request;
    this._resumeAttempts = resumeAttempts;
    this._lastSequence = 0n;
    this._queue = [];
    this._waiter = null;
    this._done = false;
    this._error = null;
    this._failures = 0;
    /** Counters of the subscription after the latest batch. */
    this.stats = undefined;
    this._highWater = Math.max(256, request.maxBatchSize ?? 256);
    this._open(request.fromSequence);
  }

  _open(fromSequence) {
    const req = create(SubscribeRequestSchema, { ...this._request, fromSequence });
    const { serialize } = codec(SubscribeRequestSchema);
    const { deserialize } = codec(EventBatchSchema);
    const call = this._client._client.makeServerStreamRequest(
      BUS + "Subscribe",
      serialize,
      deserialize,
      req,
      callMetadata(this._client._md),
      {},
    );
    this._call = call;
    call.on("data", (batch) => {
      this._failures = 0;
      this.stats = batch.stats;
      for (const ev of batch.events) {
        this._lastSequence = ev.sequence;
        this._queue.push(eventFromProto(ev));
      }
      // A slow reader must slow the stream down (HTTP/2 flow control), so that the server's
      // overflow strategy applies instead of this process buffering without bound.
      if (this._queue.length >= this._highWater) call.pause();
      this._wake();
    });
    call.on("error", (err) => {
      if (this._done) return;
      const e = fromGrpcError(err);
      if (e.code === "CANCELLED" && this._cancelled) return this._finish(null);
      if (RESUMABLE.has(e.code) && this._failures < this._resumeAttempts) {
        this._failures += 1;
        const next = this._lastSequence > 0n ? this._lastSequence + 1n : this._request.fromSequence;
        setTimeout(() => this._done || this._open(next), 50 * 2 ** (this._failures - 1));
        return;
      }
      this._finish(e);
    });
    call.on("status", (st) => {
      // OK ends the subscription (the server drained it on shutdown); errors arrive on "error".
      if (st.code === 0 && !this._done && this._call === call) this._finish(null);
    });
  }

  _finish(err) {
    this._done = true;
    this._error = err;
    this._wake();
  }

  _wake() {
    const w = this._waiter;
    this._waiter = null;
    if (w) w();
  }

  /** End the subscription. */
  cancel() {
    this._cancelled = true;
    this._done = true;
    this._call.cancel();
    this._wake();
  }

  async next() {
    for (;;) {
      if (this._queue.length) {
        const value = this._queue.shift();
        if (this._queue.length === 0 && !this._done) this._call.resume();
        return { value, done: false };
      }
      if (this._done) {
        if (this._error) {
          const e = this._error;
          this._error = null;
          throw e;
        }
        return { value: undefined, done: true };
      }
      await new Promise((resolve) => {
        this._waiter = resolve;
      });
    }
  }

  async return() {
    if (!this._done) this.cancel();
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator]() {
    return this;
  }
}

export { HookwireError };
