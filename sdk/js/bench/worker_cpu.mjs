// The JS worker's own CPU per hook call, without gRPC: bytes of an ExecutorMessage{call} go
// through the worker stream's deserializer, the worker (a sync hook returning modified), and the
// serializer of its WorkerMessage{result}, in a loop. Prints one JSON line (best of 5 rounds).
//   node sdk/js/bench/worker_cpu.mjs [N]

import { create, toBinary } from "@bufbuild/protobuf";
import { DurationSchema } from "@bufbuild/protobuf/wkt";
import { ExecutorMessageSchema, HookCallSchema } from "#generated/hookwire/v1/executor_service_pb.js";
import { HookContextSchema } from "#generated/hookwire/v1/hook_pb.js";
import { toJsonObject } from "../src/json.js";
import { createWorker, modified } from "../src/index.js";

const N = Number(process.argv[2] ?? 100000);
const worker = createWorker({ address: "127.0.0.1:1", workerId: "cpu" });
worker.registerHook("custom:bench.js", (ctx) => modified({ seen: ctx.data.i }), { name: "bench_js" });
let written = 0;
// A stand-in for the gRPC stream: the worker's writes are serialized as grpc-js would.
worker._stream = { write: (m) => (written += worker._msg.serialize(m).length) };
worker.connectionId = "bench";
const call = create(HookCallSchema, {
  callId: 5n,
  hookName: "bench_js",
  timeout: create(DurationSchema, { seconds: 5n }),
  context: create(HookContextSchema, { customPoint: "bench.js", data: toJsonObject({ i: 1 }), correlationId: "abc-123" }),
});
const bytes = Buffer.from(toBinary(ExecutorMessageSchema, create(ExecutorMessageSchema, { message: { case: "call", value: call } })));
let best = Infinity;
for (let r = 0; r < 6; r++) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) worker._onMessage(worker._exec.deserialize(bytes));
  const us = Number(process.hrtime.bigint() - t0) / 1000 / N;
  if (r > 0) best = Math.min(best, us); // round 0 warms up the JIT
}
if (written === 0) throw new Error("the worker wrote nothing");
console.log(JSON.stringify({ worker_us_per_call: Math.round(best * 1000) / 1000, n: N }));
worker._stream = null;
worker.connectionId = "";
await worker.close(10);
