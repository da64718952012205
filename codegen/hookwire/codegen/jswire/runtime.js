// Shared primitives of the generated straight-line binary codecs (the *_wire.js modules).
// Copied to generated/js/hookwire/wire_runtime.js by protoc-gen-hwjswire; edit it in
// codegen/hookwire/codegen/jswire/runtime.js.
//
// Reading: a reader is {b: bytes, p: position, d: depth, v: DataView | null}; every read is
// bounded by the `end` of the message being read (not only the buffer), so a length that lies
// is caught where it lies. `where` names the message or field in errors.
// Writing: one module-level writer, reused by every encode (encoding is synchronous), whose
// bytes are copied out at the end.

/**
 * Nesting limit of decoded messages, as upb (Python's protobuf) counts it: the top message is
 * level 0 and every nested message, map entry and group one level more; level 100 is the
 * deepest accepted (so 101 messages one inside the other decode, 102 do not).
 */
export const MAX_DEPTH = 100;
const WIRE_NAMES = ["varint", "64-bit", "length-delimited", "start-group", "end-group", "32-bit"];
const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const ENCODER = new TextEncoder();
const MIN64 = -(2n ** 63n);
const MAX64 = 2n ** 63n - 1n;
const MAXU64 = 2n ** 64n - 1n;
const U32 = 0xffffffffn;

/** Malformed bytes, or a value that cannot be encoded; the message names the field. */
export class WireError extends Error {
  constructor(message) {
    super(message);
    this.name = "WireError";
  }
}

function truncated(where) {
  return new WireError(`${where}: truncated input (a value runs past the end of its message)`);
}

export function reader(bytes) {
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(`bytes: must be a Uint8Array, got ${bytes === null ? "null" : typeof bytes}`);
  }
  return { b: bytes, p: 0, d: 0, v: null };
}

export function tooDeep(where) {
  return new WireError(`${where}: messages nested more than ${MAX_DEPTH} deep`);
}

// ---- reading -------------------------------------------------------------------------------

/** A varint as uint32 (bits above 32 dropped, up to 10 bytes, as protobuf-es reads int32). */
export function u32(r, end, where) {
  const p = r.p;
  if (p >= end) throw truncated(where);
  const x = r.b[p];
  if (x < 0x80) {
    r.p = p + 1;
    return x;
  }
  return u32slow(r, end, where);
}

function u32slow(r, end, where) {
  const b = r.b;
  let p = r.p;
  let x = 0;
  for (let shift = 0; shift < 35; shift += 7) {
    if (p >= end) throw truncated(where);
    const c = b[p++];
    x |= (c & 0x7f) << shift;
    if (c < 0x80) {
      r.p = p;
      return x >>> 0;
    }
  }
  for (let i = 5; i < 10; i++) {
    if (p >= end) throw truncated(where);
    if (b[p++] < 0x80) {
      r.p = p;
      return x >>> 0;
    }
  }
  throw new WireError(`${where}: varint longer than 10 bytes`);
}

/** A field tag: at most 5 bytes, field number > 0, wire type <= 5. */
export function tag(r, end, where) {
  const p0 = r.p;
  const t = u32(r, end, where);
  if (r.p - p0 > 5 || (r.p - p0 === 5 && r.b[r.p - 1] > 0x0f)) {
    throw new WireError(`${where}: illegal tag: varint overflows uint32`);
  }
  return t;
}

// Low and high halves of the last 64-bit varint read.
let lo = 0;
let hi = 0;

function v64(r, end, where) {
  const b = r.b;
  let p = r.p;
  lo = 0;
  hi = 0;
  for (let shift = 0; shift < 28; shift += 7) {
    if (p >= end) throw truncated(where);
    const c = b[p++];
    lo |= (c & 0x7f) << shift;
    if (c < 0x80) {
      r.p = p;
      return;
    }
  }
  if (p >= end) throw truncated(where);
  const mid = b[p++];
  lo |= (mid & 0x0f) << 28;
  hi = (mid & 0x70) >> 4;
  if (mid < 0x80) {
    r.p = p;
    return;
  }
  for (let shift = 3; shift <= 31; shift += 7) {
    if (p >= end) throw truncated(where);
    const c = b[p++];
    hi |= (c & 0x7f) << shift;
    if (c < 0x80) {
      r.p = p;
      return;
    }
  }
  throw new WireError(`${where}: varint longer than 10 bytes`);
}

