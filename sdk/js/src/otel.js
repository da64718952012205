// Optional OpenTelemetry for the worker. When `@opentelemetry/api` is installed (it is not a
// dependency of this package), each hook call runs inside a span `hookwire.hook <name>` whose
// parent is the executor's hook span (the call context's `distributed.traceparent`), and events
// the hook publishes carry that span's context. Without the API, or with the API but no SDK
// registered, this costs nothing beyond a null check.

let api = null;
try {
  api = await import("@opentelemetry/api");
} catch {
  api = null;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** Use this OpenTelemetry API object (or null to turn spans off), e.g. from a bundle. */
export function setOpenTelemetryApi(otelApi) {
  api = otelApi ?? null;
}

/** Start the span of one hook call, or return null when OpenTelemetry is not installed. */
export function startHookSpan(hookName, traceparent) {
  if (api === null) return null;
  let ctx = api.context.active();
  const m = TRACEPARENT.exec(traceparent || "");
  if (m) {
    ctx = api.trace.setSpanContext(ctx, { traceId: m[1], spanId: m[2], traceFlags: parseInt(m[3], 16), isRemote: true });
  }
  const span = api.trace.getTracer("hookwire").startSpan(
    `hookwire.hook ${hookName}`,
    { attributes: { "hookwire.hook.name": hookName, "hookwire.hook.language": "javascript" } },
    ctx,
  );
  return { span, context: api.trace.setSpan(ctx, span) };
}

/** Run `fn` with the hook span as the active span (plain call without one). */
export function inHookSpan(hookSpan, fn) {
  return hookSpan === null ? fn() : api.context.with(hookSpan.context, fn);
}

/** End a hook span; `err` marks it failed. */
export function endHookSpan(hookSpan, err) {
  if (hookSpan === null) return;
  if (err !== undefined) {
    if (err instanceof Error) hookSpan.span.recordException(err);
    hookSpan.span.setStatus({ code: api.SpanStatusCode.ERROR, message: String(err?.message ?? err) });
  }
  hookSpan.span.end();
}

/** The W3C traceparent of a hook span ("" without one). */
export function traceparentOf(hookSpan) {
  if (hookSpan === null) return "";
  const sc = hookSpan.span.spanContext();
  return `00-${sc.traceId}-${sc.spanId}-${sc.traceFlags.toString(16).padStart(2, "0")}`;
}
