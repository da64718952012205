// Equivalence checks of the generated *_wire.js codecs against protobuf-es, shared by
// sdk/js/test/wire_codec.test.js (the hookwire schema) and wire_allkinds.mjs (a test schema
// with every field kind, run by tests/codegen/test_jswire.py).
//
// Random messages are built from protobuf-es's reflection of each schema, so every field of
// every message is covered without a hand-written list; the expected bytes and objects are
// always protobuf-es's own (toBinary / fromBinary), never the generated code's.

import assert from "node:assert/strict";
import { create, fromBinary, toBinary, ScalarType } from "@bufbuild/protobuf";

/** Deterministic PRNG (mulberry32), so a failure can be replayed from its seed. */
export function rng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  next.int = (n) => Math.floor(next() * n);
  next.pick = (list) => list[next.int(list.length)];
  next.chance = (p) => next() < p;
  return next;
}

/** Every message schema exported by the given protoc-gen-es modules, by type name. */
export function schemasOf(...modules) {
  const out = new Map();
  for (const mod of modules) {
    for (const value of Object.values(mod)) {
      if (value && value.kind === "message" && typeof value.typeName === "string") out.set(value.typeName, value);
    }
  }
  return out;
}

/** The generated codec of a schema: {encode, decode} from its *_wire.js module. */
export function codecOf(schema, wireModule) {
  const pkg = schema.file.proto.package;
  const key = schema.typeName.slice(pkg.length + 1).replace(/\./g, "_");
  const encode = wireModule[`encode${key}`];
  const decode = wireModule[`decode${key}`];
  assert.equal(typeof encode, "function", `encode${key} missing`);
  assert.equal(typeof decode, "function", `decode${key} missing`);
  return { encode, decode };
}

const INT32 = [0, 1, -1, 127, 128, 300, 2 ** 31 - 1, -(2 ** 31), 16384, -300];
const UINT32 = [0, 1, 127, 128, 2 ** 32 - 1, 2 ** 31, 16383, 16384, 2 ** 28];
const INT64 = [0n, 1n, -1n, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 31n, -(2n ** 31n), 2n ** 32n, 2n ** 35n + 7n, -(2n ** 40n)];
const UINT64 = [0n, 1n, 2n ** 64n - 1n, 2n ** 63n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 31n, 127n, 128n];
const DOUBLES = [0, -0, NaN, Infinity, -Infinity, 1.5, -2.25, Number.MIN_VALUE, Number.MAX_VALUE, 1e-300, 0.1];
const STRINGS = ["", "a", "hello world", "lone \uD800 surrogate", "\uDC00", "x".repeat(40) + "\uD83D", "é", "€uro", "😀 non-BMP 𝄞", "\u0000nul", "\uFEFFbom", "x".repeat(42), "y".repeat(43), "z".repeat(200), "ü".repeat(50), "😀".repeat(70)];

function randomString(r) {
  if (r.chance(0.7)) return r.pick(STRINGS);
  const n = r.int(r.chance(0.1) ? 20000 : 60);
  let s = "";
  for (let i = 0; i < n; i++) {
    const k = r.int(10);
    if (k < 6) s += String.fromCharCode(32 + r.int(95));
    else if (k < 8) s += String.fromCharCode(0xa0 + r.int(0x700));
    else if (k < 9) s += String.fromCodePoint(0x1f300 + r.int(200));
    else s += String.fromCharCode(0x3000 + r.int(0x5000));
  }
  return s;
}

function randomBytes(r) {
  const n = r.chance(0.2) ? 0 : r.chance(0.1) ? 16384 + r.int(100) : r.int(200);
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = r.int(256);
  return b;
}

function randomScalar(r, scalar) {
  switch (scalar) {
    case ScalarType.DOUBLE:
      return r.chance(0.6) ? r.pick(DOUBLES) : (r() - 0.5) * 10 ** r.int(30);
    case ScalarType.FLOAT:
      return Math.fround(r.chance(0.6) ? r.pick(DOUBLES.filter((d) => !Number.isFinite(d) || Math.abs(d) < 1e38)) : (r() - 0.5) * 1000);
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return r.chance(0.6) ? r.pick(INT32) : (r.int(2 ** 32) | 0);
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return r.chance(0.6) ? r.pick(UINT32) : r.int(2 ** 32);
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return r.chance(0.6) ? r.pick(INT64) : BigInt.asIntN(64, (BigInt(r.int(2 ** 32)) << 32n) | BigInt(r.int(2 ** 32)));
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return r.chance(0.6) ? r.pick(UINT64) : (BigInt(r.int(2 ** 32)) << BigInt(r.int(33))) | BigInt(r.int(2 ** 32));
    case ScalarType.BOOL:
      return r.chance(0.5);
    case ScalarType.STRING:
      return randomString(r);
    case ScalarType.BYTES:
      return randomBytes(r);
    default:
      throw new Error(`scalar type ${scalar}`);
  }
}

function randomEnum(r, enumDesc) {
  // Open enums: numbers the enum does not name are kept as they are.
  return r.chance(0.8) ? r.pick(enumDesc.values).number : r.pick([99, -5, 2 ** 31 - 1, -(2 ** 31), 1000]);
}

function randomMapKey(r, scalar) {
  if (scalar === ScalarType.STRING) return r.chance(0.05) ? "__proto__" : randomString(r).slice(0, 30);
  if (scalar === ScalarType.BOOL) return String(r.chance(0.5));
  return String(randomScalar(r, scalar));
}