function signed64(l, h) {
  if (h === 0 && l >= 0) return BigInt(l);
  if (h === -1 && l < 0) return BigInt(l);
  return BigInt.asIntN(64, (BigInt(h >>> 0) << 32n) | BigInt(l >>> 0));
}

function unsigned64(l, h) {
  if (h === 0) return BigInt(l >>> 0);
  return (BigInt(h >>> 0) << 32n) | BigInt(l >>> 0);
}

export function rsint32(r, end, where) {
  const z = u32(r, end, where);
  return (z >>> 1) ^ -(z & 1);
}

export function rint64(r, end, where) {
  v64(r, end, where);
  return signed64(lo, hi);
}

export function ruint64(r, end, where) {
  v64(r, end, where);
  return unsigned64(lo, hi);
}

export function rsint64(r, end, where) {
  v64(r, end, where);
  const s = -(lo & 1);
  return signed64(((lo >>> 1) | ((hi & 1) << 31)) ^ s, (hi >>> 1) ^ s);
}

export function rbool(r, end, where) {
  const p = r.p;
  if (p < end && r.b[p] < 0x80) {
    r.p = p + 1;
    return r.b[p] !== 0;
  }
  v64(r, end, where);
  return lo !== 0 || hi !== 0;
}

function view(r) {
  if (r.v === null) r.v = new DataView(r.b.buffer, r.b.byteOffset, r.b.byteLength);
  return r.v;
}

function at(r, end, n, where) {
  const p = r.p;
  if (p + n > end) throw truncated(where);
  r.p = p + n;
  return p;
}

export const rfixed32 = (r, end, where) => view(r).getUint32(at(r, end, 4, where), true);
export const rsfixed32 = (r, end, where) => view(r).getInt32(at(r, end, 4, where), true);
export const rfloat = (r, end, where) => view(r).getFloat32(at(r, end, 4, where), true);
export const rdouble = (r, end, where) => view(r).getFloat64(at(r, end, 8, where), true);

export function rfixed64(r, end, where) {
  const p = at(r, end, 8, where);
  const v = view(r);
  return unsigned64(v.getInt32(p, true), v.getInt32(p + 4, true));
}

export function rsfixed64(r, end, where) {
  const p = at(r, end, 8, where);
  const v = view(r);
  return signed64(v.getInt32(p, true), v.getInt32(p + 4, true));
}

/**
 * The end of a length-delimited value that starts here (after its length). A length is at most
 * 5 bytes and below 2^32, as upb reads it: longer or larger ones are refused, never truncated.
 */
export function len(r, end, where) {
  const b = r.b;
  let p = r.p;
  if (p >= end) throw truncated(where);
  let n = b[p++];
  if (n >= 0x80) {
    n &= 0x7f;
    let mul = 0x80;
    for (let i = 1; ; i++) {
      if (p >= end) throw truncated(where);
      const c = b[p++];
      // the fifth byte holds the top 4 bits and ends the varint
      if (i === 4 && c > 0x0f) throw new WireError(`${where}: length varint overflows uint32`);
      n += (c & 0x7f) * mul;
      if (c < 0x80) break;
      mul *= 0x80;
    }
  }
  r.p = p;
  if (n > end - p) throw truncated(where);
  return p + n;
}

export function rbytes(r, end, where) {
  const e = len(r, end, where);
  const s = r.p;
  r.p = e;
  return r.b.subarray(s, e);
}

// Short ASCII strings (field values and JSON keys repeat from call to call) are looked up in
// a small cache by a hash of their bytes: creating a string costs far more than comparing a
// few bytes, and a cached string is already internalized when it becomes an object key.
const CACHE_SIZE = 4096;
const CACHED_MAX = 32;
const cache = new Array(CACHE_SIZE).fill("");
const scratch = [];
for (let n = 0; n <= CACHED_MAX; n++) scratch.push(new Array(n).fill(0));

