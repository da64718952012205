// Subscribes to a hookwire server from sequence 1 and prints "sequence id" per event until it
// has seen `count` events (used by the multi-host NATS test).
import { createClient } from "../../sdk/js/src/index.js";

const [address, count] = process.argv.slice(2);
const client = createClient({ address });
let seen = 0;
const lines = [];
for await (const event of client.subscribe({ patterns: [">"], fromSequence: 1, capacity: 100000 })) {
  lines.push(`${event.sequence} ${event.id}`);
  seen += 1;
  if (seen >= Number(count)) break;
}
process.stdout.write(lines.join("\n") + "\n");
client.close();
