// The client's wire codecs against protobuf-es, through a fake server on 127.0.0.1 that records
// the request bytes and answers with bytes it chose: every request must be byte-identical to
// protobuf-es's toBinary of the expected message (written out here), every answer must come back
// in the client's plain form, and malformed answers must fail as a typed HookwireError.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { Language } from "#generated/hookwire/v1/common_pb.js";
import {
  EventBatchSchema,
  PublishRequestSchema,
  PublishResponseSchema,
  SubscribeRequestSchema,
} from "#generated/hookwire/v1/event_service_pb.js";
import {
  ExecuteRequestSchema,
  ExecuteResponseSchema,
  GetBreakerStateRequestSchema,
  GetBreakerStateResponseSchema,
  ListHooksRequestSchema,
  ListHooksResponseSchema,
  ResetBreakerRequestSchema,
  ResetBreakerResponseSchema,
} from "#generated/hookwire/v1/executor_service_pb.js";
import { BreakerState, ComponentType, FailurePolicy, HookOutcome, HookPoint } from "#generated/hookwire/v1/hook_pb.js";
import { JsonNull } from "#generated/hookwire/v1/json_pb.js";
import { createClient, HookwireError, JsonConversionError } from "../src/index.js";

// JsonValue / JsonObject inits written out (not built by the SDK's own json.js).
const str = (value) => ({ kind: { case: "stringValue", value } });
const int = (value) => ({ kind: { case: "intValue", value } });
const obj = (fields) => ({ fields });

const same = (b) => b;
const raw = (path, responseStream = false) => ({
  path,
  requestStream: false,
  responseStream,
  requestSerialize: same,
  requestDeserialize: same,
  responseSerialize: same,
  responseDeserialize: same,
});

// What the fake server received last, and what it answers next (bytes, or a list for streams).
const seen = { bytes: null, metadata: null };
const answer = {};
let server;
let client;

