// Type declarations of @hookwire/sdk (hand-written; the package ships plain ESM JavaScript).

import type { EventEmitter } from "node:events";
import type { Execution } from "../generated/hookwire/v1/hook_pb.js";
import type { HookContext as HookContextMessage, HookResult as HookResultMessage } from "../generated/hookwire/v1/hook_pb.js";
import type { JsonObject as JsonObjectMessage, JsonValue as JsonValueMessage } from "../generated/hookwire/v1/json_pb.js";

/** A JSON value as plain JS: integers beyond 2^53 are bigint, exotic numbers JsonNumberText. */
export type Json = null | boolean | number | bigint | string | JsonNumberText | Json[] | { [key: string]: Json | undefined };
export type JsonObject = { [key: string]: Json | undefined };

export class JsonNumberText {
  constructor(text: string);
  readonly text: string;
}
export class JsonConversionError extends TypeError {
  readonly path: string;
}
export function toJsonValue(value: unknown, path?: string): JsonValueMessage | undefined;
export function toJsonObject(obj: JsonObject, path?: string): JsonObjectMessage;
export function fromJsonValue(msg: JsonValueMessage | undefined): Json | undefined;
export function fromJsonObject(msg: JsonObjectMessage | undefined): JsonObject;

/** "before_tool_execution", ... or "custom:<name>". */
export type Point = string;

/** What a hook sees. */
export interface HookContext {
  point: Point;
  data: JsonObject;
  metadata: Record<string, string>;
  correlationId: string;
  language: string;
  timestampNs?: bigint;
  component?: { id: string; type: string; name: string };
  operation?: { type: string; id: string; parameters?: Json; result?: Json; error?: { code: string; message: string } };
  parent?: HookContext;
  distributed?: { remoteAgentId: string; traceparent: string; tracestate: string };
}

/** What a client passes to execute(). */
export interface ExecuteContext {
  point: Point;
  data?: JsonObject;
  metadata?: Record<string, string>;
  correlationId?: string;
  timestampNs?: bigint | number;
  component?: { id?: string; type?: string; name?: string };
  operation?: { type?: string; id?: string; parameters?: Json; result?: Json; error?: { code?: string; message?: string } };
  parent?: ExecuteContext;
  traceparent?: string;
  tracestate?: string;
  remoteAgentId?: string;
}
export function contextFromProto(pb: HookContextMessage): HookContext;
export function contextToProto(ctx: ExecuteContext, field?: string): HookContextMessage;
export function pointToProto(text: Point, field?: string): { point: number; customPoint: string };
export function pointFromProto(point: number, customPoint: string): Point;

// -- results -----------------------------------------------------------------------------------

export class HookResult {
  private constructor();
  readonly kind: "continue" | "modified" | "cancel" | "redirect" | "replace" | "retry" | "fork" | "cache" | "skipped";
}
/** The plain description of a result as clients read it. */
export type ResultDescription =
  | { kind: "continue" }
  | { kind: "modified"; data: JsonObject }
  | { kind: "cancel"; reason: string }
  | { kind: "redirect"; target: string }
  | { kind: "replace"; value: Json | undefined }
  | { kind: "retry"; delayMs: number; maxAttempts: number }
  | { kind: "fork"; operations: { operation: string; parameters: JsonObject }[] }
  | { kind: "cache"; key: string; ttlMs: number }
  | { kind: "skipped"; reason: string }
  | { kind: "unspecified" };

export function proceed(): HookResult;
/** CONTINUE under its name in every SDK: `hookwire.continue()` with a namespace import
 * (`continue` is a reserved word, so a named import takes `proceed`, the same function). */
export { proceed as continue };
export function modified(data: JsonObject): HookResult;
export function cancel(reason: string): HookResult;
export function redirect(target: string): HookResult;
export function replace(value: Json): HookResult;
export function retry(delayMs: number, maxAttempts: number): HookResult;
export function fork(operations: { operation: string; parameters?: JsonObject }[]): HookResult;
export function cache(key: string, ttlMs: number): HookResult;
export function skipped(reason: string): HookResult;
export function isHookResult(v: unknown): v is HookResult;
export function resultToProto(value: HookResult | undefined | null): HookResultMessage;
export function resultFromProto(msg: HookResultMessage | undefined): ResultDescription | undefined;
export class InvalidResultError extends TypeError {}

