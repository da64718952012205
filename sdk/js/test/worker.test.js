// The worker against real servers on 127.0.0.1: chains with Python hooks, every result helper,
// failures, invalid results, auth, reconnect, clean shutdown and a worker killed mid-call.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, before, describe, test } from "node:test";
import {
  cache,
  cancel,
  createClient,
  createWorker,
  fork,
  modified,
  redirect,
  replace,
  retry,
  skipped,
} from "../src/index.js";
import { eventually, REPO, sleep, startCliServer, startPythonHookServer, stopProcess } from "../test-support/helpers.js";

describe("a JS hook in a chain with a Python in-process hook", () => {
  let server;
  let client;
  let worker;
  before(async () => {
    server = await startPythonHookServer();
    client = createClient({ address: server.address });
    worker = createWorker({ address: server.address, workerId: "chain-js" });
  });
  after(async () => {
    await worker?.close();
    client?.close();
    await server?.stop();
  });

  test("MODIFIED data flows through both in priority order", async () => {
    worker.registerHook("custom:chain", (ctx) => modified({ order: [...(ctx.data.order ?? []), "js"], js_saw: ctx.data.start }), {
      name: "js_append",
      priority: -10,
    });
    await worker.start();
    const hooks = await client.listHooks({ point: "custom:chain" });
    assert.deepEqual(
      hooks.map((h) => [h.name, h.language, h.priority]),
      [
        ["js_append", "javascript", -10],
        ["py_append", "python", 0],
      ],
    );
    const out = await client.execute({ point: "custom:chain", data: { start: "s", order: [] } });
    assert.deepEqual(out.context.data, { start: "s", order: ["js", "py"], js_saw: "s", py_saw_js: true });
    assert.deepEqual(
      out.trace.map((t) => [t.hook, t.language, t.outcome]),
      [
        ["js_append", "javascript", "MODIFIED"],
        ["py_append", "python", "MODIFIED"],
      ],
    );
  });
});

