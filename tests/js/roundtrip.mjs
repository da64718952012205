// Re-encoder for the Python -> JS -> Python property test (tests/codegen/test_js_roundtrip.py).
// Reads lines "<full message name> <hex>" on stdin; for each writes one line
// "OK <hex of toBinary(fromBinary(bytes))> <hex of toBinary(fromJson(toJson(fromBinary(bytes))))>",
// or "ERR <message>" when protobuf-es rejects the input.
import { createInterface } from "node:readline";
import { fromBinary, fromJson, toBinary, toJson } from "@bufbuild/protobuf";
import { bytesToHex, hexToBytes, loadSchemas } from "./schemas.mjs";

const schemas = await loadSchemas();
const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  if (!line) continue;
  const [name, hex] = line.split(" ");
  let answer;
  try {
    const schema = schemas.get(name);
    if (!schema) throw new Error(`unknown message ${name}`);
    const message = fromBinary(schema, hexToBytes(hex ?? ""));
    const viaJson = fromJson(schema, toJson(schema, message));
    answer = `OK ${bytesToHex(toBinary(schema, message))} ${bytesToHex(toBinary(schema, viaJson))}`;
  } catch (error) {
    answer = `ERR ${String(error.message).replaceAll("\n", " ")}`;
  }
  process.stdout.write(answer + "\n");
}