function randomValue(r, kind, field, depth) {
  if (kind === "scalar") return randomScalar(r, field.scalar);
  if (kind === "enum") return randomEnum(r, field.enum);
  return randomMessage(field.message, r, depth + 1);
}

/** A random message of `desc` made with create(); `depth` bounds recursive types. */
export function randomMessage(desc, r, depth = 0) {
  const init = {};
  const fill = depth < 4 ? 0.6 : 0.15;
  for (const member of desc.members) {
    if (member.kind === "oneof") {
      if (r.chance(0.75)) {
        const f = r.pick(member.fields);
        if (f.fieldKind === "message" && depth >= 6) continue;
        init[member.localName] = { case: f.localName, value: randomValue(r, f.fieldKind, f, depth) };
      }
      continue;
    }
    const f = member;
    if (!r.chance(fill)) continue;
    switch (f.fieldKind) {
      case "scalar":
      case "enum":
        init[f.localName] = randomValue(r, f.fieldKind, f, depth);
        break;
      case "message":
        if (depth < 6) init[f.localName] = randomMessage(f.message, r, depth + 1);
        break;
      case "list": {
        const n = r.int(depth < 3 ? 5 : 2);
        const items = [];
        for (let i = 0; i < n; i++) {
          if (f.listKind === "message" && depth >= 6) break;
          items.push(f.listKind === "scalar" ? randomScalar(r, f.scalar) : randomValue(r, f.listKind, f, depth));
        }
        init[f.localName] = items;
        break;
      }
      case "map": {
        const record = {};
        const n = r.int(depth < 3 ? 4 : 2);
        for (let i = 0; i < n; i++) {
          if (f.mapKind === "message" && depth >= 6) break;
          const value = f.mapKind === "scalar" ? randomScalar(r, f.scalar) : randomValue(r, f.mapKind, f, depth);
          Object.defineProperty(record, randomMapKey(r, f.mapKey), { value, enumerable: true, writable: true, configurable: true });
        }
        init[f.localName] = record;
        break;
      }
    }
  }
  return create(desc, init);
}

const hex = (b) => Buffer.from(b).toString("hex");

/**
 * One sample, both directions: encode(msg) is toBinary(msg) byte for byte; decode(bytes) is
 * deep-equal to fromBinary(bytes); encode(decode(bytes)) is toBinary(fromBinary(bytes)); and
 * the same with an unknown field appended (kept in $unknown and written back, as protobuf-es).
 */
export function checkSample(schema, codec, msg) {
  const expected = toBinary(schema, msg);
  assert.equal(hex(codec.encode(msg)), hex(expected), `encode ${schema.typeName}`);
  const theirs = fromBinary(schema, expected);
  const ours = codec.decode(expected);
  assert.deepStrictEqual(ours, theirs, `decode ${schema.typeName}`);
  assert.equal(hex(codec.encode(ours)), hex(toBinary(schema, theirs)), `re-encode ${schema.typeName}`);
  const withUnknown = new Uint8Array([...expected, 0xb8, 0xbb, 0x3d, 0x2a, 0xc2, 0xb8, 0x02, 0x02, 0x68, 0x69]);
  const theirsU = fromBinary(schema, withUnknown);
  const oursU = codec.decode(withUnknown);
  assert.deepStrictEqual(oursU, theirsU, `decode with unknown fields ${schema.typeName}`);
  assert.equal(hex(codec.encode(oursU)), hex(toBinary(schema, theirsU)), `re-encode unknown ${schema.typeName}`);
  return expected;
}

/**
 * Bytes that may be malformed: when protobuf-es rejects them, so must the codec (a WireError,
 * never a hang); when the codec accepts them, it must agree with protobuf-es.
 */
export function checkUntrusted(schema, codec, bytes) {
  let theirs;
  let theirError;
  try {
    theirs = fromBinary(schema, bytes);
  } catch (e) {
    theirError = e;
  }
  let ours;
  try {
    ours = codec.decode(bytes);
  } catch (e) {
    assert.equal(e.name, "WireError", `${schema.typeName} ${hex(bytes)}: ${e}`);
    assert.match(e.message, /^[a-z]+\.[A-Za-z0-9_.]+/, "the error names the message or field");
    return "rejected";
  }
  assert.equal(theirError, undefined, `${schema.typeName} ${hex(bytes)}: protobuf-es rejects (${theirError}), the codec accepted`);
  assert.deepStrictEqual(ours, theirs, `${schema.typeName} ${hex(bytes)}`);
  return "accepted";
}

/** Random samples of every schema, then every prefix and random byte flips of some of them. */
export function checkSchemas(schemas, codecs, { seed = 1, samples = 40 } = {}) {
  const r = rng(seed);
  let count = 0;
  const outcomes = { accepted: 0, rejected: 0 };
  for (const [typeName, schema] of schemas) {
    const codec = codecs.get(typeName);
    for (let i = 0; i < samples; i++) {
      const msg = randomMessage(schema, r);
      let bytes;
      try {
        bytes = checkSample(schema, codec, msg);
      } catch (e) {
        e.message = `seed ${seed}, ${typeName} sample ${i}: ${e.message}`;
        throw e;
      }
      count++;
      if (i < 3) {
        for (let n = 0; n < Math.min(bytes.length, 64); n++) outcomes[checkUntrusted(schema, codec, bytes.subarray(0, n))]++;
        for (let k = 0; k < 20 && bytes.length; k++) {
          const bad = bytes.slice();
          bad[r.int(bad.length)] = r.int(256);
          outcomes[checkUntrusted(schema, codec, bad)]++;
        }
      }
    }
  }
  return { count, ...outcomes };
}