function asciiString(b, s, e) {
  const n = e - s;
  let h = n;
  for (let i = s; i < e; i++) {
    const c = b[i];
    if (c > 0x7f) return undefined;
    h = (Math.imul(h, 31) + c) | 0;
  }
  const slot = (h ^ (h >>> 12)) & (CACHE_SIZE - 1);
  const hit = cache[slot];
  if (hit.length === n) {
    let i = 0;
    while (i < n && hit.charCodeAt(i) === b[s + i]) i++;
    if (i === n) return hit;
  }
  const codes = scratch[n];
  for (let i = 0; i < n; i++) codes[i] = b[s + i];
  const str = String.fromCharCode.apply(null, codes);
  cache[slot] = str;
  return str;
}

export function rstring(r, end, where) {
  const e = len(r, end, where);
  const b = r.b;
  const s = r.p;
  r.p = e;
  if (e - s <= CACHED_MAX) {
    if (e === s) return "";
    const str = asciiString(b, s, e);
    if (str !== undefined) return str;
  }
  try {
    return UTF8.decode(b.subarray(s, e));
  } catch {
    throw new WireError(`${where}: invalid UTF-8 in a string field`);
  }
}

/** Skip one value of wire type `wt` (a group up to its end tag), bounded by `end`. */
function skip(r, end, no, wt, where, depth) {
  switch (wt) {
    case 0:
      v64(r, end, where);
      return;
    case 1:
      at(r, end, 8, where);
      return;
    case 2:
      r.p = len(r, end, where);
      return;
    case 5:
      at(r, end, 4, where);
      return;
    case 3:
      if (depth > MAX_DEPTH) throw tooDeep(where);
      for (;;) {
        const t = tag(r, end, where);
        if ((t & 7) === 4) {
          if (t >>> 3 !== no) throw new WireError(`${where}: invalid end group tag`);
          return;
        }
        checkTag(t, where);
        skip(r, end, t >>> 3, t & 7, where, depth + 1);
      }
    default:
      throw new WireError(`${where}: unexpected wire type ${wt} (${WIRE_NAMES[wt] ?? "invalid"})`);
  }
}

function checkTag(t, where) {
  if (t >>> 3 === 0 || (t & 7) > 5) {
    throw new WireError(`${where}: illegal tag: field number ${t >>> 3}, wire type ${t & 7}`);
  }
}

/**
 * A record no case of the message's switch took: a known field with a wrong wire type (an
 * error), or an unknown field, kept in `$unknown` as protobuf-es keeps it.
 */
export function unknown(r, end, t, m, known, where) {
  checkTag(t, where);
  const no = t >>> 3;
  const wt = t & 7;
  const name = known[no];
  if (name !== undefined) {
    throw new WireError(`${where}.${name}: wire type ${wt} (${WIRE_NAMES[wt]}) is not valid for this field`);
  }
  const s = r.p;
  skip(r, end, no, wt, where, r.d);
  const record = { no, wireType: wt, data: r.b.subarray(s, r.p) };
  if (m.$unknown === undefined) m.$unknown = [record];
  else m.$unknown.push(record);
}

/** A field of a map entry other than key and value: skipped (wrong wire types rejected). */
export function skipEntryField(r, end, t, where) {
  checkTag(t, where);
  const no = t >>> 3;
  if (no === 1 || no === 2) {
    throw new WireError(`${where}: map entry field ${no} has wrong wire type ${t & 7}`);
  }
  skip(r, end, no, t & 7, where, r.d);
}

/**
 * A map entry that held fields other than key and value: not added to the map but kept, whole,
 * among the unknown fields of the message (as upb does), so that re-encoding keeps it.
 */
export function unknownEntry(m, no, data) {
  const record = { no, wireType: 2, data };
  if (m.$unknown === undefined) m.$unknown = [record];
  else m.$unknown.push(record);
}

/** record[key] = value, also for the key "__proto__" (as protobuf-es's setOwn). */
export function setOwn(record, key, value) {
  if (key === "__proto__") {
    Object.defineProperty(record, key, { value, enumerable: true, configurable: true, writable: true });
  } else {
    record[key] = value;
  }
}

// ---- writing -------------------------------------------------------------------------------

export const W = { b: new Uint8Array(4096), p: 0, v: null };
W.v = new DataView(W.b.buffer);

function grow(w, n) {
  let size = w.b.length * 2;
  while (size < w.p + n) size *= 2;
  const b = new Uint8Array(size);
  b.set(w.b.subarray(0, w.p));
  w.b = b;
  w.v = new DataView(b.buffer);
}

export function need(w, n) {
  if (w.p + n > w.b.length) grow(w, n);
}

