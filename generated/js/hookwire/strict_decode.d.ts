// Types of strict_decode.js (copied to generated/js/hookwire/ by hookwire.codegen.generate).
import type { BinaryReadOptions, DescMessage, MessageShape } from "@bufbuild/protobuf";

/**
 * Decode `bytes` as `schema`; throws an Error naming the message and field when a known field
 * arrives with the wrong wire type, and everything `fromBinary` throws otherwise.
 */
export declare function decodeStrict<Desc extends DescMessage>(
  schema: Desc,
  bytes: Uint8Array,
  options?: Partial<BinaryReadOptions>,
): MessageShape<Desc>;