describe("worker behaviour on one server", () => {
  let server;
  let client;
  let worker;
  before(async () => {
    server = await startCliServer({ token: "tok" });
    client = createClient({ address: server.address, token: "tok" });
    worker = createWorker({ address: server.address, token: "tok", workerId: "js-main" });
    await worker.start();
  });
  after(async () => {
    await worker?.close();
    client?.close();
    await server?.stop();
  });

  const cases = [
    // The final MODIFIED carries the merged context data: the null deleted "drop".
    ["modified", () => modified({ a: 1, drop: null }), { kind: "modified", data: { a: 1 } }],
    ["cancel", () => cancel("blocked"), { kind: "cancel", reason: "blocked" }],
    ["redirect", () => redirect("fallback"), { kind: "redirect", target: "fallback" }],
    ["replace", () => replace({ cached: [1, 2] }), { kind: "replace", value: { cached: [1, 2] } }],
    ["retry", () => retry(250, 3), { kind: "retry", delayMs: 250, maxAttempts: 3 }],
    ["fork", () => fork([{ operation: "audit", parameters: { lvl: 2 } }]), { kind: "fork", operations: [{ operation: "audit", parameters: { lvl: 2 } }] }],
    ["cache", () => cache("k1", 30000), { kind: "cache", key: "k1", ttlMs: 30000 }],
    ["skipped", () => skipped("not mine"), { kind: "continue" }],
    ["undefined", () => undefined, { kind: "continue" }],
    ["null", () => null, { kind: "continue" }],
  ];
  for (const [name, make, expected] of cases) {
    test(`result helper ${name}: sync and async hooks give ${expected.kind}`, async () => {
      await worker.registerHook(`custom:res.${name}`, () => make(), { name: `sync_${name}` });
      await worker.registerHook(`custom:res.${name}.async`, async () => {
        await sleep(1);
        return make();
      }, { name: `async_${name}` });
      for (const point of [`custom:res.${name}`, `custom:res.${name}.async`]) {
        const out = await client.execute({ point, data: { a: 0, drop: "x" } });
        assert.deepEqual(out.result, expected, point);
      }
    });
  }

  test("SKIPPED shows in the trace with its reason", async () => {
    const out = await client.execute({ point: "custom:res.skipped" });
    assert.deepEqual([out.trace[0].outcome, out.trace[0].reason], ["SKIPPED", "not mine"]);
  });

  test("throw and reject are ERROR with the message; FAIL_CLOSED cancels", async () => {
    await worker.registerHook("custom:fail", () => {
      throw new RangeError("boom");
    }, { name: "thrower" });
    await worker.registerHook("custom:fail", async () => {
      throw new Error("rejected");
    }, { name: "rejecter", priority: 5, failurePolicy: "FAIL_CLOSED" });
    const out = await client.execute({ point: "custom:fail" });
    assert.equal(out.trace[0].outcome, "ERROR");
    assert.equal(out.trace[0].reason, "boom"); // the message alone, as for in-process hooks
    assert.equal(out.trace[1].outcome, "ERROR");
    assert.equal(out.trace[1].reason, "rejected");
    assert.equal(out.result.kind, "cancel");
    assert.match(out.result.reason, /rejecter/);
  });

  test("an invalid return value is ERROR invalid_result", async () => {
    await worker.registerHook("custom:invalid", () => "continue", { name: "magic_string" });
    await worker.registerHook("custom:invalid", async () => ({ kind: "cancel", reason: "fake" }), { name: "lookalike", priority: 1 });
    const out = await client.execute({ point: "custom:invalid" });
    assert.deepEqual(
      out.trace.map((t) => [t.hook, t.outcome, t.reason]),
      [
        ["magic_string", "ERROR", "invalid_result"],
        ["lookalike", "ERROR", "invalid_result"],
      ],
    );
    assert.deepEqual(out.result, { kind: "continue" });
  });

  test("a hook slower than its timeout is TIMEOUT, and sees its signal aborted", async () => {
    let aborted;
    await worker.registerHook("custom:slow", async (_ctx, call) => {
      await sleep(300);
      aborted = call.signal.aborted;
      return cancel("too late");
    }, { name: "slowpoke", timeoutMs: 50 });
    const out = await client.execute({ point: "custom:slow" });
    assert.equal(out.trace[0].outcome, "TIMEOUT");
    assert.deepEqual(out.result, { kind: "continue" });
    await eventually(() => aborted !== undefined, 2000, "the slow hook to finish");
    assert.equal(aborted, true);
  });

  test("calls are multiplexed: 32 in flight on one connection, answered out of order", async () => {
    let running = 0;
    let peak = 0;
    await worker.registerHook("custom:mux", async (ctx) => {
      running++;
      peak = Math.max(peak, running);
      await sleep(ctx.data.i % 2 ? 60 : 5);
      running--;
      return modified({ echo: ctx.data.i });
    // Half the calls take 60 ms, slow by the default 50 ms: a breaker that counted them could open
    // mid-test on a loaded machine, where the executes arrive staggered. Not what this test is about.
    }, { name: "mux", timeoutMs: 5000, breaker: { slowCallDurationMs: 10_000 } });
    const outs = await Promise.all(Array.from({ length: 32 }, (_, i) => client.execute({ point: "custom:mux", data: { i } })));
    outs.forEach((o, i) => assert.equal(o.context.data.echo, i));
    assert.ok(peak > 1, `peak concurrency was ${peak}`);
  });

  test("a taken name is refused with ALREADY_EXISTS and the worker forgets it", async () => {
    const other = createWorker({ address: server.address, token: "tok", workerId: "js-other" });
    await other.start();
    try {
      await assert.rejects(other.registerHook("custom:x", () => undefined, { name: "mux" }), (e) => e.code === "ALREADY_EXISTS");
      await assert.doesNotReject(other.registerHook("custom:x", () => undefined, { name: "mux2" }));
    } finally {
      await other.close();
    }
    assert.equal((await client.listHooks()).some((h) => h.name === "mux2"), false);
  });

  test("registration options are checked locally with the option named", () => {
    assert.throws(() => worker.registerHook("custom:x", () => 1, { name: "p", priority: 1.5 }), /options.priority/);
    assert.throws(() => worker.registerHook("custom:x", () => 1, { name: "p", failurePolicy: "CLOSE" }), /options.failurePolicy/);
    assert.throws(() => worker.registerHook("nope", () => 1, { name: "p" }), /point: unknown hook point/);
    assert.throws(() => worker.registerHook("custom:x", () => 1), /options.name/);
    assert.throws(() => worker.registerHook("custom:x", "fn", { name: "p" }), /fn: must be a function/);
  });

  test("a worker with a wrong token fails to start with UNAUTHENTICATED", async () => {
    const bad = createWorker({ address: server.address, token: "wrong", workerId: "js-bad" });
    bad.registerHook("custom:x", () => undefined, { name: "never" });
    await assert.rejects(bad.start(), (e) => e.code === "UNAUTHENTICATED");
    await bad.close();
  });

  test("virtual time against a real-clock executor is refused with FAILED_PRECONDITION", async () => {
    const w = createWorker({ address: server.address, token: "tok", workerId: "js-virtual", virtualClock: true });
    w.registerHook("custom:v", () => undefined, { name: "virtual_hook" });
    await assert.rejects(w.start(), (e) => e.code === "FAILED_PRECONDITION" && /virtual/.test(e.message));
    await w.close();
  });

  test("close() lets a call in flight answer, then the hooks are gone", async () => {
    const w = createWorker({ address: server.address, token: "tok", workerId: "js-closing" });
    w.registerHook("custom:closing", async () => {
      await sleep(150);
      return modified({ finished: true });
    }, { name: "closing_hook", timeoutMs: 5000 });
    await w.start();
    const pending = client.execute({ point: "custom:closing" });
    await eventually(() => w.inFlight === 1, 2000, "the call to arrive");
    const closing = w.close();
    // While the first call finishes, the hook is already out of the chain: a new execution
    // does not reach the closing worker (no ERROR for it).
    await eventually(async () => !(await client.listHooks()).some((h) => h.name === "closing_hook"), 3000, "unregistration");
    const during = await client.execute({ point: "custom:closing" });
    assert.deepEqual(during.trace, []);
    await closing;
    const out = await pending;
    assert.deepEqual(out.context.data, { finished: true });
    assert.equal(out.trace[0].outcome, "MODIFIED");
  });
});

