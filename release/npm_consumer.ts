// A consumer of the installed @hookwire/sdk, type-checked with `tsc --strict` in the scratch
// project: the package's own declarations (and the generated bindings') must resolve.
import { cancel, createClient, createWorker, modified, type HookContext } from "@hookwire/sdk";
import { HookPoint } from "@hookwire/sdk/generated/hookwire/v1/hook_pb.js";

const worker = createWorker({ address: "127.0.0.1:1", token: "t", workerId: "w" });
worker.registerHook(
  "before_tool_execution",
  (ctx: HookContext) => (ctx.data.tool === "rm" ? cancel("no") : modified({ checked: true })),
  { name: "guard", priority: -10, failurePolicy: "FAIL_CLOSED" },
);
const client = createClient({ address: "127.0.0.1:1", token: "t" });
const point: HookPoint = HookPoint.BEFORE_TOOL_EXECUTION;
export async function run(): Promise<string> {
  const { result } = await client.execute({ point: "before_tool_execution", data: { tool: "ls" } });
  return `${result.kind} ${point}`;
}
