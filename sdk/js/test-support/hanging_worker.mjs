// A worker whose hook never answers: the test kills this process mid-call.
import { createWorker } from "../src/index.js";

const [address, workerId] = process.argv.slice(2);
const worker = createWorker({ address, workerId });
worker.registerHook("custom:hang", () => new Promise(() => {}), { name: "hang", timeoutMs: 30000 });
worker.registerHook("custom:hang", () => undefined, { name: "hang_ok", priority: 10 });
await worker.start();
process.stdout.write("ready\n");
