// TLS: a server started with a certificate is reached with its root; a client without TLS or
// without the right root fails; the worker works over TLS too.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { createClient, createWorker, modified } from "../src/index.js";
import { spawnServer } from "../test-support/helpers.js";

let dir;
let server;

function selfSigned(name) {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.pem`);
  execFileSync("openssl", [
    ...["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost"],
    ...["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", key, "-out", cert],
  ], { stdio: "ignore" });
  return { key, cert };
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "hookwire-tls-"));
  const { key, cert } = selfSigned("server");
  selfSigned("other");
  server = await spawnServer([
    ...["-m", "hookwire.runtime.cli", "serve", "--host", "127.0.0.1", "--port", "0"],
    ...["--tls-cert", cert, "--tls-key", key, "--shutdown-grace", "2"],
  ]);
});

after(async () => {
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("client and worker work over TLS with the server's root", async () => {
  const rootCert = readFileSync(join(dir, "server.pem"));
  const worker = createWorker({ address: server.address, tls: { rootCert }, workerId: "js-tls" });
  worker.registerHook("custom:tls", () => modified({ secure: true }), { name: "tls_hook" });
  await worker.start();
  const client = createClient({ address: server.address, tls: { rootCert } });
  try {
    const out = await client.execute({ point: "custom:tls" });
    assert.deepEqual(out.context.data, { secure: true });
  } finally {
    client.close();
    await worker.close();
  }
});

test("plaintext and untrusted clients cannot connect", async () => {
  const plain = createClient({ address: server.address });
  const untrusted = createClient({ address: server.address, tls: { rootCert: readFileSync(join(dir, "other.pem")) } });
  try {
    await assert.rejects(plain.execute({ point: "custom:tls" }, { deadlineMs: 3000 }), (e) => ["UNAVAILABLE", "DEADLINE_EXCEEDED"].includes(e.code));
    await assert.rejects(untrusted.execute({ point: "custom:tls" }, { deadlineMs: 3000 }), (e) => ["UNAVAILABLE", "DEADLINE_EXCEEDED"].includes(e.code));
  } finally {
    plain.close();
    untrusted.close();
  }
});
