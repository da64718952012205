import assert from "node:assert/strict";
import { test } from "node:test";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { JsonValueSchema } from "#generated/hookwire/v1/json_pb.js";
import { fromJsonObject, fromJsonValue, JsonConversionError, JsonNumberText, toJsonObject, toJsonValue } from "../src/json.js";

const roundTrip = (v) => fromJsonValue(fromBinary(JsonValueSchema, toBinary(JsonValueSchema, toJsonValue(v))));

test("scalars map to the JsonValue kinds the proto defines", () => {
  assert.equal(toJsonValue(null).kind.case, "nullValue");
  assert.equal(toJsonValue(true).kind.case, "boolValue");
  assert.equal(toJsonValue("x").kind.case, "stringValue");
  assert.deepEqual(toJsonValue(42).kind, { case: "intValue", value: 42n });
  assert.deepEqual(toJsonValue(1.5).kind, { case: "doubleValue", value: 1.5 });
  assert.deepEqual(toJsonValue(2n ** 70n).kind, { case: "numberText", value: "1180591620717411303424" });
  assert.equal(toJsonValue(undefined), undefined);
});

test("integers beyond 2^53 survive as bigint, safe ones come back as numbers", () => {
  assert.equal(roundTrip(9007199254740993n), 9007199254740993n);
  assert.equal(roundTrip(-(2n ** 63n)), -(2n ** 63n));
  assert.equal(roundTrip(123), 123);
  assert.equal(typeof roundTrip(123), "number");
  assert.equal(roundTrip(2n ** 64n), 18446744073709551616n);
});

test("decimal text beyond a double stays exact", () => {
  const v = roundTrip(new JsonNumberText("0.10000000000000000000000001"));
  assert.ok(v instanceof JsonNumberText);
  assert.equal(v.text, "0.10000000000000000000000001");
  assert.throws(() => new JsonNumberText("1e"), /text: must be a JSON number literal/);
});

test("explicit null differs from absent in objects and arrays", () => {
  const obj = toJsonObject({ a: null, b: undefined, c: [1, null] });
  assert.deepEqual(Object.keys(obj.fields).sort(), ["a", "c"]);
  assert.deepEqual(fromJsonObject(obj), { a: null, c: [1, null] });
  assert.deepEqual(roundTrip({ nested: { deep: [{ x: "y" }] } }), { nested: { deep: [{ x: "y" }] } });
});

test("values without a JSON form are refused with the path", () => {
  assert.throws(() => toJsonValue({ a: { b: NaN } }), (e) => e instanceof JsonConversionError && e.path === "value.a.b");
  assert.throws(() => toJsonValue([1, undefined]), /value\[1\]: undefined is not a JSON value/);
  assert.throws(() => toJsonValue({ when: new Date(0) }), /value.when: Date is not a JSON value/);
  assert.throws(() => toJsonValue(() => 1), /function is not a JSON value/);
  assert.throws(() => toJsonObject([1], "data"), /data: must be a plain object, got an array/);
});
