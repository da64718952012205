// The generated straight-line codecs (generated/js/**/*_wire.js) against protobuf-es 2.17 on the
// hookwire schema: golden vectors, random messages of every message type (both directions,
// byte-exact), malformed input, encode errors and the plain-object encode shape.

import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { DurationSchema, TimestampSchema } from "@bufbuild/protobuf/wkt";
import { checkSchemas, checkUntrusted, codecOf, schemasOf } from "../test-support/wire_equivalence.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const GENERATED = join(ROOT, "generated", "js");
const V1 = join(GENERATED, "hookwire", "v1");

async function load() {
  const schemas = new Map([
    [TimestampSchema.typeName, TimestampSchema],
    [DurationSchema.typeName, DurationSchema],
  ]);
  const codecs = new Map();
  codecs.set(TimestampSchema.typeName, codecOf(TimestampSchema, await import(pathToFileURL(join(GENERATED, "google", "protobuf", "timestamp_wire.js")).href)));
  codecs.set(DurationSchema.typeName, codecOf(DurationSchema, await import(pathToFileURL(join(GENERATED, "google", "protobuf", "duration_wire.js")).href)));
  for (const file of readdirSync(V1).filter((f) => f.endsWith("_pb.js")).sort()) {
    const pb = await import(pathToFileURL(join(V1, file)).href);
    const wire = await import(pathToFileURL(join(V1, file.replace(/_pb\.js$/, "_wire.js"))).href);
    for (const [name, schema] of schemasOf(pb)) {
      schemas.set(name, schema);
      codecs.set(name, codecOf(schema, wire));
    }
  }
  return { schemas, codecs };
}

const { schemas, codecs } = await load();
const wire = await import("#generated/hookwire/v1/executor_service_wire.js");
const json = await import("#generated/hookwire/v1/json_wire.js");
const pb = await import("#generated/hookwire/v1/executor_service_pb.js");
const jsonPb = await import("#generated/hookwire/v1/json_pb.js");
const hex = (b) => Buffer.from(b).toString("hex");
const bytes = (h) => Uint8Array.from(Buffer.from(h, "hex"));

test("every message of the schema has a codec", () => {
  assert.ok(schemas.size > 50, `only ${schemas.size} message types found`);
  assert.equal(codecs.size, schemas.size);
});

test("golden vectors: decode equals fromBinary, encode equals toBinary", () => {
  const dir = join(ROOT, "conformance", "vectors");
  const files = readdirSync(dir).filter((f) => f.endsWith(".json"));
  assert.ok(files.length > 20);
  for (const file of files) {
    const vector = JSON.parse(readFileSync(join(dir, file), "utf8"));
    const schema = schemas.get(vector.message);
    assert.ok(schema, `${file}: no schema ${vector.message}`);
    const codec = codecs.get(vector.message);
    const data = bytes(vector.binary_hex);
    const ours = codec.decode(data);
    assert.deepStrictEqual(ours, fromBinary(schema, data), file);
    assert.equal(hex(codec.encode(ours)), hex(toBinary(schema, fromBinary(schema, data))), file);
  }
});

test("random messages of every type, both directions, byte-exact (and corrupted copies)", () => {
  const result = checkSchemas(schemas, codecs, { seed: 20261124, samples: 30 });
  assert.equal(result.count, schemas.size * 30);
  assert.ok(result.rejected > 100, `few corrupted inputs were rejected: ${JSON.stringify(result)}`);
});

test("recursive types: a deep HookContext.parent chain and JsonValue tree", () => {
  const hook = schemas.get("hookwire.v1.HookContext");
  let ctx = create(hook, { point: 1, correlationId: "c0" });
  for (let i = 1; i < 60; i++) ctx = create(hook, { correlationId: `c${i}`, parent: ctx });
  const b = toBinary(hook, ctx);
  assert.deepStrictEqual(codecs.get(hook.typeName).decode(b), fromBinary(hook, b));
  assert.equal(hex(codecs.get(hook.typeName).encode(ctx)), hex(b));
  let value = create(jsonPb.JsonValueSchema, { kind: { case: "stringValue", value: "leaf" } });
  for (let i = 0; i < 30; i++) {
    const arr = create(jsonPb.JsonArraySchema, { values: [value, value] });
    value = create(jsonPb.JsonValueSchema, { kind: { case: "arrayValue", value: arr } });
    if (i > 8) value.kind.value.values.pop(); // keep the tree small: a chain below depth 9
  }
  const jb = toBinary(jsonPb.JsonValueSchema, value);
  assert.equal(hex(json.encodeJsonValue(value)), hex(jb));
  assert.deepStrictEqual(json.decodeJsonValue(jb), fromBinary(jsonPb.JsonValueSchema, jb));
});

