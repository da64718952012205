// Every golden vector (conformance/vectors/*.json) decodes and re-encodes identically with the
// protoc-gen-es bindings: binary -> message -> binary is byte-identical, JSON and binary parse to
// equal messages, and toJson gives the vector's proto3 JSON.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { equals, fromBinary, fromJson, toBinary, toJson } from "@bufbuild/protobuf";
import { ROOT, bytesToHex, hexToBytes, loadSchemas } from "./schemas.mjs";

const VECTORS = join(ROOT, "conformance", "vectors");
const schemas = await loadSchemas();
const files = readdirSync(VECTORS).filter((f) => f.endsWith(".json")).sort();

test("there are golden vectors to check", () => {
  assert.ok(files.length >= 50, `only ${files.length} vectors in ${VECTORS}`);
});

for (const file of files) {
  const vector = JSON.parse(readFileSync(join(VECTORS, file), "utf8"));
  test(`vector ${vector.name}`, () => {
    const schema = schemas.get(vector.message);
    assert.ok(schema, `no generated schema for ${vector.message}`);
    const fromBin = fromBinary(schema, hexToBytes(vector.binary_hex));
    const fromJs = fromJson(schema, vector.json);
    assert.ok(equals(schema, fromBin, fromJs), "binary and JSON forms parse to different messages");
    assert.equal(bytesToHex(toBinary(schema, fromBin)), vector.binary_hex);
    // Re-encoding fromJs is not compared byte for byte: map entries are written in insertion
    // order, and the wire format leaves map order unspecified.
    assert.deepEqual(toJson(schema, fromBin), vector.json);
  });
}
