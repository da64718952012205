// Hook spans of the worker with OpenTelemetry present (a stand-in API object) and absent.
import assert from "node:assert/strict";
import { test } from "node:test";
import { endHookSpan, inHookSpan, setOpenTelemetryApi, startHookSpan, traceparentOf } from "../src/otel.js";

function fakeApi() {
  const spans = [];
  const api = {
    SpanStatusCode: { ERROR: 2 },
    context: { active: () => ({ span: null }), with: (ctx, fn) => { api.current = ctx; try { return fn(); } finally { api.current = null; } } },
    trace: {
      setSpanContext: (ctx, sc) => ({ ...ctx, parent: sc }),
      setSpan: (ctx, span) => ({ ...ctx, span }),
      getTracer: () => ({
        startSpan(name, opts, ctx) {
          const span = {
            name, attributes: opts.attributes, parent: ctx.parent, ended: false, status: null,
            spanContext: () => ({ traceId: ctx.parent.traceId, spanId: "00f067aa0ba902b7", traceFlags: 1 }),
            recordException() {}, setStatus(s) { this.status = s; }, end() { this.ended = true; },
          };
          spans.push(span);
          return span;
        },
      }),
    },
    spans,
    current: null,
  };
  return api;
}

test("a hook span is the child of the executor's hook span and is active while the hook runs", () => {
  const api = fakeApi();
  setOpenTelemetryApi(api);
  try {
    const h = startHookSpan("audit", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    assert.equal(h.span.name, "hookwire.hook audit");
    assert.deepEqual(h.span.parent, { traceId: "0af7651916cd43dd8448eb211c80319c", spanId: "b7ad6b7169203331", traceFlags: 1, isRemote: true });
    assert.equal(h.span.attributes["hookwire.hook.language"], "javascript");
    assert.equal(inHookSpan(h, () => api.current.span), h.span);
    assert.equal(traceparentOf(h), "00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01");
    endHookSpan(h, new Error("boom"));
    assert.equal(h.span.ended, true);
    assert.deepEqual(h.span.status, { code: 2, message: "boom" });
  } finally {
    setOpenTelemetryApi(null);
  }
});

test("without OpenTelemetry there is no span and the hook is called as is", () => {
  setOpenTelemetryApi(null);
  const h = startHookSpan("audit", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
  assert.equal(h, null);
  assert.equal(inHookSpan(h, () => 42), 42);
  assert.equal(traceparentOf(h), "");
  endHookSpan(h, undefined);
});
