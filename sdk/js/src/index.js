// @hookwire/sdk: client, worker, result helpers and JSON conversion.
export { createClient, eventFromProto, HookwireClient } from "./client.js";
export { RealCallClock, VirtualCallClock } from "./clock.js";
export { contextFromProto, contextToProto, pointFromProto, pointToProto } from "./context.js";
export { HookwireError } from "./errors.js";
export { HONOURED, honouredResults } from "./honoured.js";
export { fromJsonObject, fromJsonValue, JsonConversionError, JsonNumberText, toJsonObject, toJsonValue } from "./json.js";
export {
  cache,
  cancel,
  fork,
  HookResult,
  InvalidResultError,
  isHookResult,
  modified,
  proceed,
  redirect,
  replace,
  resultFromProto,
  resultToProto,
  retry,
  skipped,
} from "./results.js";
export { createWorker, SDK_NAME, Worker } from "./worker.js";
