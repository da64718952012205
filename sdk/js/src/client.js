// The hookwire client: execute points, publish and subscribe to events, read hooks and breakers.
//
// Requests are plain objects written by the generated straight-line encoders and answers are
// read by the generated decoders (generated/js/hookwire/v1/*_wire.js, docs/generate.md), then
// turned into the client's plain forms inside the deserializer: a malformed answer (bad bytes,
// a missing execution, a JSON value without a kind) fails the call as a HookwireError INTERNAL
// naming the message and field, never as a crash in a stream callback.

import { Language } from "#generated/hookwire/v1/common_pb.js";
import {
  decodeEventBatch,
  decodePublishResponse,
  encodePublishRequest,
  encodeSubscribeRequest,
} from "#generated/hookwire/v1/event_service_wire.js";
import {
  decodeExecuteResponse,
  decodeGetBreakerStateResponse,
  decodeListHooksResponse,
  decodeResetBreakerResponse,
  encodeExecuteRequest,
  encodeGetBreakerStateRequest,
  encodeListHooksRequest,
  encodeResetBreakerRequest,
} from "#generated/hookwire/v1/executor_service_wire.js";
import { BreakerState, FailurePolicy, HookOutcome } from "#generated/hookwire/v1/hook_pb.js";
import { contextFromProto, contextToWire, languageName, nsToTimestamp, pointFromProto, pointToProto, stringMap } from "./context.js";
import { fromGrpcError, HookwireError } from "./errors.js";
import { describe, fromJsonValue, JsonConversionError, toJsonValue } from "./json.js";
import { durationToMs, resultFromProto } from "./results.js";
import { callMetadata, callOptions, openChannel, wireCodec } from "./transport.js";

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

  _unary(method, codec, request, opts = {}) {
    return new Promise((resolve, reject) => {
      this._client.makeUnaryRequest(
        method,
        codec.serialize,
        codec.deserialize,
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
    return this._unary(EXEC + "Execute", EXECUTE, { context: contextToWire(context) }, opts);
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
    const wire = new Array(events.length);
    for (let i = 0; i < events.length; i++) wire[i] = eventToWire(events[i], i);
    return this._unary(BUS + "Publish", PUBLISH, { events: wire }, opts);
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
    if (filter === null || typeof filter !== "object") throw new TypeError(`filter: must be an object, got ${describe(filter)}`);
    const request = { tags: stringList(filter.tags ?? [], "filter.tags") };
    if (filter.point !== undefined) Object.assign(request, pointToProto(filter.point, "filter.point"));
    if (filter.language !== undefined) {
      const lang = Language[String(filter.language).toUpperCase()];
      if (typeof lang !== "number") throw new TypeError(`filter.language: unknown language ${filter.language}`);
      request.language = lang;
    }
    return this._unary(EXEC + "ListHooks", LIST_HOOKS, request);
  }

  /** Breaker states of the named hooks (all when none named). */
  async breakerStates(hookNames = []) {
    return this._unary(EXEC + "GetBreakerState", BREAKER_STATE, { hookNames: stringList(hookNames, "hookNames") });
  }

  /**
   * The former name of `breakerStates` (docs/naming.md); deprecated, kept for existing callers.
   * @deprecated use `breakerStates`
   */
  breakerState(hookNames = []) {
    return this.breakerStates(hookNames);
  }

  /** Reset one hook's breaker to CLOSED; resolves to its new status. */
  async resetBreaker(hookName) {
    if (typeof hookName !== "string") throw new TypeError(`hookName: must be a string, got ${describe(hookName)}`);
    return this._unary(EXEC + "ResetBreaker", RESET_BREAKER, { hookName });
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

/** A hookwire.v1.ExecuteResponse as what `execute()` resolves to. */
function executeAnswer(response) {
  const execution = response.execution;
  if (execution === undefined) throw malformed("hookwire.v1.ExecuteResponse.execution", "missing");
  return {
    result: resultFromProto(execution.result),
    context: execution.context ? contextFromProto(execution.context) : undefined,
    trace: execution.trace.map(traceEntry),
    execution,
  };
}

function listHooksAnswer(response) {
  return response.hooks.map((h) => ({
    name: h.name,
    point: pointFromProto(h.point, h.customPoint),
    priority: h.priority,
    language: languageName(h.language),
    timeoutMs: durationToMs(h.timeout),
    failurePolicy: FailurePolicy[h.failurePolicy],
    tags: h.tags,
    feature: h.feature,
    enabled: h.enabled ?? true,
  }));
}

function resetBreakerAnswer(response) {
  if (response.breaker === undefined) throw malformed("hookwire.v1.ResetBreakerResponse.breaker", "missing");
  return breakerStatus(response.breaker);
}

/**
 * One EventBatch as `{events, stats}`, events in their plain form. The decoded messages are
 * this function's own, so each event's metadata object is handed over rather than copied.
 */
function batchAnswer(batch) {
  const pbs = batch.events;
  const events = new Array(pbs.length);
  for (let i = 0; i < pbs.length; i++) events[i] = plainEvent(pbs[i], pbs[i].metadata);
  return { events, stats: batch.stats };
}

// An answer the generated decoder accepted but the client cannot use; grpc-js reports what a
// deserializer throws as INTERNAL "Response message parsing error: <message>".
function malformed(field, what) {
  return new TypeError(`${field}: ${what} in the server's answer`);
}

// The client's codecs, built once: generated encoders for requests, generated decoders plus the
// conversion to plain forms for answers.
const EXECUTE = wireCodec(encodeExecuteRequest, (b) => executeAnswer(decodeExecuteResponse(b)));
const PUBLISH = wireCodec(encodePublishRequest, (b) => decodePublishResponse(b).sequences);
const SUBSCRIBE = wireCodec(encodeSubscribeRequest, (b) => batchAnswer(decodeEventBatch(b)));
const LIST_HOOKS = wireCodec(encodeListHooksRequest, (b) => listHooksAnswer(decodeListHooksResponse(b)));
const BREAKER_STATE = wireCodec(encodeGetBreakerStateRequest, (b) => decodeGetBreakerStateResponse(b).breakers.map(breakerStatus));
const RESET_BREAKER = wireCodec(encodeResetBreakerRequest, (b) => resetBreakerAnswer(decodeResetBreakerResponse(b)));

/** Internals for sdk/js/bench and sdk/js/test (not exported by the package). */
export const clientWire = { EXECUTE, PUBLISH, SUBSCRIBE, LIST_HOOKS, BREAKER_STATE, RESET_BREAKER, contextToWire, eventToWire, subscribeRequest };

function stringList(v, field) {
  if (!Array.isArray(v)) throw new TypeError(`${field}: must be an array of strings, got ${describe(v)}`);
  for (let i = 0; i < v.length; i++) {
    if (typeof v[i] !== "string") throw new TypeError(`${field}[${i}]: must be a string, got ${describe(v[i])}`);
  }
  return v;
}

/**
 * A plain event (what `publish()` takes, `events[i]`) as a plain UniversalEvent for the generated
 * encoder. Runs once per published event, so the field names of errors are built only on failure.
 */
function eventToWire(e, i) {
  if (e === null || typeof e !== "object") throw new TypeError(`events[${i}]: must be an object, got ${describe(e)}`);
  if (typeof e.type !== "string" || e.type === "") throw new TypeError(`events[${i}].type: must be a non-empty string`);
  let payload;
  try {
    payload = toJsonValue(e.payload, "payload");
  } catch (err) {
    if (!(err instanceof JsonConversionError)) throw err;
    throw new JsonConversionError(`events[${i}].${err.path}`, err.message.slice(err.path.length + 2));
  }
  const m = {
    type: e.type,
    id: eventString(e.id, i, "id"),
    source: eventString(e.source, i, "source"),
    sourceLanguage: Language.JAVASCRIPT,
    payload,
    correlationId: eventString(e.correlationId, i, "correlationId"),
    causationId: eventString(e.causationId, i, "causationId"),
    metadata: e.metadata === undefined || e.metadata === null ? undefined : eventMetadata(e.metadata, i),
    ttl: undefined,
    time: undefined,
    traceContext: undefined,
  };
  if (e.ttlMs !== undefined) {
    if (typeof e.ttlMs !== "number" || !Number.isFinite(e.ttlMs)) {
      throw new TypeError(`events[${i}].ttlMs: must be a finite number of milliseconds, got ${describe(e.ttlMs)}`);
    }
    m.ttl = msToWireDuration(e.ttlMs);
  }
  if (e.timeNs !== undefined) m.time = nsToTimestamp(BigInt(e.timeNs));
  if (e.traceparent || e.tracestate) {
    m.traceContext = { traceparent: eventString(e.traceparent, i, "traceparent"), tracestate: eventString(e.tracestate, i, "tracestate") };
  }
  return m;
}

function eventString(v, i, name) {
  if (typeof v === "string") return v;
  if (v === undefined) return "";
  throw new TypeError(`events[${i}].${name}: must be a string, got ${describe(v)}`);
}

function eventMetadata(md, i) {
  try {
    return stringMap(md, "metadata");
  } catch (err) {
    throw new TypeError(`events[${i}].${err.message}`);
  }
}

/** Milliseconds (a finite number) as a plain google.protobuf.Duration. */
function msToWireDuration(ms) {
  const ns = Math.round(ms * 1e6);
  if (Number.isSafeInteger(ns)) {
    // Exact in doubles (the generated encoder takes integral numbers for int64), no BigInt.
    const seconds = Math.trunc(ns / 1e9);
    return { seconds, nanos: ns - seconds * 1e9 };
  }
  const big = BigInt(ns);
  return { seconds: big / 1_000_000_000n, nanos: Number(big % 1_000_000_000n) };
}

/** A UniversalEvent message as a plain event. */
export function eventFromProto(pb) {
  return plainEvent(pb, { ...pb.metadata });
}

function plainEvent(pb, metadata) {
  const time = pb.time;
  const tc = pb.traceContext;
  return {
    id: pb.id,
    type: pb.type,
    source: pb.source,
    sourceLanguage: languageName(pb.sourceLanguage),
    sequence: pb.sequence,
    payload: fromJsonValue(pb.payload),
    correlationId: pb.correlationId,
    causationId: pb.causationId,
    metadata,
    timeNs: time ? time.seconds * 1_000_000_000n + BigInt(time.nanos) : undefined,
    ttlMs: pb.ttl ? durationToMs(pb.ttl) : undefined,
    traceparent: tc ? tc.traceparent : "",
    tracestate: tc ? tc.tracestate : "",
  };
}

function subscribeRequest(o) {
  if (o === null || typeof o !== "object") throw new TypeError(`options: must be an object, got ${describe(o)}`);
  const patterns = typeof o.patterns === "string" ? [o.patterns] : o.patterns;
  if (!Array.isArray(patterns) || patterns.length === 0 || patterns.some((p) => typeof p !== "string")) {
    throw new TypeError(`patterns: must be a non-empty array of strings, got ${describe(o.patterns)}`);
  }
  const request = { patterns, fromSequence: BigInt(o.fromSequence ?? 0), capacity: undefined, overflow: undefined, maxBatchSize: undefined };
  if (o.capacity !== undefined) request.capacity = uint32(o.capacity, "capacity");
  if (o.maxBatchSize !== undefined) request.maxBatchSize = uint32(o.maxBatchSize, "maxBatchSize");
  if (o.overflow !== undefined) request.overflow = overflowToWire(o.overflow);
  return request;
}

function uint32(v, field) {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new TypeError(`${field}: must be an integer in [0, 2^32), got ${describe(v)}`);
  return v;
}

function overflowToWire(o) {
  let strategy;
  if (o === "drop_oldest") strategy = { case: "dropOldest", value: {} };
  else if (o === "drop_newest") strategy = { case: "dropNewest", value: {} };
  else if (o && typeof o === "object" && o.backpressure) {
    const value = {};
    const ms = o.backpressure.timeoutMs;
    if (ms !== undefined) {
      if (typeof ms !== "number" || !Number.isFinite(ms)) {
        throw new TypeError(`overflow.backpressure.timeoutMs: must be a finite number of milliseconds, got ${describe(ms)}`);
      }
      value.timeout = msToWireDuration(ms);
    }
    strategy = { case: "backpressure", value };
  } else if (o && typeof o === "object" && o.sample) {
    const value = { rate: o.sample.rate };
    if (o.sample.highWaterMark !== undefined) value.highWaterMark = o.sample.highWaterMark;
    strategy = { case: "sample", value };
  } else {
    throw new TypeError(
      `overflow: must be "drop_oldest", "drop_newest", {backpressure: {timeoutMs}} or {sample: {rate}}, got ${describe(o)}`,
    );
  }
  return { strategy };
}

const RESUMABLE = new Set(["UNAVAILABLE", "INTERNAL", "UNKNOWN"]);

/** The async iterator returned by `subscribe()`. */
class Subscription {
  constructor(client, request, resumeAttempts) {
    this._client = client;
    this._request = request;
    this._resumeAttempts = resumeAttempts;
    this._lastSequence = 0n;
    // Events not yet read are _queue[_head..]: an index, not shift(), per event read.
    this._queue = [];
    this._head = 0;
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
    const call = this._client._client.makeServerStreamRequest(
      BUS + "Subscribe",
      SUBSCRIBE.serialize,
      SUBSCRIBE.deserialize,
      { ...this._request, fromSequence },
      callMetadata(this._client._md),
      {},
    );
    this._call = call;
    call.on("data", ({ events, stats }) => {
      this._failures = 0;
      this.stats = stats;
      const queue = this._queue;
      for (let i = 0; i < events.length; i++) queue.push(events[i]);
      if (events.length) this._lastSequence = events[events.length - 1].sequence;
      // A slow reader must slow the stream down (HTTP/2 flow control), so that the server's
      // overflow strategy applies instead of this process buffering without bound.
      if (queue.length - this._head >= this._highWater) call.pause();
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
      const queue = this._queue;
      if (this._head < queue.length) {
        const value = queue[this._head];
        queue[this._head++] = undefined;
        if (this._head === queue.length) {
          this._queue = [];
          this._head = 0;
          if (!this._done) this._call.resume();
        } else if (this._head >= 4096 && this._head * 2 >= queue.length) {
          // A reader that keeps up without ever emptying the queue: drop the read slots.
          this._queue = queue.slice(this._head);
          this._head = 0;
        }
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