/** Start an encode: the writer is empty. */
export function begin() {
  W.p = 0;
  return W;
}

/** The bytes written since begin(), copied out. */
export function finish(w) {
  return w.b.slice(0, w.p);
}

/** Write a uint32 varint (the value is known to be a uint32). */
export function vu32(w, x) {
  if (w.p + 5 > w.b.length) grow(w, 5);
  const b = w.b;
  let p = w.p;
  while (x > 0x7f) {
    b[p++] = (x & 0x7f) | 0x80;
    x >>>= 7;
  }
  b[p++] = x;
  w.p = p;
}

function vu64(w, l, h) {
  if (w.p + 10 > w.b.length) grow(w, 10);
  const b = w.b;
  let p = w.p;
  while (h !== 0 || l > 0x7f || l < 0) {
    b[p++] = (l & 0x7f) | 0x80;
    l = ((l >>> 7) | (h << 25)) >>> 0;
    h >>>= 7;
  }
  b[p++] = l;
  w.p = p;
}

/** Reserve one byte for a length; join() writes it (shifting the body when it needs more). */
export function fork(w) {
  if (w.p + 1 > w.b.length) grow(w, 1);
  return w.p++;
}

export function join(w, start) {
  const n = w.p - start - 1;
  if (n < 0x80) {
    w.b[start] = n;
    return;
  }
  const size = n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5;
  need(w, size - 1);
  w.b.copyWithin(start + size, start + 1, w.p);
  const end = w.p + size - 1;
  w.p = start;
  vu32(w, n);
  w.p = end;
}

function bad(where, what, value) {
  let shown;
  try {
    shown = typeof value === "bigint" ? `${value}n` : typeof value === "string" ? JSON.stringify(value) : String(value);
  } catch {
    shown = typeof value;
  }
  return new WireError(`${where}: cannot encode ${shown} as ${what}`);
}

function toInt32(v, where, what) {
  const n = typeof v === "string" ? Number(v) : v;
  if (typeof n !== "number" || !Number.isInteger(n) || n > 0x7fffffff || n < -0x80000000) throw bad(where, what, v);
  return n;
}

function toUint32(v, where, what) {
  const n = typeof v === "string" ? Number(v) : v;
  if (typeof n !== "number" || !Number.isInteger(n) || n > 0xffffffff || n < 0) throw bad(where, what, v);
  return n;
}

export function wint32(w, v, where) {
  if ((v | 0) !== v) v = toInt32(v, where, "int32");
  if (v >= 0) {
    vu32(w, v);
    return;
  }
  vu64(w, v >>> 0, 0xffffffff);
}

export function wuint32(w, v, where) {
  if (v >>> 0 !== v) v = toUint32(v, where, "uint32");
  vu32(w, v);
}

export function wsint32(w, v, where) {
  if ((v | 0) !== v) v = toInt32(v, where, "sint32");
  vu32(w, ((v << 1) ^ (v >> 31)) >>> 0);
}

export function wbool(w, v) {
  if (w.p + 1 > w.b.length) grow(w, 1);
  w.b[w.p++] = v ? 1 : 0;
}

function big(v, where, what, min, max) {
  let n = v;
  if (typeof v !== "bigint") {
    try {
      if (typeof v === "number" && !Number.isInteger(v)) throw bad(where, what, v);
      n = BigInt(v);
    } catch {
      throw bad(where, what, v);
    }
  }
  if (n < min || n > max) throw bad(where, what, v);
  return n;
}

function varint64(w, n) {
  if (n >= 0n && n <= 0x7fffffffn) {
    vu32(w, Number(n));
    return;
  }
  const u = BigInt.asUintN(64, n);
  vu64(w, Number(u & U32), Number(u >> 32n));
}

// Small values (most ids, counts and JSON integers) skip BigInt arithmetic.
export function wint64(w, v, where) {
  if (typeof v === "bigint" && v >= 0n && v <= 0x7fffffffn) vu32(w, Number(v));
  else varint64(w, big(v, where, "int64", MIN64, MAX64));
}

export function wuint64(w, v, where) {
  if (typeof v === "bigint" && v >= 0n && v <= 0x7fffffffn) vu32(w, Number(v));
  else varint64(w, big(v, where, "uint64", 0n, MAXU64));
}

