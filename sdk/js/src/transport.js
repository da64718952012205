// One grpc-js channel plus the serializers of our generated message schemas.

import { fromBinary, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { describe } from "./json.js";

/** Serializer / deserializer pair for a protoc-gen-es message schema. */
export function codec(schema) {
  return {
    serialize: (msg) => {
      // A Buffer view over the encoded bytes, not a copy of them.
      const bytes = toBinary(schema, msg);
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    },
    deserialize: (buf) => fromBinary(schema, buf),
  };
}

/**
 * Serializer / deserializer pair over generated straight-line codecs (`encodeX` / `decodeX` of
 * generated/js/.../<file>_wire.js), drop-in for `codec(XSchema)` and several times faster. `encode`
 * also takes plain objects shaped like the message (docs/js-sdk.md, "Wire codecs").
 * @example
 *   import { decodeExecutorMessage, encodeExecutorMessage } from ".../executor_service_wire.js";
 *   const exec = wireCodec(encodeExecutorMessage, decodeExecutorMessage);
 */
export function wireCodec(encode, decode) {
  return {
    serialize: (msg) => {
      // A pooled Buffer and a copy cost less than a Buffer view over the encoder's own bytes
      // (Buffer.from(arrayBuffer, ...) is ~0.4 us; grpc-js copies the bytes into its frame anyway).
      const bytes = encode(msg);
      const out = Buffer.allocUnsafe(bytes.length);
      out.set(bytes);
      return out;
    },
    deserialize: decode,
  };
}

/**
 * A grpc-js Client for `address` with the SDK's connection options.
 * @param {{address: string, token?: string, tls?: boolean | {rootCert?: string | Buffer, serverName?: string}, channelOptions?: object}} options
 */
export function openChannel(options) {
  if (options === null || typeof options !== "object") {
    throw new TypeError(`options: must be an object with an address, got ${describe(options)}`);
  }
  const { address, token, tls } = options;
  if (typeof address !== "string" || !/^[^\s]+:\d+$/.test(address)) {
    throw new TypeError(`address: must be "host:port", got ${describe(address)}`);
  }
  if (token !== undefined && (typeof token !== "string" || token === "")) {
    throw new TypeError(`token: must be a non-empty string when given, got ${describe(token)}`);
  }
  const channelOptions = { ...(options.channelOptions ?? {}) };
  let creds;
  if (tls) {
    const root = typeof tls === "object" && tls.rootCert !== undefined ? Buffer.from(tls.rootCert) : null;
    creds = grpc.credentials.createSsl(root);
    if (typeof tls === "object" && tls.serverName) {
      channelOptions["grpc.ssl_target_name_override"] = tls.serverName;
      channelOptions["grpc.default_authority"] = tls.serverName;
    }
  } else {
    creds = grpc.credentials.createInsecure();
  }
  const client = new grpc.Client(address, creds, channelOptions);
  const baseMetadata = () => {
    const md = new grpc.Metadata();
    if (token) md.set("authorization", `Bearer ${token}`);
    return md;
  };
  return { client, baseMetadata };
}

/**
 * Metadata of one call: the token plus distributed context (correlation id, W3C trace context).
 * @param {() => import("@grpc/grpc-js").Metadata} base
 * @param {{correlationId?: string, traceparent?: string, tracestate?: string}} [opts]
 */
export function callMetadata(base, opts = {}) {
  const md = base();
  if (opts.correlationId) md.set("x-correlation-id", opts.correlationId);
  if (opts.traceparent) md.set("traceparent", opts.traceparent);
  if (opts.tracestate) md.set("tracestate", opts.tracestate);
  return md;
}

/** grpc-js call options with a deadline `deadlineMs` from now (none when undefined). */
export function callOptions(deadlineMs) {
  if (deadlineMs === undefined) return {};
  if (typeof deadlineMs !== "number" || !(deadlineMs > 0)) {
    throw new TypeError(`deadlineMs: must be a positive number, got ${describe(deadlineMs)}`);
  }
  return { deadline: new Date(Date.now() + deadlineMs) };
}