before(async () => {
  server = new grpc.Server();
  const unary = (name) => (call, cb) => {
    seen.bytes = call.request;
    seen.metadata = call.metadata.getMap();
    cb(null, Buffer.from(answer[name]));
  };
  server.addService(
    {
      Execute: raw("/hookwire.v1.ExecutorService/Execute"),
      ListHooks: raw("/hookwire.v1.ExecutorService/ListHooks"),
      GetBreakerState: raw("/hookwire.v1.ExecutorService/GetBreakerState"),
      ResetBreaker: raw("/hookwire.v1.ExecutorService/ResetBreaker"),
    },
    { Execute: unary("Execute"), ListHooks: unary("ListHooks"), GetBreakerState: unary("GetBreakerState"), ResetBreaker: unary("ResetBreaker") },
  );
  server.addService(
    { Publish: raw("/hookwire.v1.EventBusService/Publish"), Subscribe: raw("/hookwire.v1.EventBusService/Subscribe", true) },
    {
      Publish: unary("Publish"),
      Subscribe: (call) => {
        seen.bytes = call.request;
        for (const b of answer.Subscribe) call.write(Buffer.from(b));
        call.end();
      },
    },
  );
  const port = await new Promise((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  client = createClient({ address: `127.0.0.1:${port}` });
});

after(() => {
  client?.close();
  server?.forceShutdown();
});

const TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

test("execute: the request is protobuf-es's bytes for the context; the answer comes back plain", async () => {
  const responseMessage = create(ExecuteResponseSchema, {
    execution: {
      result: { kind: { case: "modified", value: { data: obj({ checked: { kind: { case: "boolValue", value: true } } }) } } },
      context: {
        point: HookPoint.CUSTOM,
        customPoint: "app.step",
        data: obj({ tool: str("search"), big: int(2n ** 62n), none: { kind: { case: "nullValue", value: JsonNull.JSON_NULL } }, ["__proto__"]: { kind: { case: "objectValue", value: obj({}) } } }),
        metadata: { session: "s-1", ["__proto__"]: "kept" },
        language: Language.JAVASCRIPT,
        correlationId: "corr-1",
        timestamp: { seconds: 1_764_000_000n, nanos: 5 },
        distributed: { remoteAgentId: "agent-7", traceContext: { traceparent: TRACEPARENT, tracestate: "k=v" } },
      },
      trace: [
        { hookName: "py_guard", language: Language.PYTHON, outcome: HookOutcome.MODIFIED, duration: { nanos: 250_000 }, breakerState: BreakerState.CLOSED },
        { hookName: "js_fail", language: Language.JAVASCRIPT, outcome: HookOutcome.ERROR, reason: "boom", duration: { seconds: 1n, nanos: 500_000_000 }, slow: true, breakerState: BreakerState.OPEN },
      ],
    },
  });
  answer.Execute = toBinary(ExecuteResponseSchema, responseMessage);
  const out = await client.execute(
    {
      point: "custom:app.step",
      data: { tool: "search", n: 3 },
      metadata: { session: "s-1" },
      correlationId: "corr-1",
      timestampNs: 1_764_000_000_000_000_005n,
      component: { id: "c1", type: "agent", name: "planner" },
      operation: { type: "tool", id: "op-1", parameters: { q: "x" }, error: { code: "E1", message: "bad" } },
      parent: { point: "before_tool_execution" },
      traceparent: TRACEPARENT,
      remoteAgentId: "agent-7",
    },
    { correlationId: "corr-1", traceparent: TRACEPARENT },
  );
  const expectedRequest = create(ExecuteRequestSchema, {
    context: {
      point: HookPoint.CUSTOM,
      customPoint: "app.step",
      component: { id: "c1", type: ComponentType.AGENT, name: "planner" },
      data: obj({ tool: str("search"), n: int(3n) }),
      metadata: { session: "s-1" },
      language: Language.JAVASCRIPT,
      correlationId: "corr-1",
      timestamp: { seconds: 1_764_000_000n, nanos: 5 },
      operation: { type: "tool", id: "op-1", parameters: { kind: { case: "objectValue", value: obj({ q: str("x") }) } }, error: { code: "E1", message: "bad" } },
      parent: { point: HookPoint.BEFORE_TOOL_EXECUTION, data: obj({}), language: Language.JAVASCRIPT },
      distributed: { remoteAgentId: "agent-7", traceContext: { traceparent: TRACEPARENT } },
    },
  });
  assert.deepEqual(Buffer.from(seen.bytes), Buffer.from(toBinary(ExecuteRequestSchema, expectedRequest)));
  assert.deepEqual([seen.metadata["x-correlation-id"], seen.metadata.traceparent], ["corr-1", TRACEPARENT]);

  assert.deepEqual(out.result, { kind: "modified", data: { checked: true } });
  assert.equal(out.context.point, "custom:app.step");
  // A "__proto__" member stays a member (not the object's prototype).
  assert.equal(Object.getPrototypeOf(out.context.data), Object.prototype);
  assert.deepEqual(Object.entries(out.context.data), [["tool", "search"], ["big", 2n ** 62n], ["none", null], ["__proto__", {}]]);
  assert.equal(Object.getPrototypeOf(out.context.metadata), Object.prototype);
  assert.deepEqual(Object.entries(out.context.metadata), [["session", "s-1"], ["__proto__", "kept"]]);
  assert.deepEqual([out.context.correlationId, out.context.language, out.context.timestampNs], ["corr-1", "javascript", 1_764_000_000_000_000_005n]);
  assert.deepEqual(out.context.distributed, { remoteAgentId: "agent-7", traceparent: TRACEPARENT, tracestate: "k=v" });
  assert.deepEqual(out.trace, [
    { hook: "py_guard", language: "python", outcome: "MODIFIED", reason: "", durationMs: 0.25, slow: false, breaker: "CLOSED" },
    { hook: "js_fail", language: "javascript", outcome: "ERROR", reason: "boom", durationMs: 1500, slow: true, breaker: "OPEN" },
  ]);
  // The raw execution is protobuf-es's own reading of the bytes.
  assert.deepStrictEqual(out.execution, fromBinary(ExecuteResponseSchema, answer.Execute).execution);
});

test("publish: ttl, metadata, big ints, time and trace context as protobuf-es writes them; uint64 sequences", async () => {
  answer.Publish = toBinary(PublishResponseSchema, create(PublishResponseSchema, { sequences: [1n, 2n ** 64n - 1n] }));
  const seqs = await client.publish([
    {
      type: "app.one",
      payload: { big: 9007199254740993n, huge: 2n ** 70n, neg: -(2n ** 63n), pi: 3.5 },
      id: "e-1",
      source: "js-test",
      correlationId: "corr-2",
      causationId: "cause-1",
      metadata: { k: "v", empty: "" },
      ttlMs: 1500.25,
      timeNs: 1_764_000_000_000_000_123n,
      traceparent: TRACEPARENT,
      tracestate: "a=b",
    },
    { type: "app.two" },
  ]);
  assert.deepEqual(seqs, [1n, 2n ** 64n - 1n]);
  const expected = create(PublishRequestSchema, {
    events: [
      {
        id: "e-1",
        time: { seconds: 1_764_000_000n, nanos: 123 },
        type: "app.one",
        source: "js-test",
        sourceLanguage: Language.JAVASCRIPT,
        payload: {
          kind: {
            case: "objectValue",
            value: obj({
              big: int(9007199254740993n),
              huge: { kind: { case: "numberText", value: "1180591620717411303424" } },
              neg: int(-(2n ** 63n)),
              pi: { kind: { case: "doubleValue", value: 3.5 } },
            }),
          },
        },
        correlationId: "corr-2",
        causationId: "cause-1",
        metadata: { k: "v", empty: "" },
        ttl: { seconds: 1n, nanos: 500_250_000 },
        traceContext: { traceparent: TRACEPARENT, tracestate: "a=b" },
      },
      { type: "app.two", sourceLanguage: Language.JAVASCRIPT },
    ],
  });
  assert.deepEqual(Buffer.from(seen.bytes), Buffer.from(toBinary(PublishRequestSchema, expected)));
});

test("subscribe: the request as protobuf-es writes it; batches become plain events in order, stats kept", async () => {
  const batch = (events, stats) => toBinary(EventBatchSchema, create(EventBatchSchema, { events, stats }));
  answer.Subscribe = [
    batch(
      [
        {
          id: "e1",
          type: "app.a",
          source: "py",
          sourceLanguage: Language.PYTHON,
          payload: int(2n ** 60n),
          sequence: 7n,
          metadata: { m: "1" },
          time: { seconds: 2n, nanos: 3 },
          ttl: { seconds: 5n },
          traceContext: { traceparent: TRACEPARENT, tracestate: "s=1" },
        },
        { type: "app.b", sequence: 8n, correlationId: "c", causationId: "d" },
      ],
      { received: 10n, delivered: 2n, droppedOldest: 3n },
    ),
    batch([{ type: "app.c", sequence: 2n ** 63n, sourceLanguage: Language.LUA, payload: str("x") }], { received: 11n, delivered: 3n, expired: 1n }),
  ];
  const it = client.subscribe({
    patterns: ["app.>", "other.*"],
    fromSequence: 7,
    capacity: 100,
    maxBatchSize: 50,
    overflow: { backpressure: { timeoutMs: 250 } },
    resumeAttempts: 0,
  });
  const got = [];
  for await (const e of it) got.push(e);
  const expectedRequest = create(SubscribeRequestSchema, {
    patterns: ["app.>", "other.*"],
    fromSequence: 7n,
    capacity: 100,
    maxBatchSize: 50,
    overflow: { strategy: { case: "backpressure", value: { timeout: { nanos: 250_000_000 } } } },
  });
  assert.deepEqual(Buffer.from(seen.bytes), Buffer.from(toBinary(SubscribeRequestSchema, expectedRequest)));
  const blank = { id: "", source: "", sourceLanguage: "", payload: undefined, correlationId: "", causationId: "", metadata: {}, timeNs: undefined, ttlMs: undefined, traceparent: "", tracestate: "" };
  assert.deepEqual(got, [
    { ...blank, id: "e1", type: "app.a", source: "py", sourceLanguage: "python", sequence: 7n, payload: 2n ** 60n, metadata: { m: "1" }, timeNs: 2_000_000_003n, ttlMs: 5000, traceparent: TRACEPARENT, tracestate: "s=1" },
    { ...blank, type: "app.b", sequence: 8n, correlationId: "c", causationId: "d" },
    { ...blank, type: "app.c", sequence: 2n ** 63n, sourceLanguage: "lua", payload: "x" },
  ]);
  assert.deepStrictEqual(it.stats, fromBinary(EventBatchSchema, answer.Subscribe[1]).stats);
  assert.equal(it.stats.expired, 1n);
});

test("subscribe: each overflow strategy is written as protobuf-es writes it", async () => {
  const cases = [
    ["drop_oldest", { case: "dropOldest", value: {} }],
    ["drop_newest", { case: "dropNewest", value: {} }],
    [{ backpressure: {} }, { case: "backpressure", value: {} }],
    [{ sample: { rate: 0.25, highWaterMark: 9 } }, { case: "sample", value: { rate: 0.25, highWaterMark: 9 } }],
  ];
  answer.Subscribe = [];
  for (const [overflow, strategy] of cases) {
    const it = client.subscribe({ patterns: "x.y", overflow, resumeAttempts: 0 });
    for await (const e of it) assert.fail(`no events expected, got ${e.type}`);
    const expected = create(SubscribeRequestSchema, { patterns: ["x.y"], overflow: { strategy } });
    assert.deepEqual(Buffer.from(seen.bytes), Buffer.from(toBinary(SubscribeRequestSchema, expected)), JSON.stringify(overflow));
  }
});

test("listHooks, breakerState, resetBreaker: requests as protobuf-es writes them, answers plain", async () => {
  answer.ListHooks = toBinary(
    ListHooksResponseSchema,
    create(ListHooksResponseSchema, {
      hooks: [
        { name: "a", point: HookPoint.CUSTOM, customPoint: "x", priority: -3, language: Language.LUA, timeout: { nanos: 2_000_000 }, failurePolicy: FailurePolicy.FAIL_CLOSED, tags: ["t1"], feature: "f", enabled: false },
        { name: "b", point: HookPoint.BEFORE_TOOL_EXECUTION },
      ],
    }),
  );
  const hooks = await client.listHooks({ point: "custom:x", language: "lua", tags: ["t1", "t2"] });
  const listRequest = create(ListHooksRequestSchema, { point: HookPoint.CUSTOM, customPoint: "x", language: Language.LUA, tags: ["t1", "t2"] });
  assert.deepEqual(Buffer.from(seen.bytes), Buffer.from(toBinary(ListHooksRequestSchema, listRequest)));
  assert.deepEqual(hooks, [
    { name: "a", point: "custom:x", priority: -3, language: "lua", timeoutMs: 2, failurePolicy: "FAIL_CLOSED", tags: ["t1"], feature: "f", enabled: false },
    { name: "b", point: "before_tool_execution", priority: 0, language: "", timeoutMs: 0, failurePolicy: "UNSPECIFIED", tags: [], feature: "", enabled: true },
  ]);

  const status = { hookName: "a", state: BreakerState.HALF_OPEN, windowCalls: 4, windowFailures: 2, windowSlow: 1, currentOpenDuration: { seconds: 15n }, probesInFlight: 1, goodProbes: 1 };
  const plain = { hookName: "a", state: "HALF_OPEN", windowCalls: 4, windowFailures: 2, windowSlow: 1, currentOpenDurationMs: 15000, probesInFlight: 1, goodProbes: 1 };
  answer.GetBreakerState = toBinary(GetBreakerStateResponseSchema, create(GetBreakerStateResponseSchema, { breakers: [status] }));
  assert.deepEqual(await client.breakerState(["a", "b"]), [plain]);
  assert.deepEqual(Buffer.from(seen.bytes), Buffer.from(toBinary(GetBreakerStateRequestSchema, create(GetBreakerStateRequestSchema, { hookNames: ["a", "b"] }))));
  answer.ResetBreaker = toBinary(ResetBreakerResponseSchema, create(ResetBreakerResponseSchema, { breaker: status }));
  assert.deepEqual(await client.resetBreaker("a"), plain);
  assert.deepEqual(Buffer.from(seen.bytes), Buffer.from(toBinary(ResetBreakerRequestSchema, create(ResetBreakerRequestSchema, { hookName: "a" }))));
});

// Answers a server must never send; each fails the call as INTERNAL naming what was wrong.
const MALFORMED_EXECUTE = [
  ["truncated", Uint8Array.of(0x0a, 0x05, 0x0a), /hookwire\.v1\.ExecuteResponse/],
  // Field 1 (execution, a message) sent as a varint: protobuf-es reads past it, we refuse it.
  ["wrong wire type", Uint8Array.of(0x08, 0x01), /hookwire\.v1\.ExecuteResponse\.execution/],
  // execution { trace { hook_name: 0xff } }: invalid UTF-8.
  ["invalid UTF-8", Uint8Array.of(0x0a, 0x05, 0x1a, 0x03, 0x0a, 0x01, 0xff), /hookwire\.v1\.TraceEntry\.hook_name: invalid UTF-8/],
  ["no execution", new Uint8Array(0), /hookwire\.v1\.ExecuteResponse\.execution: missing/],
  // execution { result { replace { value: JsonValue {} } } }: a JSON value without a kind.
  ["JSON value without kind", Uint8Array.of(0x0a, 0x06, 0x0a, 0x04, 0x2a, 0x02, 0x0a, 0x00), /JsonValue has no kind set/],
];

for (const [what, bytes, pattern] of MALFORMED_EXECUTE) {
  test(`execute: a malformed answer (${what}) is a HookwireError INTERNAL`, async () => {
    answer.Execute = bytes;
    await assert.rejects(client.execute({ point: "before_tool_execution" }), (e) => {
      assert.ok(e instanceof HookwireError, String(e));
      assert.equal(e.code, "INTERNAL");
      assert.match(e.message, pattern);
      return true;
    });
  });
}

test("subscribe: a malformed batch ends the iterator with a HookwireError, delivering no part of it", async () => {
  const good = toBinary(EventBatchSchema, create(EventBatchSchema, { events: [{ type: "ok.a", sequence: 1n }] }));
  // events[0] { type: "ok.b", payload: JsonValue {} }: a JSON value without a kind.
  const bad = Uint8Array.of(0x0a, 0x08, 0x1a, 0x04, 0x6f, 0x6b, 0x2e, 0x62, 0x32, 0x00);
  answer.Subscribe = [good, bad];
  const it = client.subscribe({ patterns: "ok.>", resumeAttempts: 0 });
  assert.equal((await it.next()).value.type, "ok.a");
  await assert.rejects(it.next(), (e) => e instanceof HookwireError && e.code === "INTERNAL" && /JsonValue has no kind set/.test(e.message));
});

test("bad input to the new request builders is refused before the wire, naming the field", async () => {
  await assert.rejects(client.publish([{ type: "a.b", metadata: { k: 1 } }]), /events\[0\]\.metadata\.k: must be a string/);
  await assert.rejects(client.publish([{ type: "a.b" }, { type: "a.c", id: 5 }]), /events\[1\]\.id: must be a string/);
  await assert.rejects(client.publish([{ type: "a.b", metadata: [] }]), /^TypeError: events\[0\]\.metadata: must be an object of strings, got an array$/);
  await assert.rejects(
    client.publish([{ type: "a.b" }, { type: "a.c", payload: { x: { d: new Date(0) } } }]),
    (e) => e instanceof JsonConversionError && e.path === "events[1].payload.x.d" && /^events\[1\]\.payload\.x\.d: Date is not a JSON value/.test(e.message),
  );
  assert.throws(() => client.subscribe({ patterns: "a", overflow: { backpressure: { timeoutMs: "1s" } } }), /overflow\.backpressure\.timeoutMs: must be a finite number/);
  await assert.rejects(client.publish([{ type: "a.b", ttlMs: Number.NaN }]), /events\[0\]\.ttlMs: must be a finite number/);
  assert.throws(() => client.subscribe({ patterns: "a", capacity: -1 }), /capacity: must be an integer in \[0, 2\^32\)/);
  assert.throws(() => client.subscribe({ patterns: "a", maxBatchSize: 1.5 }), /maxBatchSize: must be an integer/);
  await assert.rejects(client.resetBreaker(7), /hookName: must be a string/);
  await assert.rejects(client.breakerState(["a", null]), /hookNames\[1\]: must be a string/);
});
