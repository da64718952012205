// Measurements for bench/bench_js.py (`python -m bench js`), printed as one JSON line each.
//
//   node sdk/js/bench/bench.mjs worker ADDRESS        serve a no-op JS hook at custom:bench.js
//   node sdk/js/bench/bench.mjs roundtrip ADDRESS N   execute round trips (sequential, 64 in flight)
//   node sdk/js/bench/bench.mjs subscribe ADDRESS N   receive N events of type bench.js.*
//   node sdk/js/bench/bench.mjs echo ADDRESS          echo every message of /bench.Raw/Pipe (a
//                                                     bare bidi stream: the worker's baseline)

import * as grpc from "@grpc/grpc-js";
import { createClient, createWorker, modified } from "../src/index.js";

const [mode, address, nArg] = process.argv.slice(2);
const N = Number(nArg ?? 0);
const print = (o) => process.stdout.write(JSON.stringify(o) + "\n");

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function sequential(label, n, fn) {
  for (let i = 0; i < Math.min(200, n); i++) await fn(); // warm up
  const us = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    us.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  us.sort((a, b) => a - b);
  print({ what: label, n, p50_us: percentile(us, 50), p99_us: percentile(us, 99) });
}

async function inFlight(label, total, depth, fn) {
  let next = 0;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: depth }, async () => {
      while (next < total) {
        next++;
        await fn();
      }
    }),
  );
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  // The client's CPU share of the wall time: near 1 would make the client the bottleneck.
  print({ what: label, n: total, in_flight: depth, per_s: total / s, client_cpu: (cpu.user + cpu.system) / 1e6 / s });
}

if (mode === "worker") {
  const worker = createWorker({ address, workerId: "bench-js" });
  // Slow calls (64 queued on a loaded machine can take > 50 ms) must not open the breaker: the
  // multiplexed figure counts hook calls, not calls the breaker skipped.
  const breaker = { slowCallDurationMs: 4000 };
  worker.registerHook("custom:bench.js", (ctx) => modified({ seen: ctx.data.i }), { name: "bench_js", timeoutMs: 5000, breaker });
  await worker.start();
  print({ ready: true });
  process.stdin.resume();
  process.stdin.on("end", async () => {
    await worker.close(1000);
    process.exit(0);
  });
} else if (mode === "echo") {
  const raw = new grpc.Client(address, grpc.credentials.createInsecure());
  const same = (b) => b;
  const stream = raw.makeBidiStreamRequest("/bench.Raw/Pipe", same, same, new grpc.Metadata(), {});
  stream.on("data", (b) => stream.write(b));
  stream.on("error", () => {});
  stream.write(Buffer.alloc(8)); // opens the stream (id 0 is never pending)
  print({ ready: true });
  process.stdin.resume();
  process.stdin.on("end", () => process.exit(0));
} else if (mode === "roundtrip") {
  const client = createClient({ address });
  // Baselines on the same channel kind: a bare grpc-js unary (health check) and Execute of a
  // point without hooks; then Execute through the remote JS hook.
  const raw = new grpc.Client(address, grpc.credentials.createInsecure());
  const health = () =>
    new Promise((resolve, reject) =>
      raw.makeUnaryRequest("/grpc.health.v1.Health/Check", () => Buffer.alloc(0), (b) => b, {}, new grpc.Metadata(), {}, (e, v) =>
        e ? reject(e) : resolve(v),
      ),
    );
  await sequential("grpc-js unary (health check)", N, health);
  await sequential("execute, no hooks", N, () => client.execute({ point: "custom:bench.none", data: { i: 1 } }));
  await sequential("execute -> JS worker hook", N, () => client.execute({ point: "custom:bench.js", data: { i: 1 } }));
  await inFlight("execute -> JS worker hook", N * 2, 64, () => client.execute({ point: "custom:bench.js", data: { i: 1 } }));
  await inFlight("execute, no hooks", N * 2, 64, () => client.execute({ point: "custom:bench.none", data: { i: 1 } }));
  raw.close();
  client.close();
} else if (mode === "subscribe") {
  const client = createClient({ address });
  const it = client.subscribe({ patterns: ["bench.js.>"], capacity: 65536, overflow: { backpressure: {} }, maxBatchSize: 1024 });
  print({ subscribed: true });
  let got = 0;
  let t0 = 0n;
  for await (const e of it) {
    if (got === 0) t0 = process.hrtime.bigint();
    got++;
    if (got === N) break;
    void e;
  }
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  print({ what: "JS subscriber", n: N, per_s: (N - 1) / s, dropped: Number(it.stats?.droppedOldest ?? 0n) });
  client.close();
} else {
  process.stderr.write("usage: bench.mjs worker|roundtrip|subscribe ADDRESS [N]\n");
  process.exit(2);
}
