// Equivalence of the generated codec and protobuf-es on tests/codegen/jswire/.../allkinds.proto
// (every field kind). Run by tests/codegen/test_jswire.py with the directory protoc wrote both
// plugins' output to:  node sdk/js/test-support/wire_allkinds.mjs OUT_DIR [SEED]
// Prints one JSON summary line; exits non-zero (with the assertion) on any difference.

import assert from "node:assert/strict";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { checkSchemas, codecOf, randomMessage, rng, schemasOf } from "./wire_equivalence.js";

const [dir, seedArg] = process.argv.slice(2);
const seed = Number(seedArg ?? 1);
const load = (name) => import(pathToFileURL(join(dir, "hookwire", "jswiretest", name)).href);
const pb = await load("allkinds_pb.js");
const wire = await load("allkinds_wire.js");
const schemas = schemasOf(pb);
const codecs = new Map([...schemas].map(([name, schema]) => [name, codecOf(schema, wire)]));
assert.ok(schemas.size >= 10, `only ${schemas.size} schemas`);

const result = checkSchemas(schemas, codecs, { seed, samples: 150 });

// Packed and unpacked encodings of the same lists decode alike (each as the other type).
const r = rng(seed + 1);
let crossed = 0;
for (const [from, to] of [
  [pb.PackedSchema, pb.UnpackedSchema],
  [pb.UnpackedSchema, pb.PackedSchema],
]) {
  for (let i = 0; i < 100; i++) {
    const bytes = toBinary(from, randomMessage(from, r));
    const ours = codecs.get(to.typeName).decode(bytes);
    assert.deepStrictEqual(ours, fromBinary(to, bytes), `${from.typeName} bytes as ${to.typeName}`);
    assert.deepStrictEqual(Buffer.from(codecs.get(to.typeName).encode(ours)), Buffer.from(toBinary(to, fromBinary(to, bytes))));
    crossed++;
  }
}

// Local names protobuf-es escapes or camel-cases unusually.
const tree = codecs.get("hookwire.jswiretest.Tree").decode(toBinary(pb.TreeSchema, fromBinary(pb.TreeSchema, Uint8Array.of(0x28, 0x05, 0x5a, 0x01, 0x78))));
assert.equal(tree.constructor$, 5);
assert.equal(tree.name23x, "x");

console.log(JSON.stringify({ schemas: schemas.size, ...result, crossed }));
