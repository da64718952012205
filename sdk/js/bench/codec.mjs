// protobuf-es vs the generated straight-line codecs on the worker stream's two hot messages,
// in one process (run by `python -m bench codec`; also `node sdk/js/bench/codec.mjs`):
//   decode ExecutorMessage{call} with a small context, encode WorkerMessage{result: modified}.
// Prints one JSON line: microseconds per operation (best of 7 rounds) and the ratios.

import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { DurationSchema, TimestampSchema } from "@bufbuild/protobuf/wkt";
import { ExecutorMessageSchema, HookCallResultSchema, HookCallSchema, WorkerMessageSchema } from "#generated/hookwire/v1/executor_service_pb.js";
import { decodeExecutorMessage, encodeWorkerMessage } from "#generated/hookwire/v1/executor_service_wire.js";
import { HookContextSchema, HookResultSchema, ModifiedResultSchema } from "#generated/hookwire/v1/hook_pb.js";
import { toJsonObject } from "../src/json.js";

const N = Number(process.argv[2] ?? 20000);
const ROUNDS = 7;

const call = create(ExecutorMessageSchema, {
  message: {
    case: "call",
    value: create(HookCallSchema, {
      callId: 123456n,
      hookName: "bench-hook",
      context: create(HookContextSchema, {
        point: 0,
        customPoint: "custom:bench.js",
        data: toJsonObject({ tool: "search", args: { q: "hookwire", limit: 10 }, ok: true }, "data"),
        metadata: { session: "s-1" },
        correlationId: "corr-0001",
        timestamp: create(TimestampSchema, { seconds: 1_764_000_000n, nanos: 123_000_000 }),
      }),
      timeout: create(DurationSchema, { nanos: 100_000_000 }),
    }),
  },
});
const callBytes = toBinary(ExecutorMessageSchema, call);
const result = create(WorkerMessageSchema, {
  message: {
    case: "result",
    value: create(HookCallResultSchema, {
      callId: 123456n,
      outcome: {
        case: "result",
        value: create(HookResultSchema, {
          kind: { case: "modified", value: create(ModifiedResultSchema, { data: toJsonObject({ checked: true, n: 1 }, "data") }) },
        }),
      },
    }),
  },
});
if (Buffer.compare(Buffer.from(encodeWorkerMessage(result)), Buffer.from(toBinary(WorkerMessageSchema, result))) !== 0) {
  throw new Error("generated encoding differs from protobuf-es");
}

function best(fn) {
  let us = Infinity;
  for (let r = 0; r <= ROUNDS; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < N; i++) fn();
    const t = Number(process.hrtime.bigint() - t0) / 1000 / N;
    if (r > 0) us = Math.min(us, t); // round 0 warms up the JIT
  }
  return us;
}

let sink;
const decodeEs = best(() => (sink = fromBinary(ExecutorMessageSchema, callBytes)));
const decodeWire = best(() => (sink = decodeExecutorMessage(callBytes)));
const encodeEs = best(() => (sink = toBinary(WorkerMessageSchema, result)));
const encodeWire = best(() => (sink = encodeWorkerMessage(result)));
void sink;
const round = (x) => Math.round(x * 1000) / 1000;

console.log(
  JSON.stringify({
    call_bytes: callBytes.length,
    decode_call_us: { protobuf_es: round(decodeEs), generated: round(decodeWire), ratio: round(decodeEs / decodeWire) },
    encode_result_us: { protobuf_es: round(encodeEs), generated: round(encodeWire), ratio: round(encodeEs / encodeWire) },
  }),
);
