// The limits of docs/security.md in the JS SDK: JSON depth counted as in every language (a
// result nested too deep is ERROR invalid_result for that call, the worker's stream stays up),
// names and durations refused with typed errors naming the argument.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { cache, createClient, createWorker, fork, modified, redirect, replace, retry } from "../src/index.js";
import { InvalidResultError } from "../src/results.js";
import { MAX_DURATION_MS, MAX_JSON_DEPTH, MAX_NAME_BYTES } from "../src/limits.js";
import { JsonConversionError, toJsonObject, toJsonValue } from "../src/json.js";
import { startCliServer } from "../test-support/helpers.js";

function arrays(depth) {
  let v = 1;
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

function objects(depth) {
  let v = 1;
  for (let i = 0; i < depth; i++) v = { k: v };
  return v;
}

test("JSON depth counts the objects and arrays around a value, as in Python and Lua", () => {
  assert.equal(MAX_JSON_DEPTH, 30);
  toJsonValue(arrays(30));
  toJsonValue(objects(30));
  toJsonObject(objects(30)); // an object: itself is the first level
  assert.throws(() => toJsonValue(arrays(31)), (e) => e instanceof JsonConversionError && e.path === `value${"[0]".repeat(30)}`);
  assert.throws(
    () => toJsonValue(objects(31)),
    (e) => e instanceof JsonConversionError && e.path === `value${".k".repeat(30)}` && /nested deeper than 30/.test(e.message),
  );
  assert.throws(() => toJsonObject(objects(31), "data"), (e) => e.path === `data${".k".repeat(30)}`);
});

test("a value 100,000 deep is refused with its path, not a stack overflow", () => {
  assert.throws(() => toJsonValue(arrays(100_000)), JsonConversionError);
});

test("result helpers refuse too-deep values as invalid results, naming the path", () => {
  assert.throws(() => replace(arrays(60)), (e) => e instanceof InvalidResultError && e.message.startsWith(`value${"[0]".repeat(30)}: nested deeper than 30`));
  assert.throws(() => modified(objects(31)), (e) => e instanceof InvalidResultError && e.message.startsWith(`data${".k".repeat(30)}:`));
  assert.throws(() => fork([{ operation: "x", parameters: objects(31) }]), InvalidResultError);
  replace(arrays(30));
  modified(objects(30));
});

test("durations over one day and names over 256 bytes are refused, naming the argument", () => {
  assert.equal(MAX_DURATION_MS, 86_400_000);
  assert.equal(MAX_NAME_BYTES, 256);
  assert.throws(() => cache("k", 1e300), { name: "TypeError", message: "ttlMs: must be at most 86400000 ms (one day), got 1e+300" });
  assert.throws(() => retry(1e308, 1), { name: "TypeError", message: /^delayMs: must be at most 86400000 ms/ });
  assert.throws(() => cache("é".repeat(129), 1), { name: "TypeError", message: "key: must be at most 256 bytes of UTF-8, got 258" });
  assert.throws(() => redirect("x".repeat(257)), /^TypeError: target: must be at most 256 bytes/);
  assert.throws(() => fork([{ operation: "x".repeat(257) }]), /operations\[0\]\.operation: must be at most 256 bytes/);
  cache("é".repeat(128), MAX_DURATION_MS);
  retry(MAX_DURATION_MS, 1);
});

describe("a worker hook returning a value nested too deep", () => {
  let server;
  let client;
  let worker;
  before(async () => {
    server = await startCliServer();
    client = createClient({ address: server.address });
    worker = createWorker({ address: server.address, workerId: "js-limits" });
    await worker.start();
  });
  after(async () => {
    await worker?.close();
    client?.close();
    await server?.stop();
  });

  test("is ERROR invalid_result for that call; the stream and the next calls go on", async () => {
    await worker.registerHook("custom:deep", () => replace(arrays(60)), { name: "deep_replace" });
    await worker.registerHook("custom:deep", () => modified({ ok: true }), { name: "fine", priority: -1 });
    for (let round = 0; round < 2; round++) {
      const out = await client.execute({ point: "custom:deep" });
      assert.deepEqual(
        out.trace.map((t) => [t.hook, t.outcome, t.reason]),
        [
          ["fine", "MODIFIED", ""], // priority -1 runs first
          ["deep_replace", "ERROR", "invalid_result"],
        ],
      );
      assert.deepEqual(out.context.data, { ok: true });
    }
  });

  test("the client refuses to publish a payload nested too deep, before the wire", async () => {
    await assert.rejects(
      client.publish([{ type: "deep.event", payload: arrays(49) }]),
      (e) => e instanceof JsonConversionError && e.path.startsWith("events[0].payload[0]"),
    );
    const [seq] = await client.publish([{ type: "deep.event", payload: arrays(30) }]);
    assert.ok(seq > 0n || seq > 0);
  });
});
