// Compiled with `tsc --noEmit` by test/types.test.js: the declarations describe the real API.
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
  type HookContext,
  type CallInfo,
} from "../src/index.js";

const client = createClient({ address: "127.0.0.1:1", token: "t" });
const worker = createWorker({ address: "127.0.0.1:1", workerId: "w", virtualClock: true });

worker.registerHook(
  "before_tool_execution",
  (ctx: HookContext, call: CallInfo) => {
    call.clock.advanceMs(5);
    if (ctx.data.blocked === true) return cancel("blocked");
    if (ctx.data.n === 1n) return redirect("elsewhere");
    return modified({ seen: true, gone: null });
  },
  { name: "typed", priority: "HIGH", timeoutMs: 200, failurePolicy: "FAIL_CLOSED", tags: ["x"] },
);
worker.registerHook("custom:async", async () => replace([1, 2]), { breaker: { windowSize: 5 } });
worker.registerHook("custom:more", () => (Math.random() > 0.5 ? retry(10, 2) : fork([{ operation: "o" }])));
worker.registerHook("custom:last", () => (Math.random() > 0.5 ? cache("k", 1000) : skipped("no")));
worker.registerHook("custom:nothing", () => undefined);

async function main(): Promise<void> {
  const out = await client.execute({ point: "custom:x", data: { a: 1 } }, { deadlineMs: 100 });
  if (out.result.kind === "modified") console.log(out.result.data.a);
  const seqs: bigint[] = await client.publish([{ type: "a.b", payload: { x: 1 } }]);
  for await (const e of client.subscribe({ patterns: ["a.>"], fromSequence: seqs[0], overflow: "drop_newest" })) {
    console.log(e.sequence + 1n, e.payload);
  }
  const hooks = await client.listHooks({ point: "custom:x" });
  console.log(hooks[0]?.name, (await client.breakerState())[0]?.state);
  await worker.close();
}
void main;
