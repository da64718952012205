// The hookwire remote worker: serve JS hooks to an executor over ExecutorService.Connect.
//
// Protocol (docs/server.md): hello -> welcome; register -> register_ack; then the executor sends
// HookCalls, many in flight, and the worker answers each with a HookCallResult carrying the same
// call_id, in any order. A hook publishes events with `call.publish(type, payload, opts)`: each
// goes on the same stream as a `publish` frame, ahead of the call's result, so the executor gives
// it its sequence before it applies the result (fire-and-forget: refusals are logged by the
// executor). If the stream breaks the worker reconnects with backoff and registers
// its hooks again; `close()` stops taking calls, lets the ones in flight finish, and ends it.
//
// Batching: the hello says `batching`, so the executor may send several calls as one
// `callBatch`; when its welcome says `batching` too, results finished while other calls are
// still running are held until the end of the event-loop turn (setImmediate) and go out as one
// `resultBatch` (a lone result stays a plain `result`). Each gRPC message costs far more than
// its bytes, so this multiplies what one stream carries with many calls in flight. The last
// result of a burst (nothing else in flight) goes out at once, so a lone call waits for nothing.

import { EventEmitter } from "node:events";
import { endHookSpan, inHookSpan, startHookSpan, traceparentOf } from "./otel.js";
import { create } from "@bufbuild/protobuf";
import { TimestampSchema } from "@bufbuild/protobuf/wkt";
import { Language } from "#generated/hookwire/v1/common_pb.js";
import { UniversalEventSchema } from "#generated/hookwire/v1/event_pb.js";
import { PublishRequestSchema } from "#generated/hookwire/v1/event_service_pb.js";
import {
  HookErrorSchema,
  RegisterHooksSchema,
  SequencedPublishSchema,
  UnregisterHooksSchema,
  WorkerHelloSchema,
  WorkerMessageSchema,
} from "#generated/hookwire/v1/executor_service_pb.js";
import {
  decodeExecutorMessage,
  decodeWorkerMessage,
  encodeExecutorMessage,
  encodeWorkerMessage,
} from "#generated/hookwire/v1/executor_service_wire.js";
import {
  BreakerConfigSchema,
  FailurePolicy,
  HookRegistrationSchema,
  Priority,
} from "#generated/hookwire/v1/hook_pb.js";
import { RealCallClock, VirtualCallClock } from "./clock.js";
import { contextFromProto, pointToProto } from "./context.js";
import { fromGrpcError, HookwireError } from "./errors.js";
import { describe, toJsonValue } from "./json.js";
import { InvalidResultError, msToDuration, nsToDuration, resultToProto } from "./results.js";
import { callMetadata, openChannel, wireCodec } from "./transport.js";

export const SDK_NAME = "hookwire-js/0.1.0";
const CONNECT = "/hookwire.v1.ExecutorService/Connect";
// Failures a retry cannot fix: report them instead of reconnecting forever.
// Event types: dot-separated tokens of [A-Za-z0-9_-]+ (docs/semantics.md section 8).
const EVENT_TYPE = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;
const PUBLISH_OPTIONS = new Set(["ttlMs", "source", "correlationId", "causationId", "metadata"]);
// The largest message the executor accepts (MAX_MESSAGE_BYTES in runtime/hookwire/runtime/limits.py).
const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;
const FATAL = new Set(["UNAUTHENTICATED", "PERMISSION_DENIED", "INVALID_ARGUMENT", "FAILED_PRECONDITION", "UNIMPLEMENTED"]);
const BREAKER_MS = { slowCallDurationMs: "slowCallDuration", openDurationMs: "openDuration", maxOpenDurationMs: "maxOpenDuration" };
const BREAKER_PLAIN = [
  "windowSize",
  "minimumCalls",
  "failureRateThreshold",
  "slowCallRateThreshold",
  "backoffMultiplier",
  "halfOpenProbes",
];

