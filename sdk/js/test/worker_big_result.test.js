// A hook result over the executor's 4 MiB message limit fails that call only (ERROR
// invalid_result), and results that fit alone but not together are sent in separate frames:
// the worker's connection is never dropped for a result's size.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createClient, createWorker, modified } from "../src/index.js";
import { startPythonHookServer } from "../test-support/helpers.js";

const MiB = 1024 * 1024;

describe("results near the message limit", () => {
  let server;
  let client;
  let worker;
  before(async () => {
    server = await startPythonHookServer();
    client = createClient({ address: server.address });
    worker = createWorker({ address: server.address, workerId: "big-results" });
    worker.registerHook("custom:big", () => modified({ blob: "x".repeat(5 * MiB) }), { name: "too_big", timeoutMs: 10000 });
    worker.registerHook("custom:fits", async (ctx) => modified({ blob: "y".repeat(1.9 * MiB), i: ctx.data.i }), { name: "fits", timeoutMs: 10000 });
    worker.registerHook("custom:small", () => modified({ ok: true }), { name: "small" });
    await worker.start();
  });
  after(async () => {
    await worker?.close();
    client?.close();
    await server?.stop();
  });

  test("a result over 4 MiB fails its own call; the connection stays", async () => {
    const connection = worker.connectionId;
    const out = await client.execute({ point: "custom:big" });
    assert.deepEqual([out.trace[0].hook, out.trace[0].outcome, out.trace[0].reason], ["too_big", "ERROR", "invalid_result"]);
    assert.deepEqual(out.result, { kind: "continue" });
    const next = await client.execute({ point: "custom:small" });
    assert.deepEqual(next.result, { kind: "modified", data: { ok: true } });
    assert.equal(worker.connectionId, connection);
  });

  test("1.9 MiB results finishing together all arrive (a batch over the limit is split)", async () => {
    const connection = worker.connectionId;
    const outs = await Promise.all([0, 1, 2, 3].map((i) => client.execute({ point: "custom:fits", data: { i } })));
    for (const out of outs) assert.equal(out.trace[0].outcome, "MODIFIED");
    assert.deepEqual(outs.map((o) => o.context.data.i), [0, 1, 2, 3]);
    assert.equal(worker.connectionId, connection);
  });
});
