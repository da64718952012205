// Compiled with `tsc --noEmit --strict` by test/wire_codec.test.js: the generated *_wire.d.ts
// declarations describe the codecs (decode gives protoc-gen-es's message types, encode takes a
// message or its init shape).
import { decodeExecutorMessage, encodeWorkerMessage } from "../../../generated/js/hookwire/v1/executor_service_wire.js";
import { decodeTimestamp, encodeTimestamp } from "../../../generated/js/google/protobuf/timestamp_wire.js";
import { MAX_DEPTH, WireError } from "../../../generated/js/hookwire/wire_runtime.js";

const msg = decodeExecutorMessage(new Uint8Array([0x0a, 0x00]));
if (msg.message.case === "call") {
  const id: bigint = msg.message.value.callId;
  const name: string = msg.message.value.hookName;
  void [id, name];
}
const bytes: Uint8Array = encodeWorkerMessage({ message: { case: "result", value: { callId: 1n } } });
const seconds: bigint = decodeTimestamp(encodeTimestamp({ seconds: 5n })).seconds;
const err: Error = new WireError("x");
const depth: number = MAX_DEPTH;
void [bytes, seconds, err, depth];