test("malformed input throws a WireError naming the message or field", () => {
  const call = codecs.get("hookwire.v1.HookCall");
  const cases = [
    ["1001", /^hookwire\.v1\.HookCall\.hook_name: wire type 0 \(varint\) is not valid/], // string field as varint
    ["1202c328", /^hookwire\.v1\.HookCall\.hook_name: invalid UTF-8/],
    ["08ffffffffffffffffffff01", /^hookwire\.v1\.HookCall\.call_id: varint longer than 10 bytes/],
    ["120561", /^hookwire\.v1\.HookCall\.hook_name: truncated input/],
    ["08", /^hookwire\.v1\.HookCall\.call_id: truncated input/],
    ["00", /^hookwire\.v1\.HookCall: illegal tag: field number 0/],
    ["0f", /^hookwire\.v1\.HookCall: illegal tag: field number 1, wire type 7/],
    ["a4bf0c", /^hookwire\.v1\.HookCall: unexpected wire type 4/], // unknown field, end-group
    ["1a0312", /^hookwire\.v1\.HookCall\.context: truncated input/], // length past the end
    ["1a0212050000", /^hookwire\.v1\.HookContext\.[a-z_]+: truncated input/], // past its message
  ];
  for (const [h, pattern] of cases) {
    assert.throws(() => call.decode(bytes(h)), (e) => e.name === "WireError" && pattern.test(e.message), h);
    checkUntrusted(schemas.get("hookwire.v1.HookCall"), call, bytes(h));
  }
  assert.throws(() => call.decode("0801"), TypeError);
  // 200 nested JsonValue arrays: refused at depth 100, as fromBinary's recursionLimit.
  let deep = [];
  for (let i = 0; i < 200; i++) deep = encodeLen(0x32, encodeLen(0x0a, deep));
  deep = Uint8Array.from(deep);
  assert.throws(() => json.decodeJsonValue(deep), /nested more than 100 deep/);
  assert.throws(() => fromBinary(jsonPb.JsonValueSchema, deep), /maximum recursion depth/);
});

function encodeLen(tagByte, body) {
  const out = [tagByte];
  let n = body.length;
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n, ...body);
  return out;
}

test("random bytes never hang and agree with protobuf-es when accepted", () => {
  let seed = 7;
  const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8;
  const names = ["hookwire.v1.ExecutorMessage", "hookwire.v1.WorkerMessage", "hookwire.v1.HookContext", "hookwire.v1.JsonValue"];
  for (let i = 0; i < 3000; i++) {
    const name = names[i % names.length];
    const b = new Uint8Array(next() % 40);
    for (let j = 0; j < b.length; j++) b[j] = next() & 0xff;
    checkUntrusted(schemas.get(name), codecs.get(name), b);
  }
});

test("encode rejects values protobuf-es rejects, naming the field", () => {
  const call = codecs.get("hookwire.v1.HookCall");
  const result = codecs.get("hookwire.v1.HookCallResult");
  assert.throws(() => call.encode({ callId: -1n }), /^WireError: hookwire\.v1\.HookCall\.call_id: cannot encode -1n as uint64/);
  assert.throws(() => call.encode({ callId: "x" }), /hookwire\.v1\.HookCall\.call_id: cannot encode "x" as uint64/);
  assert.throws(() => call.encode({ clockNowUnixNanos: 2n ** 63n }), /clock_now_unix_nanos: cannot encode .* as int64/);
  assert.throws(() => result.encode(create(pb.HookCallSchema, {})), /expected a hookwire\.v1\.HookCallResult message, got hookwire\.v1\.HookCall/);
  const reg = codecs.get("hookwire.v1.HookRegistration");
  assert.throws(() => reg.encode({ priority: 2 ** 31 }), /hookwire\.v1\.HookRegistration\.priority: cannot encode 2147483648 as int32/);
  assert.throws(() => reg.encode({ priority: 1.5 }), /priority: cannot encode 1.5 as int32/);
  for (const bad of [{ callId: -1n }, { clockNowUnixNanos: 2n ** 63n }]) {
    assert.throws(() => toBinary(pb.HookCallSchema, create(pb.HookCallSchema, bad)));
  }
});