describe("a worker killed mid-call", () => {
  let server;
  let client;
  before(async () => {
    server = await startCliServer();
    client = createClient({ address: server.address });
  });
  after(async () => {
    client?.close();
    await server?.stop();
  });

  test("its in-flight call fails at once as ERROR and its hooks are unregistered", async () => {
    const child = spawn(process.execPath, ["sdk/js/test-support/hanging_worker.mjs", server.address, "js-doomed"], {
      cwd: REPO,
      stdio: ["ignore", "pipe", "inherit"],
    });
    await new Promise((resolve) => child.stdout.once("data", resolve));
    const started = Date.now();
    const pending = client.execute({ point: "custom:hang" });
    await eventually(async () => (await client.breakerState(["hang"])).length === 1, 3000, "the hook");
    await sleep(200); // the call is now in flight on the worker
    await stopProcess(child, "SIGKILL");
    const out = await pending;
    const elapsed = Date.now() - started;
    assert.equal(out.trace[0].hook, "hang");
    assert.equal(out.trace[0].outcome, "ERROR");
    assert.match(out.trace[0].reason, /js-doomed/);
    assert.match(out.trace[0].reason, /disconnected/);
    assert.ok(elapsed < 10000, `took ${elapsed} ms: the 30 s hook timeout must not be waited for`);
    assert.deepEqual(await client.listHooks(), []);
  });
});

describe("reconnect", () => {
  test("after the server restarts on the same port the worker reconnects and re-registers", async () => {
    let server = await startCliServer();
    const port = server.port;
    const worker = createWorker({ address: server.address, workerId: "js-phoenix", reconnect: { initialDelayMs: 50, maxDelayMs: 200 } });
    let connects = 0;
    worker.on("connected", () => connects++);
    worker.registerHook("custom:again", () => modified({ served: true }), { name: "again" });
    await worker.start();
    await server.stop();
    server = await startCliServer({ port });
    const client = createClient({ address: server.address });
    try {
      await eventually(
        async () => (await client.listHooks().catch(() => [])).some((h) => h.name === "again"),
        10000,
        "re-registration",
      );
      const out = await client.execute({ point: "custom:again" });
      assert.deepEqual(out.context.data, { served: true });
      assert.equal(connects, 2);
    } finally {
      await worker.close();
      client.close();
      await server.stop();
    }
  });
});
