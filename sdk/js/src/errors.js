// Typed errors of the SDK: every gRPC failure becomes a HookwireError carrying its status code.

import { status as Status } from "@grpc/grpc-js";

const NAMES = Object.fromEntries(Object.entries(Status).map(([k, v]) => [v, k]));

/** A failed RPC: `code` is the gRPC status name ("UNAUTHENTICATED", "INVALID_ARGUMENT", ...). */
export class HookwireError extends Error {
  /**
   * @param {string} code
   * @param {string} message
   */
  constructor(code, message) {
    super(`${code}: ${message}`);
    this.name = "HookwireError";
    this.code = code;
    this.details = message;
  }
}

/** A HookwireError from a grpc-js ServiceError (or anything thrown on the way). */
export function fromGrpcError(err) {
  if (err instanceof HookwireError) return err;
  if (err && typeof err.code === "number") {
    return new HookwireError(NAMES[err.code] ?? `CODE_${err.code}`, err.details ?? err.message);
  }
  return new HookwireError("UNKNOWN", err instanceof Error ? err.message : String(err));
}
