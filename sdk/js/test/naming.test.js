// The JS SDK follows docs/naming.md: the primary names, and the former names kept as aliases
// of the same behaviour.
import assert from "node:assert/strict";
import { test } from "node:test";
import * as hookwire from "../src/index.js";
import { createClient, createWorker, proceed } from "../src/index.js";

test("continue is hookwire.continue() (a namespace import) and proceed() (a named import)", () => {
  assert.equal(typeof hookwire.continue, "function");
  assert.equal(hookwire.continue().kind, "continue");
  assert.equal(proceed().kind, "continue");
});

test("worker.register / unregister; registerHook / unregisterHook are their aliases", async () => {
  const worker = createWorker({ address: "127.0.0.1:1", workerId: "naming" });
  try {
    await worker.register("session_start", () => undefined, { name: "a" });
    await worker.registerHook("session_start", () => undefined, { name: "b" });
    assert.throws(() => worker.register("session_start", () => undefined, { name: "b" }), /already registered/);
    await worker.unregisterHook("a");
    await worker.unregister("b");
    await assert.rejects(worker.unregister("a"), /no hook 'a'/);
  } finally {
    await worker.close();
  }
});

test("client.breakerStates; breakerState is its alias", async () => {
  const client = createClient({ address: "127.0.0.1:1" });
  try {
    const asked = [];
    client._unary = async (method, _codec, request) => asked.push([method, request.hookNames]);
    await client.breakerStates(["x"]);
    await client.breakerState(["y"]);
    assert.deepEqual(asked.map(([m, names]) => [m.endsWith("GetBreakerState"), names]), [[true, ["x"]], [true, ["y"]]]);
  } finally {
    client.close();
  }
});
