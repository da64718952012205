// JavaScript hook of the demo, served by a node worker over the executor service.
// Usage: node demo/js_worker.mjs HOST:PORT TOKEN
import { createWorker, modified } from "@hookwire/sdk";

const [address, token] = process.argv.slice(2);
const worker = createWorker({ address, token, workerId: "demo-js" });

await worker.register(
  "before_tool_execution",
  (ctx) => {
    const query = String(ctx.data.query ?? "");
    // A budget for the tool call, derived from what earlier hooks left in the data.
    return modified({
      seen_by: [...(ctx.data.seen_by ?? []), "javascript"],
      budget_tokens: 256 + 16 * query.length,
    });
  },
  { name: "js-budget", priority: 100, timeoutMs: 500 },
);
await worker.start();
console.log("ready");

const stop = async () => {
  await worker.close();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
