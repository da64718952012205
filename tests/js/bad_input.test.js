// protobuf-es rejects malformed binary input with an error instead of returning a partial message.
import { test } from "node:test";
import assert from "node:assert/strict";
import { fromBinary } from "@bufbuild/protobuf";
import { loadSchemas } from "./schemas.mjs";

const schemas = await loadSchemas();
const CancelResult = schemas.get("hookwire.v1.CancelResult");
const JsonValue = schemas.get("hookwire.v1.JsonValue");
const HookContext = schemas.get("hookwire.v1.HookContext");

const bytes = (...values) => Uint8Array.from(values);

test("truncated string payload: premature EOF", () => {
  // reason (field 1, length-delimited) announces 5 bytes, only 1 follows.
  assert.throws(() => fromBinary(CancelResult, bytes(0x0a, 0x05, 0x61)), /premature EOF/);
});

test("truncated nested message: premature EOF", () => {
  // HookContext.parent (field 10) announces 4 bytes of a nested message, 2 follow.
  assert.throws(() => fromBinary(HookContext, bytes(0x52, 0x04, 0x08, 0x01)), /premature EOF/);
});

test("truncated varint: premature EOF", () => {
  // int_value (field 3) varint whose continuation bit promises another byte.
  assert.throws(() => fromBinary(JsonValue, bytes(0x18, 0xff)), /premature EOF/);
});

test("over-long varint (11 bytes) is rejected", () => {
  const eleven = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
  assert.throws(() => fromBinary(JsonValue, bytes(0x18, ...eleven)), /invalid varint/);
});

test("invalid UTF-8 in a string field is rejected", () => {
  // 0xc3 0x28: a two-byte lead followed by a non-continuation byte.
  assert.throws(
    () => fromBinary(CancelResult, bytes(0x0a, 0x02, 0xc3, 0x28)),
    /not valid for encoding utf-8/,
  );
});

test("invalid wire type 7 is rejected naming the field", () => {
  assert.throws(() => fromBinary(CancelResult, bytes(0x0f)), /illegal tag: field no 1 wire type 7/);
});

test("wrong wire type for a string field (varint) with nothing after it", () => {
  // reason sent as a varint: protobuf-es reads a length of 1 and finds no byte.
  assert.throws(() => fromBinary(CancelResult, bytes(0x08, 0x01)), /premature EOF/);
});

test("field number 0 is rejected", () => {
  assert.throws(() => fromBinary(JsonValue, bytes(0x1a, 0x01, 0x00)), /illegal tag: field no 0/);
});