test("plain objects encode like the create()d message (absent fields are defaults)", () => {
  const plain = {
    message: {
      case: "result",
      value: { callId: 7n, outcome: { case: "result", value: { kind: { case: "continue", value: {} } } } },
    },
  };
  const made = create(pb.WorkerMessageSchema, plain);
  assert.equal(hex(wire.encodeWorkerMessage(plain)), hex(toBinary(pb.WorkerMessageSchema, made)));
  assert.equal(hex(wire.encodeWorkerMessage({})), "");
  // 64-bit fields also take numbers and decimal strings, as protobuf-es's writer does.
  assert.equal(hex(codecs.get("hookwire.v1.HookCall").encode({ callId: 300, clockNowUnixNanos: "-1" })), "08ac0228ffffffffffffffffff01");
});

test("SDK results built from the generated zero messages equal create()'s", async () => {
  const { toJsonObject, toJsonValue } = await import("../src/json.js");
  const { modified, resultToProto } = await import("../src/results.js");
  const hookPb = await import("#generated/hookwire/v1/hook_pb.js");
  const value = (kind) => create(jsonPb.JsonValueSchema, { kind });
  const expectedData = create(jsonPb.JsonObjectSchema, {
    fields: {
      n: value({ case: "intValue", value: 1n }),
      list: value({ case: "arrayValue", value: create(jsonPb.JsonArraySchema, { values: [value({ case: "stringValue", value: "x" })] }) }),
    },
  });
  assert.deepStrictEqual(toJsonObject({ n: 1, list: ["x"] }), expectedData);
  assert.deepStrictEqual(toJsonValue(null), value({ case: "nullValue", value: 0 }));
  assert.deepStrictEqual(
    resultToProto(modified({ n: 1, list: ["x"] })),
    create(hookPb.HookResultSchema, { kind: { case: "modified", value: create(hookPb.ModifiedResultSchema, { data: expectedData }) } }),
  );
  assert.deepStrictEqual(
    resultToProto(undefined),
    create(hookPb.HookResultSchema, { kind: { case: "continue", value: create(hookPb.ContinueResultSchema) } }),
  );
  // A "__proto__" member is a member, not the prototype of the fields record.
  const withProto = toJsonObject(JSON.parse('{"__proto__": 5}'));
  assert.deepStrictEqual(Object.keys(withProto.fields), ["__proto__"]);
  assert.equal(Object.getPrototypeOf(withProto.fields), Object.prototype);
});

test("the generated .d.ts files type the codecs (tsc --strict), and a misuse does not compile", async () => {
  const { spawnSync } = await import("node:child_process");
  const { existsSync, rmSync, writeFileSync } = await import("node:fs");
  const tsc = join(ROOT, "node_modules", ".bin", "tsc");
  assert.ok(existsSync(tsc), "typescript is missing from node_modules");
  const dir = join(ROOT, "sdk", "js", "test-support");
  const args = ["--noEmit", "--strict", "--module", "nodenext", "--moduleResolution", "nodenext", "--target", "es2022", "--skipLibCheck", "--types", "node"];
  const good = spawnSync(tsc, [...args, "wire_types_check.ts"], { cwd: dir, encoding: "utf8" });
  assert.equal(good.status, 0, good.stdout + good.stderr);
  const bad = join(dir, "_wire_types_misuse.ts");
  writeFileSync(bad, readFileSync(join(dir, "wire_types_check.ts"), "utf8").replace('case: "result"', 'case: "nope"'));
  try {
    const r = spawnSync(tsc, [...args, "_wire_types_misuse.ts"], { cwd: dir, encoding: "utf8" });
    assert.notEqual(r.status, 0);
    assert.match(r.stdout, /nope/);
  } finally {
    rmSync(bad, { force: true });
  }
});
