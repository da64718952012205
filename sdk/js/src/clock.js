// The clock a hook call reads: real time, or the executor's virtual time (conformance runs).
//
// With a virtual clock every HookCall carries the executor's virtual time; the hook advances a
// per-call clock and the worker reports how far (HookCallResult.clock_advance), so a remote hook
// "takes 60 ms" exactly. Concurrent calls each get their own clock, never sharing time.

/** Per-call clock over the executor's virtual time. */
export class VirtualCallClock {
  /** @param {bigint} startNs the executor's virtual time (unix ns) when the call started */
  constructor(startNs) {
    this.startNs = BigInt(startNs);
    this.advancedNs = 0n;
  }

  /** Current virtual time, unix nanoseconds. */
  nowNs() {
    return this.startNs + this.advancedNs;
  }

  /** Current virtual time, unix milliseconds. */
  nowMs() {
    return Number(this.nowNs()) / 1e6;
  }

  /** Let `ms` (fractions allowed) of virtual time pass. */
  advanceMs(ms) {
    if (typeof ms !== "number" || !Number.isFinite(ms) || ms < 0) {
      throw new TypeError(`ms: must be a finite number >= 0, got ${String(ms)}`);
    }
    this.advancedNs += BigInt(Math.round(ms * 1e6));
  }

  /** Virtual sleep: advances the clock, then resolves (on the next microtask). */
  async sleep(ms) {
    this.advanceMs(ms);
  }
}

/** Per-call clock over real time (advancing means actually waiting). */
export class RealCallClock {
  constructor() {
    this.advancedNs = 0n;
  }

  nowNs() {
    return BigInt(Date.now()) * 1_000_000n;
  }

  nowMs() {
    return Date.now();
  }

  /** Real time cannot be advanced; use `await clock.sleep(ms)`. */
  advanceMs(ms) {
    throw new Error(`advanceMs(${ms}): this worker runs on real time; use await clock.sleep(ms)`);
  }

  sleep(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }
}
