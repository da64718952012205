// decodeStrict (generated/js/hookwire/strict_decode.js) rejects what fromBinary silently
// misreads: known fields arriving with the wrong wire type, at any depth.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { equals, fromBinary } from "@bufbuild/protobuf";
import { decodeStrict } from "../../generated/js/hookwire/strict_decode.js";
import { ROOT, hexToBytes, loadSchemas } from "./schemas.mjs";

const schemas = await loadSchemas();
const CancelResult = schemas.get("hookwire.v1.CancelResult");
const UniversalEvent = schemas.get("hookwire.v1.UniversalEvent");
const PublishResponse = schemas.get("hookwire.v1.PublishResponse");
const ForkResult = schemas.get("hookwire.v1.ForkResult");
const bytes = (...values) => Uint8Array.from(values);

test("a string field sent as a varint: fromBinary misreads it, decodeStrict names it", () => {
  const data = bytes(0x08, 0x01, 0x61); // field 1 varint 1, then 'a'
  assert.equal(fromBinary(CancelResult, data).reason, "a"); // the silent misread
  assert.throws(
    () => decodeStrict(CancelResult, data),
    {
      message:
        "hookwire.v1.CancelResult: field 'reason' (number 1) has wire type 0 (varint), " +
        "expected 2 (length-delimited)",
    },
  );
});

test("wrong wire type inside a map value names the path", () => {
  // UniversalEvent.payload (6) = JsonValue{object_value (7) = JsonObject{fields (1) = {"k":
  // JsonValue{string_value (5) sent as 64-bit}}}}
  const inner = [0x29, 0, 0, 0, 0, 0, 0, 0, 0];
  const entry = [0x0a, 0x01, 0x6b, 0x12, inner.length, ...inner];
  const obj = [0x0a, entry.length, ...entry];
  const payload = [0x3a, obj.length, ...obj];
  const data = bytes(0x32, payload.length, ...payload);
  assert.throws(
    () => decodeStrict(UniversalEvent, data),
    /^Error: hookwire\.v1\.UniversalEvent\.payload\.object_value\.fields\[\]: field 'string_value' \(number 5\) has wire type 1 \(64-bit\)/,
  );
});

test("wrong wire type in a repeated message names the element", () => {
  // ForkResult.operations[1].operation (field 1, string) sent as 32-bit.
  const good = [0x0a, 0x01, 0x61];
  const bad = [0x0d, 0, 0, 0, 0];
  const data = bytes(0x0a, good.length, ...good, 0x0a, bad.length, ...bad);
  assert.throws(() => decodeStrict(ForkResult, data), /ForkResult\.operations\[1\]: field 'operation'/);
});

test("packed and unpacked repeated uint64 are both accepted", () => {
  const packed = decodeStrict(PublishResponse, bytes(0x0a, 0x02, 0x01, 0x02));
  const unpacked = decodeStrict(PublishResponse, bytes(0x08, 0x01, 0x08, 0x02));
  assert.deepEqual(packed.sequences, [1n, 2n]);
  assert.ok(equals(PublishResponse, packed, unpacked));
});

test("unknown field numbers are skipped, not rejected", () => {
  const message = decodeStrict(CancelResult, bytes(0x0a, 0x01, 0x61, 0x98, 0x06, 0x01));
  assert.equal(message.reason, "a");
});

test("fromBinary's own errors still come through", () => {
  assert.throws(() => decodeStrict(CancelResult, bytes(0x0a, 0x05, 0x61)), /premature EOF/);
  assert.throws(() => decodeStrict(CancelResult, bytes(0x0a, 0x02, 0xc3, 0x28)), /utf-8/);
});

test("every golden vector passes the strict check unchanged", () => {
  const dir = join(ROOT, "conformance", "vectors");
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".json"))) {
    const vector = JSON.parse(readFileSync(join(dir, file), "utf8"));
    const schema = schemas.get(vector.message);
    const data = hexToBytes(vector.binary_hex);
    assert.ok(equals(schema, decodeStrict(schema, data), fromBinary(schema, data)), vector.name);
  }
});
