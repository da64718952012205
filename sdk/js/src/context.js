// Hook contexts and points between their wire form (hookwire.v1.HookContext) and plain JS.

import { create } from "@bufbuild/protobuf";
import { Language } from "#generated/hookwire/v1/common_pb.js";
import { ComponentType, HookContextSchema, HookPoint } from "#generated/hookwire/v1/hook_pb.js";
import { describe, fromJsonObject, fromJsonValue, toJsonObject, toJsonValue } from "./json.js";

const CUSTOM = "custom:";

/**
 * A point's text form ("before_tool_execution", "custom:<name>") as {point, customPoint}.
 * @param {string} text
 * @param {string} [field] argument name for errors
 */
export function pointToProto(text, field = "point") {
  if (typeof text !== "string") throw new TypeError(`${field}: must be a string, got ${describe(text)}`);
  if (text.startsWith(CUSTOM)) {
    const name = text.slice(CUSTOM.length);
    if (!name) throw new TypeError(`${field}: custom point needs a name after "custom:"`);
    return { point: HookPoint.CUSTOM, customPoint: name };
  }
  const key = text.toUpperCase();
  const value = HookPoint[key];
  if (typeof value !== "number" || key === "UNSPECIFIED" || key === "CUSTOM" || text !== text.toLowerCase()) {
    throw new TypeError(`${field}: unknown hook point ${JSON.stringify(text)} (lower snake case, or "custom:<name>")`);
  }
  return { point: value, customPoint: "" };
}

/** {point, customPoint} as the point's text form. */
export function pointFromProto(point, customPoint) {
  if (point === HookPoint.CUSTOM) return CUSTOM + customPoint;
  const name = HookPoint[point];
  return typeof name === "string" ? name.toLowerCase() : `unknown:${point}`;
}

// Lower-case names by number, built once: a subscriber names the language of every event.
const LANGUAGE_NAMES = Object.freeze(
  Object.fromEntries(
    Object.entries(Language)
      .filter(([k, v]) => typeof v === "number" && v !== Language.UNSPECIFIED)
      .map(([k, v]) => [v, k.toLowerCase()]),
  ),
);

export function languageName(lang) {
  return Object.hasOwn(LANGUAGE_NAMES, lang) ? LANGUAGE_NAMES[lang] : "";
}

function timestampToNs(ts) {
  return ts === undefined ? undefined : ts.seconds * 1_000_000_000n + BigInt(ts.nanos);
}

/**
 * A HookContext message as the plain object hooks see:
 * `{point, data, metadata, correlationId, language, timestampNs, component, operation, parent,
 *   distributed}` (data as plain JSON, see json.js).
 */
export function contextFromProto(pb) {
  const ctx = {
    point: pointFromProto(pb.point, pb.customPoint),
    data: fromJsonObject(pb.data),
    metadata: { ...pb.metadata },
    correlationId: pb.correlationId,
    language: languageName(pb.language),
    timestampNs: timestampToNs(pb.timestamp),
    component: pb.component
      ? { id: pb.component.id, type: (ComponentType[pb.component.type] ?? "").toLowerCase(), name: pb.component.name }
      : undefined,
    operation: pb.operation
      ? {
          type: pb.operation.type,
          id: pb.operation.id,
          parameters: fromJsonValue(pb.operation.parameters),
          result: fromJsonValue(pb.operation.result),
          error: pb.operation.error ? { code: pb.operation.error.code, message: pb.operation.error.message } : undefined,
        }
      : undefined,
    parent: pb.parent ? contextFromProto(pb.parent) : undefined,
    distributed: pb.distributed
      ? {
          remoteAgentId: pb.distributed.remoteAgentId,
          traceparent: pb.distributed.traceContext?.traceparent ?? "",
          tracestate: pb.distributed.traceContext?.tracestate ?? "",
        }
      : undefined,
  };
  return ctx;
}

/**
 * A plain context (`point` required; `data`, `metadata`, `correlationId`, `timestampNs`,
 * `component`, `operation`, `parent`, `traceparent`, `tracestate`, `remoteAgentId` optional) as a
 * HookContext message. Errors name the field.
 */
export function contextToProto(ctx, field = "context") {
  return create(HookContextSchema, contextToWire(ctx, field));
}

/**
 * As `contextToProto`, but a plain object shaped like a HookContext (no `$typeName`, nested
 * messages plain too): what the generated encoders take, without a reflective `create()`.
 */
export function contextToWire(ctx, field = "context") {
  if (ctx === null || typeof ctx !== "object") {
    throw new TypeError(`${field}: must be an object with at least a point, got ${describe(ctx)}`);
  }
  const { point, customPoint } = pointToProto(ctx.point, `${field}.point`);
  const init = {
    point,
    customPoint,
    data: toJsonObject(ctx.data ?? {}, `${field}.data`),
    metadata: stringMap(ctx.metadata ?? {}, `${field}.metadata`),
    correlationId: optString(ctx.correlationId, `${field}.correlationId`),
    language: Language.JAVASCRIPT,
  };
  if (ctx.timestampNs !== undefined) init.timestamp = nsToTimestamp(BigInt(ctx.timestampNs));
  if (ctx.component !== undefined) {
    const c = ctx.component;
    const type = ComponentType[String(c.type ?? "unspecified").toUpperCase()];
    if (typeof type !== "number") throw new TypeError(`${field}.component.type: unknown component type ${c.type}`);
    init.component = {
      id: optString(c.id, `${field}.component.id`),
      name: optString(c.name, `${field}.component.name`),
      type,
    };
  }
  if (ctx.operation !== undefined) {
    const o = ctx.operation;
    init.operation = {
      type: optString(o.type, `${field}.operation.type`),
      id: optString(o.id, `${field}.operation.id`),
      parameters: toJsonValue(o.parameters, `${field}.operation.parameters`),
      result: toJsonValue(o.result, `${field}.operation.result`),
      error: o.error ? { code: o.error.code ?? "", message: o.error.message ?? "" } : undefined,
    };
  }
  if (ctx.parent !== undefined) init.parent = contextToWire(ctx.parent, `${field}.parent`);
  if (ctx.traceparent !== undefined || ctx.tracestate !== undefined || ctx.remoteAgentId !== undefined) {
    init.distributed = {
      remoteAgentId: optString(ctx.remoteAgentId, `${field}.remoteAgentId`),
      traceContext: {
        traceparent: optString(ctx.traceparent, `${field}.traceparent`),
        tracestate: optString(ctx.tracestate, `${field}.tracestate`),
      },
    };
  }
  return init;
}

/** Nanoseconds since the epoch (bigint) as a plain google.protobuf.Timestamp. */
export function nsToTimestamp(ns) {
  return { seconds: ns / 1_000_000_000n, nanos: Number(ns % 1_000_000_000n) };
}

export function optString(v, field) {
  if (v === undefined) return "";
  if (typeof v !== "string") throw new TypeError(`${field}: must be a string, got ${describe(v)}`);
  return v;
}

export function stringMap(obj, field) {
  if (obj === null || typeof obj !== "object" || Array.isArray(obj)) {
    throw new TypeError(`${field}: must be an object of strings, got ${describe(obj)}`);
  }
  const out = {};
  for (const k of Object.keys(obj)) {
    let v = obj[k];
    if (typeof v !== "string") v = optString(v, `${field}.${k}`); // the name only on this path
    // "__proto__" is a key like any other, not the object's prototype.
    if (k === "__proto__") Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
    else out[k] = v;
  }
  return out;
}
