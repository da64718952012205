import assert from "node:assert/strict";
import { test } from "node:test";
import { cache, cancel, fork, InvalidResultError, modified, proceed, redirect, replace, resultFromProto, resultToProto, retry, skipped } from "../src/results.js";

const back = (r) => resultFromProto(resultToProto(r));

test("every helper round-trips through the HookResult message", () => {
  assert.deepEqual(back(undefined), { kind: "continue" });
  assert.deepEqual(back(null), { kind: "continue" });
  assert.deepEqual(back(proceed()), { kind: "continue" });
  assert.deepEqual(back(modified({ a: 1, gone: null })), { kind: "modified", data: { a: 1, gone: null } });
  assert.deepEqual(back(cancel("no")), { kind: "cancel", reason: "no" });
  assert.deepEqual(back(redirect("t")), { kind: "redirect", target: "t" });
  assert.deepEqual(back(replace(null)), { kind: "replace", value: null });
  assert.deepEqual(back(retry(250, 3)), { kind: "retry", delayMs: 250, maxAttempts: 3 });
  assert.deepEqual(back(fork([{ operation: "op", parameters: { p: true } }])), {
    kind: "fork",
    operations: [{ operation: "op", parameters: { p: true } }],
  });
  assert.deepEqual(back(cache("k", 30000)), { kind: "cache", key: "k", ttlMs: 30000 });
  assert.deepEqual(back(skipped("why")), { kind: "skipped", reason: "why" });
});

test("durations are exact in the message", () => {
  const pb = resultToProto(retry(1500.5, 2));
  assert.equal(pb.kind.value.delay.seconds, 1n);
  assert.equal(pb.kind.value.delay.nanos, 500_500_000);
});

test("anything not built by a helper is an invalid result", () => {
  for (const bad of ["continue", 0, false, { kind: "cancel", reason: "x" }, [], Symbol("x")]) {
    assert.throws(() => resultToProto(bad), InvalidResultError);
  }
});

test("helpers check their arguments and name them", () => {
  assert.throws(() => cancel(1), /reason: must be a string/);
  assert.throws(() => modified([1]), /data: must be a plain object/);
  assert.throws(() => retry(-1, 2), /delayMs: must be a finite number/);
  assert.throws(() => retry(1, 1.5), /maxAttempts: must be an integer/);
  assert.throws(() => cache("k", Infinity), /ttlMs/);
  assert.throws(() => fork([{ parameters: {} }]), /operations\[0\].operation: must be a string/);
  assert.throws(() => replace(undefined), /value: undefined is not a JSON value/);
  assert.throws(() => modified({ x: 1n, y: NaN }), /data.y/);
});

test("results are frozen", () => {
  const r = cancel("x");
  assert.throws(() => {
    r.reason = "y";
  }, TypeError);
});