// -- errors ------------------------------------------------------------------------------------

export class HookwireError extends Error {
  /** gRPC status name: "UNAUTHENTICATED", "INVALID_ARGUMENT", "NOT_FOUND", ... */
  readonly code: string;
  readonly details: string;
}

// -- client ------------------------------------------------------------------------------------

export interface ConnectionOptions {
  /** "host:port" */
  address: string;
  token?: string;
  tls?: boolean | { rootCert?: string | Buffer; serverName?: string };
  channelOptions?: Record<string, unknown>;
}
export interface CallOptions {
  deadlineMs?: number;
  correlationId?: string;
  traceparent?: string;
  tracestate?: string;
}
export interface TraceEntry {
  hook: string;
  language: string;
  outcome: string;
  reason: string;
  durationMs: number;
  slow: boolean;
  breaker: string;
}
export interface ExecuteOutcome {
  result: ResultDescription;
  context: HookContext;
  trace: TraceEntry[];
  execution: Execution;
}
export interface EventInput {
  type: string;
  payload?: Json;
  source?: string;
  id?: string;
  correlationId?: string;
  causationId?: string;
  metadata?: Record<string, string>;
  ttlMs?: number;
  timeNs?: bigint | number;
  traceparent?: string;
  tracestate?: string;
}
export interface HookwireEvent {
  id: string;
  type: string;
  source: string;
  sourceLanguage: string;
  sequence: bigint;
  payload: Json | undefined;
  correlationId: string;
  causationId: string;
  metadata: Record<string, string>;
  timeNs?: bigint;
  ttlMs?: number;
  traceparent: string;
  tracestate: string;
}
export type Overflow =
  | "drop_oldest"
  | "drop_newest"
  | { backpressure: { timeoutMs?: number } }
  | { sample: { rate: number; highWaterMark?: number } };
export interface SubscribeOptions {
  patterns: string[] | string;
  fromSequence?: number | bigint;
  capacity?: number;
  overflow?: Overflow;
  maxBatchSize?: number;
  resumeAttempts?: number;
}
export interface SubscriptionStats {
  received: bigint;
  delivered: bigint;
  queued: bigint;
  droppedOldest: bigint;
  droppedNewest: bigint;
  sampledOut: bigint;
  timedOut: bigint;
  expired: bigint;
}
export interface Subscription extends AsyncIterableIterator<HookwireEvent> {
  readonly stats: SubscriptionStats | undefined;
  cancel(): void;
}
export interface HookInfo {
  name: string;
  point: Point;
  priority: number;
  language: string;
  timeoutMs: number;
  failurePolicy: string;
  tags: string[];
  feature: string;
  enabled: boolean;
}
export interface BreakerInfo {
  hookName: string;
  state: string;
  windowCalls: number;
  windowFailures: number;
  windowSlow: number;
  currentOpenDurationMs: number;
  probesInFlight: number;
  goodProbes: number;
}
export class HookwireClient {
  constructor(options: ConnectionOptions);
  execute(context: ExecuteContext, opts?: CallOptions): Promise<ExecuteOutcome>;
  publish(events: EventInput[], opts?: CallOptions): Promise<bigint[]>;
  subscribe(options: SubscribeOptions): Subscription;
  listHooks(filter?: { point?: Point; language?: string; tags?: string[] }): Promise<HookInfo[]>;
  breakerStates(hookNames?: string[]): Promise<BreakerInfo[]>;
  /** @deprecated use `breakerStates` */
  breakerState(hookNames?: string[]): Promise<BreakerInfo[]>;
  resetBreaker(hookName: string): Promise<BreakerInfo>;
  close(): void;
}
export function createClient(options: ConnectionOptions): HookwireClient;
export function eventFromProto(pb: unknown): HookwireEvent;

// -- worker ------------------------------------------------------------------------------------

