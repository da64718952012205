// Strict binary decoding for the protoc-gen-es bindings (copied to generated/js/hookwire/ by
// `python -m hookwire.codegen.generate`; edit this file in codegen/hookwire/codegen/js/).
//
// protobuf-es's fromBinary rejects truncated input, over-long varints and invalid UTF-8, but it
// reads a known field with whatever wire type arrives: a string field sent as a varint followed
// by one byte decodes as a one-character string. decodeStrict first walks the bytes against the
// schema and throws, naming the message path and field, when a known field has the wrong wire
// type; then it returns fromBinary's message. Unknown field numbers are skipped (kept by
// fromBinary), as proto3 requires.
//
//   import { decodeStrict } from "../strict_decode.js";
//   const ctx = decodeStrict(HookContextSchema, bytes);
import { fromBinary } from "@bufbuild/protobuf";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";

const WIRE_NAMES = ["varint", "64-bit", "length-delimited", "start-group", "end-group", "32-bit"];
// ScalarType numbers (= descriptor.proto field types) by wire type.
const BIT64 = new Set([1, 6, 16]); // double, fixed64, sfixed64
const BIT32 = new Set([2, 7, 15]); // float, fixed32, sfixed32
const LENGTH = new Set([9, 12]); // string, bytes

function scalarWireType(scalar) {
  if (LENGTH.has(scalar)) return WireType.LengthDelimited;
  if (BIT64.has(scalar)) return WireType.Bit64;
  if (BIT32.has(scalar)) return WireType.Bit32;
  return WireType.Varint;
}

function allowedWireTypes(field) {
  switch (field.fieldKind) {
    case "scalar":
      return [scalarWireType(field.scalar)];
    case "enum":
      return [WireType.Varint];
    case "message":
      return [field.delimitedEncoding ? WireType.StartGroup : WireType.LengthDelimited];
    case "map":
      return [WireType.LengthDelimited];
    case "list":
      if (field.listKind === "message") {
        return [field.delimitedEncoding ? WireType.StartGroup : WireType.LengthDelimited];
      }
      if (field.listKind === "enum") return [WireType.Varint, WireType.LengthDelimited];
      // Packable scalars may come packed (length-delimited) or one by one.
      return [...new Set([scalarWireType(field.scalar), WireType.LengthDelimited])];
    default:
      return [];
  }
}

function describe(wireType) {
  return `${wireType} (${WIRE_NAMES[wireType] ?? "invalid"})`;
}

function checkMapEntry(field, bytes, path) {
  const reader = new BinaryReader(bytes);
  while (reader.pos < reader.len) {
    const [no, wireType] = reader.tag();
    if (no === 2 && field.mapKind === "message") {
      if (wireType !== WireType.LengthDelimited) {
        throw new Error(`${path}: map value has wire type ${describe(wireType)}, expected 2`);
      }
      checkMessage(field.message, reader.bytes(), path);
    } else {
      reader.skip(wireType, no);
    }
  }
}

function checkMessage(desc, bytes, path) {
  const reader = new BinaryReader(bytes);
  const byNumber = new Map(desc.fields.map((f) => [f.number, f]));
  let index = 0;
  while (reader.pos < reader.len) {
    const [no, wireType] = reader.tag();
    const field = byNumber.get(no);
    if (field === undefined) {
      reader.skip(wireType, no);
      continue;
    }
    const allowed = allowedWireTypes(field);
    if (!allowed.includes(wireType)) {
      const expected = allowed.map(describe).join(" or ");
      throw new Error(
        `${path}: field '${field.name}' (number ${no}) has wire type ${describe(wireType)}, ` +
          `expected ${expected}`,
      );
    }
    const nested =
      wireType === WireType.LengthDelimited &&
      (field.fieldKind === "message" || (field.fieldKind === "list" && field.listKind === "message"));
    if (nested) {
      const suffix = field.fieldKind === "list" ? `${field.name}[${index++}]` : field.name;
      checkMessage(field.message, reader.bytes(), `${path}.${suffix}`);
    } else if (field.fieldKind === "map") {
      checkMapEntry(field, reader.bytes(), `${path}.${field.name}[]`);
    } else {
      reader.skip(wireType, no);
    }
  }
}

/**
 * Decode `bytes` as `schema`, rejecting known fields with the wrong wire type (an Error naming the
 * message path and field) in addition to everything fromBinary rejects.
 */
export function decodeStrict(schema, bytes, options) {
  try {
    checkMessage(schema, bytes, schema.typeName);
  } catch (error) {
    if (String(error.message).startsWith(schema.typeName)) throw error;
    throw new Error(`${schema.typeName}: ${error.message}`);
  }
  return fromBinary(schema, bytes, options);
}
