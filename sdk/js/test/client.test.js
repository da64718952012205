// The client against a real `hookwire serve` on 127.0.0.1.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { createClient, HookwireError } from "../src/index.js";
import { startCliServer } from "../test-support/helpers.js";

const TOKEN = "s3cret-js";
let server;
let client;

before(async () => {
  server = await startCliServer({ token: TOKEN });
  client = createClient({ address: server.address, token: TOKEN });
});

after(async () => {
  client?.close();
  await server?.stop();
});

test("execute with no hooks: CONTINUE, data unchanged, empty trace; metadata fills the context", async () => {
  const out = await client.execute(
    { point: "before_tool_execution", data: { tool: "search", big: 2n ** 62n, none: null } },
    { correlationId: "corr-1", traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" },
  );
  assert.deepEqual(out.result, { kind: "continue" });
  assert.deepEqual(out.context.data, { tool: "search", big: 2n ** 62n, none: null });
  assert.equal(out.context.point, "before_tool_execution");
  assert.equal(out.context.correlationId, "corr-1");
  assert.equal(out.context.distributed.traceparent, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  assert.deepEqual(out.trace, []);
});

test("bad input is refused before the wire, naming the field", async () => {
  await assert.rejects(client.execute({ point: "before_nothing" }), /context.point: unknown hook point "before_nothing"/);
  await assert.rejects(client.execute({ point: "custom:x", data: { d: new Date() } }), /context.data.d: Date is not a JSON value/);
  await assert.rejects(client.publish([{ payload: 1 }]), /events\[0\].type: must be a non-empty string/);
  assert.throws(() => client.subscribe({ patterns: [] }), /patterns: must be a non-empty array/);
  assert.throws(() => createClient({ address: "nowhere" }), /address: must be "host:port"/);
});

test("server-side validation errors come back typed", async () => {
  await assert.rejects(client.publish([{ type: "bad..type" }]), (e) => e instanceof HookwireError && e.code === "INVALID_ARGUMENT" && /events\[0\]/.test(e.message));
  await assert.rejects(client.breakerState(["ghost"]), (e) => e instanceof HookwireError && e.code === "NOT_FOUND" && /ghost/.test(e.message));
  const it = client.subscribe({ patterns: ["a..b"] });
  await assert.rejects(it.next(), (e) => e.code === "INVALID_ARGUMENT");
});

test("publish then subscribe from a sequence: events in order with payloads intact", async () => {
  const seqs = await client.publish([
    { type: "jsb.one", payload: { n: 1 } },
    { type: "jsb.two", payload: [1, "two", null] },
    { type: "other.x", payload: "skip me" },
    { type: "jsb.three", payload: 9007199254740993n },
  ]);
  assert.equal(seqs.length, 4);
  assert.equal(seqs[1], seqs[0] + 1n);
  const got = [];
  const it = client.subscribe({ patterns: ["jsb.>"], fromSequence: seqs[0] });
  for await (const e of it) {
    got.push([e.type, e.sequence - seqs[0], e.payload, e.sourceLanguage]);
    if (got.length === 3) break;
  }
  assert.deepEqual(got, [
    ["jsb.one", 0n, { n: 1 }, "javascript"],
    ["jsb.two", 1n, [1, "two", null], "javascript"],
    ["jsb.three", 3n, 9007199254740993n, "javascript"],
  ]);
});

test("live subscription receives events published after it started", async () => {
  const it = client.subscribe({ patterns: ["live.*"], overflow: "drop_newest", capacity: 16 });
  // Subscribing is asynchronous on the server; publish until the first event arrives.
  const first = it.next();
  let n = 0;
  let done = false;
  first.then(() => {
    done = true;
  });
  while (!done && n < 100) {
    await client.publish([{ type: "live.tick", payload: n++ }]);
    await new Promise((r) => setTimeout(r, 20));
  }
  const e = (await first).value;
  assert.equal(e.type, "live.tick");
  assert.ok(it.stats.delivered >= 1n);
  await it.return();
});

test("a subscription with capacity 0 is INVALID_ARGUMENT naming capacity", async () => {
  const it = client.subscribe({ patterns: ["x.y"], capacity: 0 });
  await assert.rejects(it.next(), (e) => e.code === "INVALID_ARGUMENT" && /capacity/.test(e.message));
});

test("wrong or missing token is UNAUTHENTICATED", async () => {
  const wrong = createClient({ address: server.address, token: "nope" });
  const none = createClient({ address: server.address });
  try {
    await assert.rejects(wrong.execute({ point: "custom:x" }), (e) => e.code === "UNAUTHENTICATED");
    await assert.rejects(none.publish([{ type: "a.b" }]), (e) => e.code === "UNAUTHENTICATED");
    await assert.rejects(wrong.subscribe({ patterns: ["a.b"] }).next(), (e) => e.code === "UNAUTHENTICATED");
  } finally {
    wrong.close();
    none.close();
  }
});

test("listHooks and breakerState on an empty executor", async () => {
  assert.deepEqual(await client.listHooks(), []);
  assert.deepEqual(await client.breakerState(), []);
});

test("a deadline is honoured", async () => {
  await assert.rejects(client.execute({ point: "custom:x" }, { deadlineMs: 0.001 }), (e) => e.code === "DEADLINE_EXCEEDED");
});
