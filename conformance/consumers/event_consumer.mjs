// A JavaScript event subscriber for the conformance runner: reads one JSON line per delivery,
// {"frames": [base64 hookwire.v1.UniversalEvent, ...]}, decodes each with the generated JS
// bindings and the JS SDK's lossless JSON conversion, and answers one JSON line with what it
// saw: [{type, sequence, sourceLanguage, hasPayload, payload}, ...]. Integers beyond 2^53 stay
// exact (bigint written as digits); numbers kept as decimal text are written as that text.

import { fromBinary } from "@bufbuild/protobuf";
import { createInterface } from "node:readline";
import { UniversalEventSchema } from "../../generated/js/hookwire/v1/event_pb.js";
import { Language } from "../../generated/js/hookwire/v1/common_pb.js";
import { JsonNumberText, fromJsonValue } from "../../sdk/js/src/json.js";

const LANGUAGE_NAMES = {
  [Language.UNSPECIFIED]: "",
  [Language.PYTHON]: "python",
  [Language.LUA]: "lua",
  [Language.JAVASCRIPT]: "javascript",
  [Language.NATIVE]: "native",
};

// JSON text of a value the SDK gave us, without losing bigint or decimal-text numbers.
function toJson(v) {
  if (v === null) return "null";
  if (typeof v === "bigint") return v.toString();
  if (v instanceof JsonNumberText) return v.text;
  if (Object.is(v, -0)) return "-0.0"; // JSON.stringify(-0) is "0": keep what JS received
  if (Array.isArray(v)) return `[${v.map(toJson).join(",")}]`;
  if (typeof v === "object") {
    return `{${Object.entries(v)
      .map(([k, x]) => `${JSON.stringify(k)}:${toJson(x)}`)
      .join(",")}}`;
  }
  return JSON.stringify(v);
}

function seen(frame) {
  const ev = fromBinary(UniversalEventSchema, Buffer.from(frame, "base64"));
  const hasPayload = ev.payload !== undefined;
  return (
    `{"type":${JSON.stringify(ev.type)},"sequence":${ev.sequence.toString()},` +
    `"sourceLanguage":${JSON.stringify(LANGUAGE_NAMES[ev.sourceLanguage] ?? "")},` +
    `"hasPayload":${hasPayload},"payload":${hasPayload ? toJson(fromJsonValue(ev.payload)) : "null"}}`
  );
}

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (!line.trim()) continue;
  let out;
  try {
    out = `[${JSON.parse(line).frames.map(seen).join(",")}]`;
  } catch (err) {
    out = JSON.stringify({ error: String(err?.stack ?? err) });
  }
  process.stdout.write(`${out}\n`);
}
