// A subscription whose connection drops resumes from the sequence after the last delivered
// event: nothing lost, nothing twice. The drop is made by a TCP proxy between client and server.
import assert from "node:assert/strict";
import net from "node:net";
import { after, before, test } from "node:test";
import { createClient } from "../src/index.js";
import { startCliServer } from "../test-support/helpers.js";

let server;
let proxy;
const sockets = new Set();

before(async () => {
  server = await startCliServer();
  proxy = net.createServer((down) => {
    const up = net.connect(server.port, "127.0.0.1");
    for (const s of [down, up]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => {});
    }
    down.pipe(up);
    up.pipe(down);
  });
  await new Promise((resolve) => proxy.listen(0, "127.0.0.1", resolve));
});

after(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((resolve) => proxy.close(resolve));
  await server.stop();
});

test("resume after the connection drops: every event once, in order", async () => {
  const direct = createClient({ address: server.address });
  const viaProxy = createClient({ address: `127.0.0.1:${proxy.address().port}` });
  try {
    const first = await direct.publish([1, 2, 3].map((i) => ({ type: "resume.a", payload: i })));
    const it = viaProxy.subscribe({ patterns: ["resume.*"], fromSequence: first[0], resumeAttempts: 5 });
    const got = [];
    for (let i = 0; i < 3; i++) got.push((await it.next()).value);
    for (const s of sockets) s.destroy(); // the stream breaks under the subscription
    await direct.publish([4, 5, 6].map((i) => ({ type: "resume.b", payload: i })));
    for (let i = 0; i < 3; i++) got.push((await it.next()).value);
    await it.return();
    assert.deepEqual(
      got.map((e) => [e.type, e.payload, e.sequence - first[0]]),
      [
        ["resume.a", 1, 0n],
        ["resume.a", 2, 1n],
        ["resume.a", 3, 2n],
        ["resume.b", 4, 3n],
        ["resume.b", 5, 4n],
        ["resume.b", 6, 5n],
      ],
    );
  } finally {
    direct.close();
    viaProxy.close();
  }
});

test("without resume attempts the break surfaces as a typed error", async () => {
  const viaProxy = createClient({ address: `127.0.0.1:${proxy.address().port}` });
  const direct = createClient({ address: server.address });
  try {
    const [seq] = await direct.publish([{ type: "resume.c", payload: 0 }]);
    const it = viaProxy.subscribe({ patterns: ["resume.c"], fromSequence: seq, resumeAttempts: 0 });
    assert.equal((await it.next()).value.payload, 0);
    for (const s of sockets) s.destroy();
    await assert.rejects(it.next(), (e) => ["UNAVAILABLE", "INTERNAL", "UNKNOWN"].includes(e.code));
  } finally {
    direct.close();
    viaProxy.close();
  }
});