/**
 * Create a worker.
 *
 * @param {{address: string, token?: string, workerId?: string, tls?: boolean | object,
 *   virtualClock?: boolean, reconnect?: {initialDelayMs?: number, maxDelayMs?: number},
 *   closeGraceMs?: number, maxMessageBytes?: number}} options
 * @example
 *   const worker = createWorker({ address: "127.0.0.1:50051", token: "s3cret", workerId: "js-1" });
 *   worker.register("before_tool_execution", (ctx) => modified({ checked: true }), { name: "check", priority: -10 });
 *   await worker.start();
 *   // ... later
 *   await worker.close();
 */
export function createWorker(options) {
  return new Worker(options);
}

/**
 * Events: "connected" (connectionId), "disconnected" (HookwireError), "error" (HookwireError:
 * a fatal failure after start; the worker stops), "callError" (Error: a hook's failure, for logs).
 */
export class Worker extends EventEmitter {
  constructor(options) {
    super();
    const { client, baseMetadata } = openChannel(options);
    this._client = client;
    this._md = baseMetadata;
    this.workerId = options.workerId ?? `js-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    if (typeof this.workerId !== "string" || this.workerId === "") {
      throw new TypeError(`workerId: must be a non-empty string, got ${describe(options.workerId)}`);
    }
    this.virtualClock = Boolean(options.virtualClock);
    this._initialDelayMs = options.reconnect?.initialDelayMs ?? 100;
    this._maxDelayMs = options.reconnect?.maxDelayMs ?? 5000;
    this._closeGraceMs = options.closeGraceMs ?? 5000;
    this._hooks = new Map(); // name -> {fn, registration}
    this._inFlight = new Map(); // callId -> CallInfo
    this._pendingAcks = new Map(); // requestId -> {resolve, reject}
    this._requestIds = 1n;
    this._stream = null;
    this._closing = false;
    this._started = false;
    this._attempt = 0;
    this._reconnectTimer = null;
    this._idleWaiters = [];
    /** Executor-assigned id of the current connection ("" when disconnected). */
    this.connectionId = "";
    // The stream's hot path: generated straight-line codecs instead of reflective ones.
    // Result frames arrive encoded already (their size is checked first, see _writeResults).
    const msg = wireCodec(encodeWorkerMessage, decodeWorkerMessage);
    this._msg = { serialize: (m) => (Buffer.isBuffer(m) ? m : msg.serialize(m)), deserialize: msg.deserialize };
    this._maxMessageBytes = options.maxMessageBytes ?? MAX_MESSAGE_BYTES;
    this._exec = wireCodec(encodeExecutorMessage, decodeExecutorMessage);
    // Batching (see the top of this file): whether the executor accepts resultBatch, the
    // results held for the end of this turn, and whether their flush is scheduled.
    this._peerBatching = false;
    this._peerPublishAcks = false;
    this._heldResults = [];
    this._flushScheduled = false;
    this._inCallBatch = false;
    this._flushHeld = () => {
      this._flushScheduled = false;
      this._flushResults();
    };
  }

  /** Calls running now. */
  get inFlight() {
    return this._inFlight.size;
  }

  /** True while a stream is open and welcomed. */
  get connected() {
    return this.connectionId !== "";
  }

  /**
   * Register a hook. `fn(ctx, call)` gets the context (see context.js) and
   * `{callId, hookName, clock, signal, timeoutMs}`; it returns undefined/null (continue), an SDK
   * result, or a Promise of either, and throws / rejects to fail. Options: `name` (default
   * `fn.name`), `priority` (int or "HIGHEST" | "HIGH" | "NORMAL" | "LOW" | "LOWEST"), `timeoutMs`
   * (100), `failurePolicy` ("FAIL_OPEN" | "FAIL_CLOSED"), `tags`, `feature`, `enabled`, `breaker`
   * ({windowSize, minimumCalls, failureRateThreshold, slowCallDurationMs, ...}).
   * Resolves once the executor accepted it (immediately when the worker is not connected yet:
   * hooks are registered at every (re)connect); rejects with a HookwireError (e.g.
   * ALREADY_EXISTS) and forgets the hook when the executor refuses it.
   *
   * @param {string} point
   * @param {(ctx: object, call: object) => unknown} fn
   * @param {object} [options]
   */
  register(point, fn, options = {}) {
    if (typeof fn !== "function") throw new TypeError(`fn: must be a function, got ${describe(fn)}`);
    const name = options.name ?? fn.name;
    if (typeof name !== "string" || name === "") {
      throw new TypeError("options.name: must be a non-empty string (the function has no name either)");
    }
    if (this._hooks.has(name)) throw new HookwireError("ALREADY_EXISTS", `name: hook '${name}' is already registered on this worker`);
    const registration = buildRegistration(point, name, options);
    this._hooks.set(name, { fn, registration });
    if (!this.connected) return Promise.resolve();
    return this._register([registration]).catch((err) => {
      this._hooks.delete(name);
      throw err;
    });
  }

  /**
   * The former name of `register` (docs/naming.md); deprecated, kept for existing callers.
   * @deprecated use `register`
   */
  registerHook(point, fn, options = {}) {
    return this.register(point, fn, options);
  }

  /** Remove a hook (from the executor too when connected). */
  async unregister(name) {
    if (!this._hooks.delete(name)) throw new HookwireError("NOT_FOUND", `name: no hook '${name}' on this worker`);
    if (!this.connected) return;
    const requestId = this._requestIds++;
    const ack = this._awaitAck(requestId);
    this._write({ case: "unregister", value: create(UnregisterHooksSchema, { names: [name], requestId }) });
    await ack;
  }

  /**
   * The former name of `unregister`; deprecated, kept for existing callers.
   * @deprecated use `unregister`
   */
  unregisterHook(name) {
    return this.unregister(name);
  }

  /**
   * Connect, say hello, register every hook. Resolves when they are registered; rejects on a
   * failure a retry cannot fix (wrong token, refused registration). While the server is
   * unreachable it keeps retrying with backoff.
   */
  start() {
    if (this._started) return Promise.reject(new HookwireError("FAILED_PRECONDITION", "worker: already started"));
    this._started = true;
    return new Promise((resolve, reject) => {
      this._firstStart = { resolve, reject };
      this._connect();
    });
  }

  _connect() {
    if (this._closing) return;
    const stream = this._client.makeBidiStreamRequest(
      CONNECT,
      this._msg.serialize,
      this._exec.deserialize,
      callMetadata(this._md),
      {},
    );
    this._stream = stream;
    let ended = false;
    const onEnd = (err) => {
      if (ended) return;
      ended = true;
      this._onStreamEnd(stream, err);
    };
    stream.on("data", (msg) => this._onMessage(msg));
    stream.on("error", (err) => onEnd(fromGrpcError(err)));
    stream.on("status", (st) => {
      if (st.code === 0) onEnd(new HookwireError("UNAVAILABLE", "the executor ended the worker stream"));
    });
    stream.write(
      create(WorkerMessageSchema, {
        message: {
          case: "hello",
          value: create(WorkerHelloSchema, {
            workerId: this.workerId,
            language: Language.JAVASCRIPT,
            sdk: SDK_NAME,
            virtualClock: this.virtualClock,
            batching: true,
          }),
        },
      }),
    );
  }

  _onStreamEnd(stream, err) {
    if (this._stream !== stream) return;
    this._stream = null;
    this.connectionId = "";
    this._peerBatching = false;
    this._peerPublishAcks = false;
    this._heldResults = [];
    // The executor fails our calls in flight itself; answers can no longer be delivered.
    for (const c of this._inFlight.values()) c._abort();
    this._inFlight.clear();
    for (const p of this._pendingAcks.values()) p.reject(err);
    this._pendingAcks.clear();
    this._notifyIdle();
    if (this._closing) {
      this._closed?.();
      return;
    }
    this.emit("disconnected", err);
    if (FATAL.has(err.code)) {
      if (this._firstStart) {
        this._firstStart.reject(err);
        this._firstStart = null;
      } else if (this.listenerCount("error")) {
        this.emit("error", err);
      }
      this._closing = true;
      this._client.close();
      return;
    }
    const delay = Math.min(this._maxDelayMs, this._initialDelayMs * 2 ** this._attempt);
    this._attempt += 1;
    this._reconnectTimer = setTimeout(() => {
      this._reconnectTimer = null;
      this._connect();
    }, delay);
  }

  _onMessage(msg) {
    const m = msg.message;
    switch (m.case) {
      case "call":
        this._onCall(m.value);
        break;
      case "callBatch":
        // Results of hooks that finish right away are held until the whole batch has run, so
        // that they go back as one resultBatch too.
        this._inCallBatch = true;
        try {
          for (const call of m.value.calls) this._onCall(call);
        } finally {
          this._inCallBatch = false;
        }
        if (this._inFlight.size === 0) this._flushResults();
        break;
      case "welcome":
        this._peerBatching = m.value.batching;
        this._peerPublishAcks = m.value.publishAcks;
        this._onWelcome(m.value.connectionId);
        break;
      case "registerAck": {
        const p = this._pendingAcks.get(m.value.requestId);
        if (!p) break;
        this._pendingAcks.delete(m.value.requestId);
        if (m.value.error) p.reject(new HookwireError(m.value.code || "UNKNOWN", m.value.error));
        else p.resolve();
        break;
      }
      case "publishAck": {
        const p = this._pendingAcks.get(m.value.requestId);
        if (!p) break;
        this._pendingAcks.delete(m.value.requestId);
        if (m.value.error) p.reject(new HookwireError(m.value.code || "UNKNOWN", m.value.error));
        else p.resolve(m.value.sequences[0]);
        break;
      }
      case "cancel": {
        const c = this._inFlight.get(m.value.callId);
        if (c) {
          this._inFlight.delete(m.value.callId);
          c._abort();
          this._notifyIdle();
        }
        break;
      }
      default:
        break;
    }
  }

  _onWelcome(connectionId) {
    this.connectionId = connectionId;
    this._attempt = 0;
    const regs = [...this._hooks.values()].map((h) => h.registration);
    const done = regs.length ? this._register(regs) : Promise.resolve();
    done.then(
      () => {
        this.emit("connected", connectionId);
        if (this._firstStart) {
          this._firstStart.resolve();
          this._firstStart = null;
        }
      },
      (err) => {
        if (this._firstStart) {
          this._firstStart.reject(err);
          this._firstStart = null;
          this.close();
        } else if (this.listenerCount("error")) {
          this.emit("error", err);
        }
      },
    );
  }

  _register(registrations) {
    const requestId = this._requestIds++;
    const ack = this._awaitAck(requestId);
    this._write({ case: "register", value: create(RegisterHooksSchema, { hooks: registrations, requestId }) });
    return ack;
  }

  _awaitAck(requestId) {
    return new Promise((resolve, reject) => this._pendingAcks.set(requestId, { resolve, reject }));
  }

  _write(message) {
    // Held results first: the stream keeps the order in which things happened.
    if (this._heldResults.length) this._flushResults();
    // A plain object: the generated encoder takes one (no create() on the hot path).
    if (this._stream) this._stream.write({ message });
  }

  // Send one result: at once when it is the last call in flight or the executor does not take
  // batches, else held for the end of this turn so that results finishing together share a frame.
  _sendResult(result) {
    const last = this._inFlight.size === 0 && !this._inCallBatch;
    if (!this._peerBatching || (last && this._heldResults.length === 0)) {
      if (this._heldResults.length) this._flushResults();
      if (this._stream) this._writeResults([result]);
      return;
    }
    this._heldResults.push(result);
    if (last) {
      this._flushResults();
    } else if (!this._flushScheduled) {
      this._flushScheduled = true;
      setImmediate(this._flushHeld);
    }
  }

  _flushResults() {
    const results = this._heldResults;
    if (!results.length) return;
    this._heldResults = [];
    if (!this._stream) return;
    this._writeResults(results);
  }

  // Write results as one frame, encoded here so that its size is known: a frame over the
  // executor's message limit would end the whole stream, so a batch is split, and a single result
  // that is too large alone fails its own call (an invalid result naming its size) instead.
  _writeResults(results) {
    const message =
      results.length === 1
        ? { case: "result", value: results[0] }
        : { case: "resultBatch", value: { results } };
    const bytes = this._msg.serialize({ message });
    if (bytes.length <= this._maxMessageBytes) {
      this._stream.write(bytes);
    } else if (results.length > 1) {
      const half = results.length >> 1;
      this._writeResults(results.slice(0, half));
      this._writeResults(results.slice(half));
    } else {
      const { callId, clockAdvance } = results[0];
      const err = new InvalidResultError(
        `result: ${bytes.length} bytes encoded, over the ${this._maxMessageBytes}-byte message limit`,
      );
      this.emit("callError", err);
      this._writeResults([{ callId, clockAdvance, outcome: { case: "error", value: hookError(err) } }]);
    }
  }

  _onCall(call) {
    const callId = call.callId;
    const entry = this._hooks.get(call.hookName);
    // Real time is never advanced, so every real-time call can share one clock.
    const clock = this.virtualClock ? new VirtualCallClock(call.clockNowUnixNanos) : REAL_CLOCK;
    if (!entry) {
      this._answer(callId, clock, undefined, new HookwireError("NOT_FOUND", `no hook '${call.hookName}' on worker ${this.workerId}`));
      return;
    }
    if (this._closing) {
      this._answer(callId, clock, undefined, new HookwireError("UNAVAILABLE", `worker ${this.workerId} is closing`));
      return;
    }
    const info = new CallInfo(this, call, clock);
    this._inFlight.set(callId, info);
    const ctx = contextFromProto(call.context);
    info._ctx = ctx;
    info._span = startHookSpan(call.hookName, ctx.distributed?.traceparent);
    let value;
    try {
      value = inHookSpan(info._span, () => entry.fn(ctx, info));
    } catch (err) {
      this._finishCall(callId, clock, undefined, err);
      return;
    }
    if (value !== null && typeof value === "object" && typeof value.then === "function") {
      value.then(
        (v) => this._finishCall(callId, clock, v, undefined, false),
        (err) => this._finishCall(callId, clock, undefined, err ?? new Error(String(err))),
      );
    } else {
      this._finishCall(callId, clock, value, undefined, false);
    }
  }

  // An event from a hook: stamped with the call's clock (virtual time under virtualClock) and
  // written now, so it precedes the call's result on the stream. Resolves to its sequence (the
  // executor's PublishAck), or rejects with the bus's refusal. It carries the hook call's
  // attributes (docs/events.md, "Events published by hooks"): the execution's correlation id,
  // the causation id `<point>/<hook name>` and the hook's trace context; options given win.
  _publish(info, type, payload, opts = {}) {
    const clock = info.clock;
    if (typeof type !== "string" || !EVENT_TYPE.test(type)) {
      throw new TypeError(`type: invalid event type ${typeof type === "string" ? JSON.stringify(type) : describe(type)}: expected dot-separated tokens of [A-Za-z0-9_-]+`);
    }
    if (opts === null || typeof opts !== "object") throw new TypeError(`opts: must be an object, got ${describe(opts)}`);
    for (const key of Object.keys(opts)) {
      if (!PUBLISH_OPTIONS.has(key)) throw new TypeError(`opts.${key}: unknown option (known: ${[...PUBLISH_OPTIONS].join(", ")})`);
    }
    const ttl = opts.ttlMs;
    if (ttl !== undefined && (typeof ttl !== "number" || !Number.isFinite(ttl) || ttl < 0)) {
      throw new TypeError(`opts.ttlMs: must be a finite number >= 0, got ${describe(ttl)}`);
    }
    for (const [k, v] of Object.entries(opts.metadata ?? {})) {
      if (typeof v !== "string") throw new TypeError(`opts.metadata.${k}: must be a string, got ${describe(v)}`);
    }
    if (!this._stream || !this.connected) throw new HookwireError("FAILED_PRECONDITION", "worker: not connected: publish needs a live stream");
    for (const key of ["source", "correlationId", "causationId"]) {
      if (opts[key] !== undefined && typeof opts[key] !== "string") throw new TypeError(`opts.${key}: must be a string, got ${describe(opts[key])}`);
    }
    const ctx = info._ctx;
    const ns = clock.nowNs();
    const init = {
      type,
      sourceLanguage: Language.JAVASCRIPT,
      payload: toJsonValue(payload, "payload"),
      source: opts.source ?? "",
      correlationId: opts.correlationId || ctx.correlationId,
      causationId: opts.causationId || `${ctx.point}/${info.hookName}`,
      metadata: { ...(opts.metadata ?? {}) },
      time: create(TimestampSchema, { seconds: ns / 1_000_000_000n, nanos: Number(ns % 1_000_000_000n) }),
    };
    if (opts.ttlMs !== undefined) init.ttl = msToDuration(opts.ttlMs);
    // The hook span's context when OpenTelemetry traces this call, else the call context's.
    const traceparent = traceparentOf(info._span) || ctx.distributed?.traceparent || "";
    const tracestate = ctx.distributed?.tracestate ?? "";
    if (traceparent || tracestate) init.traceContext = { traceparent, tracestate };
    const event = create(UniversalEventSchema, init);
    if (!this._peerPublishAcks) {
      // An executor that does not answer publishes: fire-and-forget.
      this._write({ case: "publish", value: create(PublishRequestSchema, { events: [event] }) });
      return Promise.resolve(undefined);
    }
    const requestId = this._requestIds++;
    const ack = this._awaitAck(requestId);
    // A hook that does not await its publish must not crash node with an unhandled rejection:
    // the executor logs and counts refusals too.
    ack.catch(() => {});
    this._write({ case: "sequencedPublish", value: create(SequencedPublishSchema, { requestId, events: [event] }) });
    return ack;
  }

  _finishCall(callId, clock, value, err, failed = true) {
    const info = this._inFlight.get(callId);
    if (info !== undefined && info._span !== null) endHookSpan(info._span, failed ? err : undefined);
    // Cancelled (or the stream broke): nobody waits for this answer any more.
    if (!this._inFlight.delete(callId)) return;
    this._answer(callId, clock, value, failed ? err : undefined, failed);
    this._notifyIdle();
  }

  _answer(callId, clock, value, err, failed = err !== undefined) {
    const init = { callId, outcome: undefined, clockAdvance: undefined };
    if (failed) {
      init.outcome = { case: "error", value: hookError(err) };
      this.emit("callError", err);
    } else {
      try {
        init.outcome = { case: "result", value: resultToProto(value) };
      } catch (e) {
        init.outcome = { case: "error", value: hookError(e) };
      }
    }
    if (clock.advancedNs > 0n) init.clockAdvance = nsToDuration(clock.advancedNs);
    this._sendResult(init); // a plain HookCallResult, as the generated encoder takes it
  }

  _notifyIdle() {
    if (this._inFlight.size) return;
    const waiters = this._idleWaiters;
    this._idleWaiters = [];
    for (const w of waiters) w();
  }

  /**
   * Clean shutdown: unregister the hooks (the executor routes no new call here), wait (up to
   * `graceMs`, default `closeGraceMs`) for calls in flight to answer, end the stream and close
   * the channel. Idempotent.
   */
  async close(graceMs = this._closeGraceMs) {
    if (this._closePromise) return this._closePromise;
    this._closing = true;
    if (this._reconnectTimer) clearTimeout(this._reconnectTimer);
    this._closePromise = (async () => {
      // First take the hooks out of the executor's chains, so that no new call is routed here
      // (and failed) while the calls in flight finish.
      if (this.connected && this._hooks.size) {
        const requestId = this._requestIds++;
        const ack = this._awaitAck(requestId).catch(() => {});
        this._write({ case: "unregister", value: create(UnregisterHooksSchema, { names: [...this._hooks.keys()], requestId }) });
        await Promise.race([ack, new Promise((resolve) => setTimeout(resolve, graceMs).unref())]);
      }
      if (this._inFlight.size) {
        await Promise.race([
          new Promise((resolve) => this._idleWaiters.push(resolve)),
          new Promise((resolve) => setTimeout(resolve, graceMs).unref()),
        ]);
      }
      this._flushResults();
      const stream = this._stream;
      if (stream) {
        const ended = new Promise((resolve) => {
          this._closed = resolve;
          setTimeout(resolve, 1000).unref();
        });
        stream.end();
        await ended;
        stream.cancel();
      }
      this._stream = null;
      this.connectionId = "";
      if (this._firstStart) {
        this._firstStart.reject(new HookwireError("CANCELLED", "worker closed before it started"));
        this._firstStart = null;
      }
      this._client.close();
    })();
    return this._closePromise;
  }
}

const REAL_CLOCK = new RealCallClock();

/**
 * What a hook gets as its second argument: `{callId, hookName, clock, timeoutMs, signal,
 * publish(type, payload, opts)}`. One object a call, no closures; the AbortController behind
 * `signal` is made only when a hook reads it (most never do).
 */
class CallInfo {
  constructor(worker, call, clock) {
    this.callId = call.callId;
    this.hookName = call.hookName;
    this.clock = clock;
    this.timeoutMs = call.timeout ? Number(call.timeout.seconds) * 1000 + call.timeout.nanos / 1e6 : 0;
    this._worker = worker;
    this._controller = null;
    this._aborted = false;
    this._span = null;
    this._ctx = null;
  }

  /** AbortSignal: aborted when the executor cancels the call or the stream breaks. */
  get signal() {
    if (this._controller === null) {
      this._controller = new AbortController();
      if (this._aborted) this._controller.abort();
    }
    return this._controller.signal;
  }

  /**
   * `publish(type, payload, opts)`: an event from this hook, written ahead of the call's result.
   * A getter so that `const { publish } = call` works without a closure on every call.
   */
  get publish() {
    return (type, payload, opts) => this._worker._publish(this, type, payload, opts);
  }

  _abort() {
    this._aborted = true;
    this._controller?.abort();
  }
}

function hookError(err) {
  if (err instanceof InvalidResultError) {
    return create(HookErrorSchema, { type: "InvalidResultError", message: err.message, invalidResult: true });
  }
  if (err instanceof Error) {
    // The message alone, as Python's str(exc) and Lua's error(msg, 0) give it, so that one
    // failure reads the same in every language; the stack stays with the "callError" event.
    return create(HookErrorSchema, { type: err.name || err.constructor?.name || "Error", message: err.message });
  }
  return create(HookErrorSchema, { type: "Thrown", message: `non-Error value thrown: ${describe(err)}` });
}

function buildRegistration(point, name, o) {
  const { point: p, customPoint } = pointToProto(point, "point");
  let priority = o.priority ?? 0;
  if (typeof priority === "string") {
    const v = Priority[priority.toUpperCase()];
    if (typeof v !== "number") throw new TypeError(`options.priority: unknown level ${JSON.stringify(priority)}`);
    priority = v;
  }
  if (!Number.isInteger(priority) || priority < -(2 ** 31) || priority > 2 ** 31 - 1) {
    throw new TypeError(`options.priority: must be an int32 or a level name, got ${describe(o.priority)}`);
  }
  const init = { name, point: p, customPoint, priority, language: Language.JAVASCRIPT, tags: o.tags ?? [] };
  if (o.timeoutMs !== undefined) {
    if (typeof o.timeoutMs !== "number" || !(o.timeoutMs > 0)) {
      throw new TypeError(`options.timeoutMs: must be a positive number, got ${describe(o.timeoutMs)}`);
    }
    init.timeout = msToDuration(o.timeoutMs);
  }
  if (o.failurePolicy !== undefined) {
    const v = FailurePolicy[String(o.failurePolicy).toUpperCase()];
    if (typeof v !== "number" || v === 0) {
      throw new TypeError(`options.failurePolicy: must be "FAIL_OPEN" or "FAIL_CLOSED", got ${describe(o.failurePolicy)}`);
    }
    init.failurePolicy = v;
  }
  if (!Array.isArray(init.tags) || init.tags.some((t) => typeof t !== "string")) {
    throw new TypeError(`options.tags: must be an array of strings, got ${describe(o.tags)}`);
  }
  if (o.feature !== undefined) init.feature = String(o.feature);
  if (o.enabled !== undefined) init.enabled = Boolean(o.enabled);
  if (o.breaker !== undefined) {
    const b = {};
    for (const [k, v] of Object.entries(o.breaker)) {
      if (k in BREAKER_MS) b[BREAKER_MS[k]] = msToDuration(v);
      else if (BREAKER_PLAIN.includes(k)) b[k] = v;
      else throw new TypeError(`options.breaker.${k}: unknown breaker setting`);
    }
    init.breaker = create(BreakerConfigSchema, b);
  }
  return create(HookRegistrationSchema, init);
}
