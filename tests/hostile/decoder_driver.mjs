// Test driver for the generated JS wire codecs (generated/js/**/*_wire.js): reads requests, one
// per line "<full message name>\t<hex bytes>", and answers per line "ok\t<hex of decode then
// encode>" or "err\t<error message>". Used by tests/hostile/decoders.py.
import { readdirSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { createInterface } from "node:readline";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "generated", "js");
const codecs = new Map();

async function load(dir, pkg) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      await load(path, pkg ? `${pkg}.${entry.name}` : entry.name);
    } else if (entry.name.endsWith("_wire.js")) {
      const module = await import(pathToFileURL(path).href);
      for (const [name, fn] of Object.entries(module)) {
        if (name.startsWith("decode") && typeof module[`encode${name.slice(6)}`] === "function") {
          codecs.set(`${pkg}.${name.slice(6)}`, [fn, module[`encode${name.slice(6)}`]]);
        }
      }
    }
  }
}
await load(ROOT, "");

const hex = (b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");
const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  const [type, data] = line.split("\t");
  const codec = codecs.get(type);
  let answer;
  if (codec === undefined) {
    answer = `err\tno codec for ${type}`;
  } else {
    try {
      answer = `ok\t${hex(codec[1](codec[0](Uint8Array.from(Buffer.from(data, "hex")))))}`;
    } catch (error) {
      answer = `err\t${error?.name}: ${String(error?.message).replace(/[\r\n]/g, " ")}`;
    }
  }
  process.stdout.write(answer + "\n");
}
