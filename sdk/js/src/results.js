// Hook results for JS hooks: build them with these helpers (docs/semantics.md section 4).
//
// A hook returns `undefined` / `null` (CONTINUE), one of these objects, or a Promise of either;
// it throws / rejects to fail. Anything else is an invalid result: a plain object that merely
// looks like a result ({kind: "cancel"}) is rejected on purpose (no magic values).

import { create } from "@bufbuild/protobuf";
import { new_Duration } from "#generated/google/protobuf/duration_wire.js";
import {
  CacheResultSchema,
  CancelResultSchema,
  ForkOperationSchema,
  ForkResultSchema,
  RedirectResultSchema,
  ReplaceResultSchema,
  RetryResultSchema,
  SkippedResultSchema,
} from "#generated/hookwire/v1/hook_pb.js";
import { new_ContinueResult, new_HookResult, new_ModifiedResult } from "#generated/hookwire/v1/hook_wire.js";
import { describe, fromJsonObject, fromJsonValue, JsonConversionError, toJsonObject, toJsonValue } from "./json.js";
import { MAX_DURATION_MS, MAX_NAME_BYTES } from "./limits.js";

const BRAND = Symbol("hookwire.result");

/** A result built by one of the helpers below; `kind` names it, the other members carry it. */
export class HookResult {
  /**
   * @param {symbol} brand
   * @param {string} kind
   * @param {Record<string, unknown>} fields
   */
  constructor(brand, kind, fields) {
    if (brand !== BRAND) throw new TypeError("use the hookwire result helpers (modified, cancel, ...)");
    this.kind = kind;
    Object.assign(this, fields);
    Object.freeze(this);
  }
}

/** True when `v` was built by a result helper. */
export function isHookResult(v) {
  return v instanceof HookResult;
}

function mustString(v, name) {
  if (typeof v !== "string") throw new TypeError(`${name}: must be a string, got ${describe(v)}`);
  return v;
}

function mustName(v, name) {
  mustString(v, name);
  // UTF-16 units bound the UTF-8 length from below and 3x from above: encode only long ones.
  if (v.length * 3 > MAX_NAME_BYTES) {
    const size = Buffer.byteLength(v, "utf8");
    if (size > MAX_NAME_BYTES) throw new TypeError(`${name}: must be at most ${MAX_NAME_BYTES} bytes of UTF-8, got ${size}`);
  }
  return v;
}

function mustMs(v, name) {
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
    throw new TypeError(`${name}: must be a finite number of milliseconds >= 0, got ${describe(v)}`);
  }
  if (v > MAX_DURATION_MS) throw new TypeError(`${name}: must be at most ${MAX_DURATION_MS} ms (one day), got ${v}`);
  return v;
}

// A value with no JSON form (or nested too deep) in a result is an invalid result: the call
// ends `invalid_result`, as in Python and Lua, never a failed stream.
function asResult(convert) {
  try {
    return convert();
  } catch (e) {
    if (e instanceof JsonConversionError) throw new InvalidResultError(e.message);
    throw e;
  }
}

/** Milliseconds (fractions allowed) as a google.protobuf.Duration. */
export function msToDuration(ms) {
  return nsToDuration(BigInt(Math.round(ms * 1e6)));
}

/** Nanoseconds (bigint) as a google.protobuf.Duration. */
export function nsToDuration(ns) {
  // The generated zero message (deep-equal to create(DurationSchema)), filled in place.
  const d = new_Duration();
  d.seconds = ns / 1_000_000_000n;
  d.nanos = Number(ns % 1_000_000_000n);
  return d;
}

/** A Duration (or undefined) as milliseconds. */
export function durationToMs(d) {
  if (d === undefined) return 0;
  return Number(d.seconds) * 1000 + d.nanos / 1e6;
}

/**
 * CONTINUE, explicitly (returning `undefined` means the same).
 * @example return proceed();
 */
export function proceed() {
  return new HookResult(BRAND, "continue", {});
}

/**
 * MODIFIED: merge-patch `data` into the context data (RFC 7396; a member set to null deletes).
 * @param {Record<string, unknown>} data
 * @example return modified({ checked: true, secret: null });
 */
export function modified(data) {
  asResult(() => toJsonObject(data, "data")); // validate now, where the hook author can see the stack
  return new HookResult(BRAND, "modified", { data });
}

/**
 * CANCEL: stop the chain and the operation.
 * @param {string} reason
 * @example return cancel("quota exceeded");
 */
export function cancel(reason) {
  return new HookResult(BRAND, "cancel", { reason: mustString(reason, "reason") });
}

/**
 * REDIRECT: run the operation registered under `target` instead.
 * @param {string} target
 */
export function redirect(target) {
  return new HookResult(BRAND, "redirect", { target: mustName(target, "target") });
}

/**
 * REPLACE: use `value` as the operation's output (any JSON value, null included).
 * @param {unknown} value
 */
export function replace(value) {
  if (value === undefined) throw new TypeError("value: undefined is not a JSON value (use null)");
  asResult(() => toJsonValue(value, "value"));
  return new HookResult(BRAND, "replace", { value });
}

/**
 * RETRY: run the operation again after `delayMs`, `maxAttempts` attempts in all.
 * @param {number} delayMs
 * @param {number} maxAttempts
 */
