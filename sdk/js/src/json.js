// Plain JS values <-> hookwire.v1.JsonValue / JsonObject, without loss.
//
// Why not JSON numbers as doubles: ids, token counts and nanosecond times must survive a trip
// through Python, Lua and JavaScript unchanged, so integers travel as sint64 and come back as
// `number` when they are safe integers and as `bigint` otherwise. Numbers no binary64 or int64
// holds (int beyond 2^63, long decimals) travel as their decimal text and come back as a
// `JsonNumberText`. `null` is an explicit JSON null; `undefined` (or a missing member) is absent.

import { JsonNull } from "#generated/hookwire/v1/json_pb.js";
// The generated zero messages (deep-equal to create(XSchema)), filled in place: a message a
// hook result builds costs an object literal, not a reflective create().
import { new_JsonArray, new_JsonObject, new_JsonValue } from "#generated/hookwire/v1/json_wire.js";
import { MAX_JSON_DEPTH } from "./limits.js";

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const NUMBER_GRAMMAR = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$/;

/**
 * A JSON number kept as its exact decimal text (beyond int64, or more digits than a double).
 *
 * @example
 *   toJsonValue(new JsonNumberText("1.00000000000000000001")).kind.case // "numberText"
 */
export class JsonNumberText {
  /** @param {string} text a JSON number, e.g. "123456789012345678901234567890" */
  constructor(text) {
    if (typeof text !== "string" || !NUMBER_GRAMMAR.test(text)) {
      throw new TypeError(`text: must be a JSON number literal, got ${String(text)}`);
    }
    this.text = text;
    Object.freeze(this);
  }

  toString() {
    return this.text;
  }

  toJSON() {
    return this.text;
  }
}

/** Error thrown for a value that has no JSON form; `path` names where it is. */
export class JsonConversionError extends TypeError {
  /**
   * @param {string} path
   * @param {string} reason
   */
  constructor(path, reason) {
    super(`${path}: ${reason}`);
    this.name = "JsonConversionError";
    this.path = path;
  }
}

const TOO_DEEP = `nested deeper than ${MAX_JSON_DEPTH} (the limit on objects and arrays around a JSON value)`;

function isPlainObject(v) {
  if (v === null || typeof v !== "object") return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * A plain JS value as a JsonValue message; `undefined` gives `undefined` (absent).
 *
 * @param {unknown} value
 * @param {string} [path] where the value is, for error messages
 */
export function toJsonValue(value, path = "value") {
  if (value === undefined) return undefined;
  return jsonValue(kindOf(value, path, 0));
}

function jsonValue(kind) {
  const message = new_JsonValue();
  message.kind = kind;
  return message;
}

// depth: the containers around `value` (counted as in every language: see limits.js).
function kindOf(value, path, depth) {
  switch (typeof value) {
    case "boolean":
      return { case: "boolValue", value };
    case "string":
      return { case: "stringValue", value };
    case "bigint":
      if (value >= INT64_MIN && value <= INT64_MAX) return { case: "intValue", value };
      return { case: "numberText", value: value.toString() };
    case "number":
      if (!Number.isFinite(value)) {
        throw new JsonConversionError(path, `${value} is not a JSON number`);
      }
      if (Number.isInteger(value) && Math.abs(value) < 2 ** 63) {
        return { case: "intValue", value: BigInt(value) };
      }
      return { case: "doubleValue", value };
    case "object":
      if (value === null) return { case: "nullValue", value: JsonNull.JSON_NULL };
      if (Array.isArray(value)) {
        if (depth >= MAX_JSON_DEPTH) throw new JsonConversionError(path, TOO_DEEP);
        return {
          case: "arrayValue",
          value: jsonArray(
            value.map((v, i) => {
              if (v === undefined) {
                throw new JsonConversionError(`${path}[${i}]`, "undefined is not a JSON value (use null)");
              }
              return jsonValue(kindOf(v, `${path}[${i}]`, depth + 1));
            }),
          ),
        };
      }
      if (value instanceof JsonNumberText) return { case: "numberText", value: value.text };
      if (isPlainObject(value)) return { case: "objectValue", value: toJsonObject(value, path, depth) };
      throw new JsonConversionError(
        path,
        `${value.constructor?.name ?? "object"} is not a JSON value (plain objects, arrays, strings, numbers, bigints, booleans and null are)`,
      );
    default:
      throw new JsonConversionError(path, `${typeof value} is not a JSON value`);
  }
}

/**
 * A plain object as a JsonObject message; members set to `undefined` are left out.
 *
 * @param {Record<string, unknown>} obj
 * @param {string} [path]
 * @param {number} [depth] the containers around `obj` (0 for a top-level object)
 */
export function toJsonObject(obj, path = "value", depth = 0) {
  if (!isPlainObject(obj)) {
    throw new JsonConversionError(path, `must be a plain object, got ${describe(obj)}`);
  }
  if (depth >= MAX_JSON_DEPTH) throw new JsonConversionError(path, TOO_DEEP);
  const fields = {};
  for (const key of Object.keys(obj)) {
    const v = obj[key];
    if (v === undefined) continue;
    const item = jsonValue(kindOf(v, `${path}.${key}`, depth + 1));
    // "__proto__" is a member like any other, not the object's prototype.
    if (key === "__proto__") Object.defineProperty(fields, key, { value: item, enumerable: true, writable: true, configurable: true });
    else fields[key] = item;
  }
  const message = new_JsonObject();
  message.fields = fields;
  return message;
}

function jsonArray(values) {
  const message = new_JsonArray();
  message.values = values;
  return message;
}

/**
 * A JsonValue message as a plain JS value; an unset message gives `undefined` (absent).
 *
 * @param {import("#generated/hookwire/v1/json_pb.js").JsonValue | undefined} msg
 */
export function fromJsonValue(msg) {
  if (msg === undefined) return undefined;
  const { kind } = msg;
  switch (kind.case) {
    case "nullValue":
      return null;
    case "boolValue":
    case "stringValue":
    case "doubleValue":
      return kind.value;
    case "intValue": {
      const n = kind.value;
      return n >= -9007199254740991n && n <= 9007199254740991n ? Number(n) : n;
    }
    case "numberText":
      if (/^-?(0|[1-9][0-9]*)$/.test(kind.value)) return BigInt(kind.value);
      return new JsonNumberText(kind.value);
    case "arrayValue":
      return kind.value.values.map(fromJsonValue);
    case "objectValue":
      return fromJsonObject(kind.value);
    default:
      // An empty JsonValue is not valid on the wire; surface it instead of guessing.
      throw new JsonConversionError("value", "JsonValue has no kind set");
  }
}

/**
 * A JsonObject message as a plain object (unset gives `{}`).
 *
 * @param {import("#generated/hookwire/v1/json_pb.js").JsonObject | undefined} msg
 */
export function fromJsonObject(msg) {
  const out = {};
  if (msg === undefined) return out;
  const fields = msg.fields;
  for (const key of Object.keys(fields)) {
    const v = fromJsonValue(fields[key]);
    // "__proto__" is a member like any other, not the object's prototype.
    if (key === "__proto__") Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
    else out[key] = v;
  }
  return out;
}

export function describe(v) {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "object") return `a ${v.constructor?.name ?? "object"}`;
  return `${typeof v} ${String(v)}`;
}
