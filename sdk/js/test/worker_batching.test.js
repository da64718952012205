// Batching on the worker stream, against a fake executor (a grpc-js server that records every
// frame): the hello says batching; a callBatch is answered with one resultBatch matched by id
// when the welcome says batching, and with plain results when it does not; a lone call gets a
// plain result; a publish keeps its place ahead of its call's result.
import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { after, test } from "node:test";
import {
  ExecutorMessageSchema,
  HookCallBatchSchema,
  HookCallSchema,
  WorkerMessageSchema,
} from "#generated/hookwire/v1/executor_service_pb.js";
import { contextToProto } from "../src/context.js";
import { createWorker, modified } from "../src/index.js";
import { msToDuration, resultFromProto } from "../src/results.js";
import { codec } from "../src/transport.js";
import { eventually, sleep } from "../test-support/helpers.js";

const msg = codec(WorkerMessageSchema);
const exec = codec(ExecutorMessageSchema);
const servers = [];

after(() => {
  for (const s of servers) s.forceShutdown();
});

// A fake executor: welcomes (with `batching` as given), acks registrations, records every frame
// the worker sends, and lets the test send frames.
async function fakeExecutor(batching) {
  const server = new grpc.Server();
  const frames = [];
  let stream = null;
  server.addService(
    {
      Connect: {
        path: "/hookwire.v1.ExecutorService/Connect",
        requestStream: true,
        responseStream: true,
        requestSerialize: msg.serialize,
        requestDeserialize: msg.deserialize,
        responseSerialize: exec.serialize,
        responseDeserialize: exec.deserialize,
      },
    },
    {
      Connect: (call) => {
        stream = call;
        call.on("data", (m) => {
          frames.push(m);
          const c = m.message.case;
          if (c === "hello") call.write(create(ExecutorMessageSchema, { message: { case: "welcome", value: { connectionId: "c1", batching } } }));
          if (c === "register") call.write(create(ExecutorMessageSchema, { message: { case: "registerAck", value: { requestId: m.message.value.requestId } } }));
        });
        call.on("end", () => call.end());
      },
    },
  );
  const port = await new Promise((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  servers.push(server);
  return { address: `127.0.0.1:${port}`, frames, send: (message) => stream.write(create(ExecutorMessageSchema, { message })) };
}

function hookCall(callId, i) {
  return create(HookCallSchema, {
    callId: BigInt(callId),
    hookName: "triple",
    timeout: msToDuration(5000),
    context: contextToProto({ point: "session_start", data: { i } }),
  });
}

function batchOf(calls) {
  return { case: "callBatch", value: create(HookCallBatchSchema, { calls }) };
}

const answers = (frames) => frames.filter((f) => f.message.case === "result" || f.message.case === "resultBatch" || f.message.case === "publish");

function seen(result) {
  assert.equal(result.outcome.case, "result", JSON.stringify(result.outcome.value?.message));
  return resultFromProto(result.outcome.value).data.seen;
}

async function startWorker(address, hook) {
  const worker = createWorker({ address, workerId: "batch-js", reconnect: { initialDelayMs: 10 } });
  worker.registerHook("session_start", hook, { name: "triple" });
  await worker.start();
  return worker;
}

test("hello says batching; a callBatch to a batching executor comes back as one resultBatch matched by id", async () => {
  const fake = await fakeExecutor(true);
  const worker = await startWorker(fake.address, (ctx) => modified({ seen: ctx.data.i * 3 }));
  try {
    assert.equal(fake.frames[0].message.value.batching, true);
    fake.send(batchOf([hookCall(7, 1), hookCall(3, 2), hookCall(9, 3)]));
    await eventually(() => answers(fake.frames).length >= 1);
    await sleep(20);
    const got = answers(fake.frames);
    assert.deepEqual(got.map((f) => f.message.case), ["resultBatch"]);
    const results = got[0].message.value.results;
    assert.deepEqual(results.map((r) => [r.callId, seen(r)]), [
      [7n, 3],
      [3n, 6],
      [9n, 9],
    ]);
    // A lone call is answered with a plain result.
    fake.send({ case: "call", value: hookCall(11, 5) });
    await eventually(() => answers(fake.frames).length === 2);
    const lone = answers(fake.frames)[1];
    assert.equal(lone.message.case, "result");
    assert.deepEqual([lone.message.value.callId, seen(lone.message.value)], [11n, 15]);
  } finally {
    await worker.close(500);
  }
});

test("async hooks of one batch finishing in the same turn share a resultBatch", async () => {
  const fake = await fakeExecutor(true);
  const worker = await startWorker(fake.address, async (ctx) => {
    await null;
    return modified({ seen: ctx.data.i });
  });
  try {
    fake.send(batchOf([hookCall(1, 10), hookCall(2, 20)]));
    await eventually(() => answers(fake.frames).length >= 1);
    await sleep(20);
    const got = answers(fake.frames);
    assert.deepEqual(got.map((f) => f.message.case), ["resultBatch"]);
    assert.deepEqual(got[0].message.value.results.map((r) => [r.callId, seen(r)]), [
      [1n, 10],
      [2n, 20],
    ]);
  } finally {
    await worker.close(500);
  }
});

test("a non-batching executor gets plain results even for a callBatch", async () => {
  const fake = await fakeExecutor(false);
  const worker = await startWorker(fake.address, (ctx) => modified({ seen: ctx.data.i }));
  try {
    fake.send(batchOf([hookCall(4, 1), hookCall(5, 2)]));
    await eventually(() => answers(fake.frames).length === 2);
    await sleep(20);
    const got = answers(fake.frames);
    assert.deepEqual(got.map((f) => [f.message.case, f.message.value.callId, seen(f.message.value)]), [
      ["result", 4n, 1],
      ["result", 5n, 2],
    ]);
  } finally {
    await worker.close(500);
  }
});

test("a publish keeps its place: results held before it are written ahead of it", async () => {
  const fake = await fakeExecutor(true);
  const worker = await startWorker(fake.address, (ctx, call) => {
    if (ctx.data.i === 2) call.publish("app.second", { i: 2 });
    return modified({ seen: ctx.data.i });
  });
  try {
    fake.send(batchOf([hookCall(1, 1), hookCall(2, 2), hookCall(3, 3)]));
    await eventually(() => answers(fake.frames).length >= 3);
    await sleep(20);
    const got = answers(fake.frames);
    assert.deepEqual(got.map((f) => f.message.case), ["result", "publish", "resultBatch"]);
    assert.equal(got[0].message.value.callId, 1n);
    assert.deepEqual(got[2].message.value.results.map((r) => r.callId), [2n, 3n]);
  } finally {
    await worker.close(500);
  }
});
