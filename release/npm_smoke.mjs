// Run from a scratch npm project with @hookwire/sdk installed from its tarball:
//   node npm_smoke.mjs HOST:PORT TOKEN
// A worker serves a JS hook, a client executes the point, publishes and subscribes; prints
// one JSON line with what came back.
import { cancel, createClient, createWorker, modified } from "@hookwire/sdk";
import { HookPoint } from "@hookwire/sdk/generated/hookwire/v1/hook_pb.js";

const [address, token] = process.argv.slice(2);
const worker = createWorker({ address, token, workerId: "release-smoke" });
worker.registerHook(
  "before_tool_execution",
  (ctx) => (ctx.data.tool === "rm" ? cancel("rm is not allowed") : modified({ checked: true })),
  { name: "guard" },
);
await worker.start();
const client = createClient({ address, token });
try {
  const rm = await client.execute({ point: "before_tool_execution", data: { tool: "rm" } });
  const ls = await client.execute({ point: "before_tool_execution", data: { tool: "ls" } });
  const [seq] = await client.publish([{ type: "tool.invoked", payload: { tool: "ls" } }]);
  let event;
  for await (const e of client.subscribe({ patterns: ["tool.>"], fromSequence: seq })) {
    event = e;
    break;
  }
  console.log(
    JSON.stringify({
      rm: rm.result,
      ls: ls.result,
      trace: ls.trace.map((t) => [t.hook, t.language, t.outcome]),
      event: { type: event.type, payload: event.payload, sequence: String(event.sequence) },
      hookPoint: HookPoint.BEFORE_TOOL_EXECUTION,
    }),
  );
} finally {
  client.close();
  await worker.close();
}