export interface CallClock {
  nowNs(): bigint;
  nowMs(): number;
  /** Virtual clock only: let `ms` pass. */
  advanceMs(ms: number): void;
  sleep(ms: number): Promise<void>;
  readonly advancedNs: bigint;
}
export class VirtualCallClock implements CallClock {
  constructor(startNs: bigint);
  nowNs(): bigint;
  nowMs(): number;
  advanceMs(ms: number): void;
  sleep(ms: number): Promise<void>;
  readonly advancedNs: bigint;
}
export class RealCallClock implements CallClock {
  nowNs(): bigint;
  nowMs(): number;
  advanceMs(ms: number): never;
  sleep(ms: number): Promise<void>;
  readonly advancedNs: bigint;
}
export interface CallInfo {
  callId: bigint;
  hookName: string;
  clock: CallClock;
  /** Aborted when the executor gives up on the call (CancelCall) or the stream breaks. */
  signal: AbortSignal;
  timeoutMs: number;
  /**
   * Publish an event from this call on the executor's bus: sent on the worker's stream ahead of
   * the call's result (so its sequence comes first), stamped with `clock` (the call's virtual
   * time under `virtualClock`), source language JAVASCRIPT. `payload` undefined = no payload.
   * Resolves to the event's sequence once the executor published it; rejects with the bus's
   * refusal (e.g. RESOURCE_EXHAUSTED for the rate limit), which the executor also logs.
   * Throws TypeError for a bad type or option, HookwireError FAILED_PRECONDITION when not connected.
   * @example call.publish("tool.checked", { ok: true }, { ttlMs: 500 });
   */
  publish(type: string, payload?: Json, opts?: PublishOptions): Promise<bigint>;
}
export interface PublishOptions {
  ttlMs?: number;
  source?: string;
  /** Default: the execution's correlation id (the call context's). */
  correlationId?: string;
  /** Default: the hook call, `<point>/<hook name>`. */
  causationId?: string;
  metadata?: Record<string, string>;
}
export type HookReturn = HookResult | undefined | null | void;
export type HookFn = (ctx: HookContext, call: CallInfo) => HookReturn | Promise<HookReturn>;
export interface BreakerOptions {
  windowSize?: number;
  minimumCalls?: number;
  failureRateThreshold?: number;
  slowCallDurationMs?: number;
  slowCallRateThreshold?: number;
  openDurationMs?: number;
  backoffMultiplier?: number;
  maxOpenDurationMs?: number;
  halfOpenProbes?: number;
}
export interface HookOptions {
  name?: string;
  priority?: number | "HIGHEST" | "HIGH" | "NORMAL" | "LOW" | "LOWEST";
  timeoutMs?: number;
  failurePolicy?: "FAIL_OPEN" | "FAIL_CLOSED";
  tags?: string[];
  feature?: string;
  enabled?: boolean;
  breaker?: BreakerOptions;
}
export interface WorkerOptions extends ConnectionOptions {
  workerId?: string;
  /** Run hooks on the executor's virtual clock (conformance runs). */
  virtualClock?: boolean;
  reconnect?: { initialDelayMs?: number; maxDelayMs?: number };
  closeGraceMs?: number;
  /** Largest frame sent to the executor (default 4 MiB, its limit); a larger result fails its call. */
  maxMessageBytes?: number;
}
export class Worker extends EventEmitter {
  constructor(options: WorkerOptions);
  readonly workerId: string;
  readonly connectionId: string;
  readonly connected: boolean;
  readonly inFlight: number;
  register(point: Point, fn: HookFn, options?: HookOptions): Promise<void>;
  unregister(name: string): Promise<void>;
  /** @deprecated use `register` */
  registerHook(point: Point, fn: HookFn, options?: HookOptions): Promise<void>;
  /** @deprecated use `unregister` */
  unregisterHook(name: string): Promise<void>;
  start(): Promise<void>;
  close(graceMs?: number): Promise<void>;
}
export function createWorker(options: WorkerOptions): Worker;
export const SDK_NAME: string;

/**
 * Use this `@opentelemetry/api` object for hook spans (null turns them off). By default the
 * worker imports `@opentelemetry/api` when it is installed: each hook call then runs in a span
 * `hookwire.hook <name>`, child of the executor's hook span, and events it publishes carry it.
 */
export function setOpenTelemetryApi(api: unknown): void;

/** The result kinds ("CONTINUE", "MODIFIED", ...) the callers of each built-in point honour. */
export declare const HONOURED: Readonly<Record<string, readonly string[]>>;
/**
 * The result kinds the callers of `point` honour: the built-in table, or for "custom:<name>" the
 * kinds `declared` in its registration (undefined: every kind); CONTINUE and SKIPPED always.
 */
export declare function honouredResults(point: string, declared?: readonly string[]): readonly string[];
