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
  // CONTINUE as every SDK names it: `hookwire.continue()` through a namespace import (a named
  // import cannot bind the reserved word `continue`; it takes `proceed`, the same function).
  proceed as continue,
  redirect,
  replace,
  resultFromProto,
  resultToProto,
  retry,
  skipped,
} from "./results.js";
export { setOpenTelemetryApi } from "./otel.js";
export { createWorker, SDK_NAME, Worker } from "./worker.js";