export function retry(delayMs, maxAttempts) {
  mustMs(delayMs, "delayMs");
  if (!Number.isInteger(maxAttempts) || maxAttempts < 0 || maxAttempts > 0xffffffff) {
    throw new TypeError(`maxAttempts: must be an integer in 0..2^32-1, got ${describe(maxAttempts)}`);
  }
  return new HookResult(BRAND, "retry", { delayMs, maxAttempts });
}

/**
 * FORK: start `operations` beside the main one.
 * @param {{operation: string, parameters?: Record<string, unknown>}[]} operations
 * @example return fork([{ operation: "audit", parameters: { level: 2 } }]);
 */
export function fork(operations) {
  if (!Array.isArray(operations)) {
    throw new TypeError(`operations: must be an array, got ${describe(operations)}`);
  }
  const ops = operations.map((op, i) => {
    if (op === null || typeof op !== "object") {
      throw new TypeError(`operations[${i}]: must be an object, got ${describe(op)}`);
    }
    mustName(op.operation, `operations[${i}].operation`);
    const parameters = op.parameters ?? {};
    asResult(() => toJsonObject(parameters, `operations[${i}].parameters`));
    return Object.freeze({ operation: op.operation, parameters });
  });
  return new HookResult(BRAND, "fork", { operations: Object.freeze(ops) });
}

/**
 * CACHE: serve the output from cache under `key`, fresh for `ttlMs`.
 * @param {string} key
 * @param {number} ttlMs
 */
export function cache(key, ttlMs) {
  mustName(key, "key");
  mustMs(ttlMs, "ttlMs");
  return new HookResult(BRAND, "cache", { key, ttlMs });
}

/**
 * SKIPPED: the hook declined to act; the chain goes on.
 * @param {string} reason
 */
export function skipped(reason) {
  return new HookResult(BRAND, "skipped", { reason: mustString(reason, "reason") });
}

/**
 * A helper-built result (or undefined / null = CONTINUE) as a hookwire.v1.HookResult message.
 * Throws InvalidResultError for anything else.
 */
export function resultToProto(value) {
  return asResult(() => buildResult(value));
}

function buildResult(value) {
  if (value === undefined || value === null) return hookResult({ case: "continue", value: new_ContinueResult() });
  if (!(value instanceof HookResult)) {
    throw new InvalidResultError(
      `hook returned ${describe(value)}; return undefined/null (continue) or a result built with the SDK helpers`,
    );
  }
  let kind;
  switch (value.kind) {
    case "continue":
      kind = { case: "continue", value: new_ContinueResult() };
      break;
    case "modified": {
      // The hot kinds are built from the generated zero messages (deep-equal to create()).
      const modifiedResult = new_ModifiedResult();
      modifiedResult.data = toJsonObject(value.data, "data");
      kind = { case: "modified", value: modifiedResult };
      break;
    }
    case "cancel":
      kind = { case: "cancel", value: create(CancelResultSchema, { reason: value.reason }) };
      break;
    case "redirect":
      kind = { case: "redirect", value: create(RedirectResultSchema, { target: value.target }) };
      break;
    case "replace":
      kind = { case: "replace", value: create(ReplaceResultSchema, { value: toJsonValue(value.value, "value") }) };
      break;
    case "retry":
      kind = {
        case: "retry",
        value: create(RetryResultSchema, { delay: msToDuration(value.delayMs), maxAttempts: value.maxAttempts }),
      };
      break;
    case "fork":
      kind = {
        case: "fork",
        value: create(ForkResultSchema, {
          operations: value.operations.map((op, i) =>
            create(ForkOperationSchema, {
              operation: op.operation,
              parameters: toJsonObject(op.parameters, `operations[${i}].parameters`),
            }),
          ),
        }),
      };
      break;
    case "cache":
      kind = { case: "cache", value: create(CacheResultSchema, { key: value.key, ttl: msToDuration(value.ttlMs) }) };
      break;
    case "skipped":
      kind = { case: "skipped", value: create(SkippedResultSchema, { reason: value.reason }) };
      break;
    default:
      throw new InvalidResultError(`unknown result kind ${value.kind}`);
  }
  return hookResult(kind);
}

function hookResult(kind) {
  const message = new_HookResult();
  message.kind = kind;
  return message;
}

/**
 * A hookwire.v1.HookResult message as a plain description `{kind, ...}` (what clients read).
 * @example resultFromProto(execution.result) // { kind: "modified", data: { a: 1 } }
 */
export function resultFromProto(msg) {
  if (msg === undefined) return undefined;
  const { kind } = msg;
  const v = kind.value;
  switch (kind.case) {
    case "continue":
      return { kind: "continue" };
    case "modified":
      return { kind: "modified", data: fromJsonObject(v.data) };
    case "cancel":
      return { kind: "cancel", reason: v.reason };
    case "redirect":
      return { kind: "redirect", target: v.target };
    case "replace":
      return { kind: "replace", value: fromJsonValue(v.value) };
    case "retry":
      return { kind: "retry", delayMs: durationToMs(v.delay), maxAttempts: v.maxAttempts };
    case "fork":
      return {
        kind: "fork",
        operations: v.operations.map((op) => ({ operation: op.operation, parameters: fromJsonObject(op.parameters) })),
      };
    case "cache":
      return { kind: "cache", key: v.key, ttlMs: durationToMs(v.ttl) };
    case "skipped":
      return { kind: "skipped", reason: v.reason };
    default:
      return { kind: "unspecified" };
  }
}

/** A hook returned something that is not a result (reported with invalid_result = true). */
export class InvalidResultError extends TypeError {
  constructor(message) {
    super(message);
    this.name = "InvalidResultError";
  }
}
