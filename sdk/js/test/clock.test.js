import assert from "node:assert/strict";
import { test } from "node:test";
import { RealCallClock, VirtualCallClock } from "../src/index.js";

test("a virtual call clock starts at the executor's time and counts what the hook advanced", async () => {
  const c = new VirtualCallClock(1_700_000_000_000_000_000n);
  c.advanceMs(60);
  await c.sleep(0.5);
  assert.equal(c.advancedNs, 60_500_000n);
  assert.equal(c.nowNs(), 1_700_000_000_060_500_000n);
  assert.throws(() => c.advanceMs(-1), /ms: must be a finite number >= 0/);
  assert.throws(() => c.advanceMs(Number.NaN), /ms: must be a finite number >= 0/);
});

test("a real call clock cannot be advanced, only slept on", async () => {
  const c = new RealCallClock();
  assert.throws(() => c.advanceMs(5), /real time; use await clock.sleep/);
  const t0 = Date.now();
  await c.sleep(20);
  assert.ok(Date.now() - t0 >= 15);
  assert.equal(c.advancedNs, 0n);
});
