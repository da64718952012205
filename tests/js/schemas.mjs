// Every message schema of generated/js/hookwire/v1, by full proto name (e.g. "hookwire.v1.HookContext").
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const GENERATED = join(ROOT, "generated", "js", "hookwire", "v1");

export async function loadSchemas() {
  const schemas = new Map();
  for (const file of readdirSync(GENERATED).filter((f) => f.endsWith("_pb.js")).sort()) {
    const module = await import(pathToFileURL(join(GENERATED, file)).href);
    for (const value of Object.values(module)) {
      if (value && value.kind === "message") schemas.set(value.typeName, value);
    }
  }
  return schemas;
}

export function hexToBytes(hex) {
  return Uint8Array.from(Buffer.from(hex, "hex"));
}

export function bytesToHex(bytes) {
  return Buffer.from(bytes).toString("hex");
}