export function wsint64(w, v, where) {
  if (typeof v === "bigint" && v >= -0x40000000n && v <= 0x3fffffffn) {
    const x = Number(v);
    vu32(w, ((x << 1) ^ (x >> 31)) >>> 0);
    return;
  }
  const n = big(v, where, "sint64", MIN64, MAX64);
  varint64(w, BigInt.asUintN(64, (n << 1n) ^ (n >> 63n)));
}

function fixed(w, n) {
  if (w.p + 8 > w.b.length) grow(w, 8);
  const u = BigInt.asUintN(64, n);
  w.v.setUint32(w.p, Number(u & U32), true);
  w.v.setUint32(w.p + 4, Number(u >> 32n), true);
  w.p += 8;
}

export function wfixed64(w, v, where) {
  fixed(w, big(v, where, "fixed64", 0n, MAXU64));
}

export function wsfixed64(w, v, where) {
  fixed(w, big(v, where, "sfixed64", MIN64, MAX64));
}

export function wfixed32(w, v, where) {
  if (v >>> 0 !== v) v = toUint32(v, where, "fixed32");
  if (w.p + 4 > w.b.length) grow(w, 4);
  w.v.setUint32(w.p, v, true);
  w.p += 4;
}

export function wsfixed32(w, v, where) {
  if ((v | 0) !== v) v = toInt32(v, where, "sfixed32");
  if (w.p + 4 > w.b.length) grow(w, 4);
  w.v.setInt32(w.p, v, true);
  w.p += 4;
}

export function wfloat(w, v, where) {
  if (typeof v !== "number" || (Number.isFinite(v) && !Number.isFinite(Math.fround(v)))) throw bad(where, "float", v);
  if (w.p + 4 > w.b.length) grow(w, 4);
  w.v.setFloat32(w.p, v, true);
  w.p += 4;
}

export function wdouble(w, v, where) {
  if (typeof v !== "number") throw bad(where, "double", v);
  if (w.p + 8 > w.b.length) grow(w, 8);
  w.v.setFloat64(w.p, v, true);
  w.p += 8;
}

export function wbytes(w, v, where) {
  if (!(v instanceof Uint8Array)) throw bad(where, "bytes (a Uint8Array)", v);
  vu32(w, v.byteLength);
  need(w, v.byteLength);
  w.b.set(v, w.p);
  w.p += v.byteLength;
}

function varintSize(n) {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5;
}

/** A string as UTF-8 (lone surrogates become U+FFFD, as TextEncoder and protobuf-es do). */
export function wstring(w, v) {
  if (typeof v !== "string") v = String(v);
  const n = v.length;
  need(w, n * 3 + 5);
  const b = w.b;
  const start = w.p;
  if (n <= 42) {
    // At most 126 bytes of UTF-8: the length always fits in one byte.
    let p = start + 1;
    let i = 0;
    for (; i < n; i++) {
      const c = v.charCodeAt(i);
      if (c > 0x7f) break;
      b[p++] = c;
    }
    if (i === n) {
      b[start] = n;
      w.p = p;
      return;
    }
    const written = ENCODER.encodeInto(v, b.subarray(start + 1)).written;
    b[start] = written;
    w.p = start + 1 + written;
    return;
  }
  const guess = varintSize(n);
  const written = ENCODER.encodeInto(v, b.subarray(start + guess)).written;
  const size = varintSize(written);
  if (size !== guess) b.copyWithin(start + size, start + guess, start + guess + written);
  vu32(w, written);
  w.p = start + size + written;
}

/** Unknown fields kept by a decode, written back after the known ones (as protobuf-es). */
export function wunknown(w, records) {
  for (let i = 0; i < records.length; i++) {
    const { no, wireType, data } = records[i];
    vu32(w, ((no << 3) | wireType) >>> 0);
    need(w, data.byteLength);
    w.b.set(data, w.p);
    w.p += data.byteLength;
  }
}

/** A message of another type where `typeName` belongs. */
export function foreign(where, typeName, got) {
  return new WireError(`${where}: expected a ${typeName} message, got ${String(got)}`);
}

/** Map keys are object keys (strings): back to the key's type before writing. */
export function intKey(k) {
  const n = Number.parseInt(k);
  return Number.isFinite(n) ? n : k;
}

export function boolKey(k) {
  return k === "true" ? true : k === "false" ? false : k;
}
