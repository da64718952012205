// call.publish: a JS hook's events go on the worker stream as publish frames, ahead of the
// call's result, stamped with the call's clock and the JAVASCRIPT language.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { createClient, createWorker, modified } from "../src/index.js";
import { startCliServer } from "../test-support/helpers.js";

let server;
let client;
let worker;
const seen = {};
before(async () => {
  server = await startCliServer();
  client = createClient({ address: server.address });
  worker = createWorker({ address: server.address, workerId: "js-publisher" });
  worker.registerHook(
    "custom:pub",
    (ctx, call) => {
      seen.before = call.clock.nowNs();
      call.publish("app.one", { n: 1, big: 9007199254740993n }, { ttlMs: 5000, metadata: { k: "v" }, correlationId: "c-1" });
      call.publish("app.two");
      call.publish("app.three", null);
      seen.after = call.clock.nowNs();
      for (const [args, pattern] of [
        [["bad..type"], /type: invalid event type "bad\.\.type"/],
        [["app.x", 1, { ttl: 5 }], /opts\.ttl: unknown option/],
        [["app.x", 1, { ttlMs: -1 }], /opts\.ttlMs: must be a finite number >= 0/],
        [["app.x", 1, { metadata: { k: 1 } }], /opts\.metadata\.k: must be a string/],
        [["app.x", () => 1], /payload/],
      ]) {
        assert.throws(() => call.publish(...args), pattern);
      }
      seen.checked = true;
      return modified({ published: 3 });
    },
    { name: "publisher", timeoutMs: 5000 },
  );
  worker.register(
    "custom:tied",
    async (ctx, call) => {
      seen.sequences = [
        await call.publish("tied.auto", { n: 1 }),
        await call.publish("tied.own", undefined, { correlationId: "mine", causationId: "cause" }),
      ];
      await assert.rejects(call.publish("tied.refused", 1, { ttlMs: 1e20 }), /ttl/);
    },
    { name: "tier", timeoutMs: 5000 },
  );
  await worker.start();
});
after(async () => {
  await worker?.close();
  client?.close();
  await server?.stop();
});

test("events a hook publishes reach subscribers in order, before its call's outcome event", async () => {
  const out = await client.execute({ point: "custom:pub" });
  assert.equal(out.trace[0].outcome, "MODIFIED", out.trace[0].reason);
  assert.equal(seen.checked, true);
  const got = [];
  const it = client.subscribe({ patterns: ["app.>", "hookwire.hook.executed"], fromSequence: 1n });
  for await (const e of it) {
    got.push(e);
    if (got.length === 4) break;
  }
  assert.deepEqual(
    got.map((e) => [e.type, e.sequence, e.sourceLanguage]),
    [
      ["app.one", 1n, "javascript"],
      ["app.two", 2n, "javascript"],
      ["app.three", 3n, "javascript"],
      ["hookwire.hook.executed", 4n, "native"],
    ],
  );
  assert.deepEqual(got[0].payload, { n: 1, big: 9007199254740993n });
  assert.equal(got[1].payload, undefined); // no payload, distinct from JSON null
  assert.equal(got[2].payload, null);
  assert.deepEqual([got[0].ttlMs, got[0].metadata, got[0].correlationId], [5000, { k: "v" }, "c-1"]);
  // Stamped by the hook's clock while it ran, not by the executor afterwards.
  for (const e of got.slice(0, 3)) assert.ok(e.timeNs >= seen.before && e.timeNs <= seen.after, `${e.timeNs}`);
});

test("events a hook publishes carry the execution's correlation id, the hook call and the hook's trace context", async () => {
  const traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
  const out = await client.execute({ point: "custom:tied", correlationId: "run-5", traceparent, tracestate: "v=1" });
  assert.equal(out.trace[0].outcome, "CONTINUE", out.trace[0].reason);
  const got = [];
  for await (const e of client.subscribe({ patterns: ["tied.>"], fromSequence: 1n })) {
    got.push(e);
    if (got.length === 2) break;
  }
  // publish resolves to the sequence the event got, as in-process publishes return it.
  assert.deepEqual(seen.sequences, got.map((e) => e.sequence));
  assert.deepEqual(
    got.map((e) => [e.type, e.correlationId, e.causationId, e.traceparent, e.tracestate]),
    [
      ["tied.auto", "run-5", "custom:tied/tier", traceparent, "v=1"],
      // What the hook gives itself wins.
      ["tied.own", "mine", "cause", traceparent, "v=1"],
    ],
  );
});
