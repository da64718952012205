// The hand-written index.d.ts describes the real API: a typed usage file compiles under
// `tsc --strict` (typescript comes with the root node_modules), and a misuse does not.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { REPO } from "../test-support/helpers.js";

const TSC = join(REPO, "node_modules", ".bin", "tsc");
const DIR = join(REPO, "sdk", "js", "test-support");
const ARGS = ["--noEmit", "--strict", "--module", "nodenext", "--moduleResolution", "nodenext", "--target", "es2022"];
// Library .d.ts files of newer @types/node need a newer compiler than the one in the lock file.
ARGS.push("--skipLibCheck", "--types", "node");

function tsc(file) {
  assert.ok(existsSync(TSC), `typescript is missing from node_modules (${TSC}); run npm install`);
  return spawnSync(TSC, [...ARGS, file], { cwd: DIR, encoding: "utf8" });
}

test("typed usage of every public API compiles", () => {
  const r = tsc("types_check.ts");
  assert.equal(r.status, 0, r.stdout + r.stderr);
});

test("a misuse is a type error", () => {
  const bad = join(DIR, "_types_misuse.ts");
  writeFileSync(bad, readFileSync(join(DIR, "types_check.ts"), "utf8").replace('failurePolicy: "FAIL_CLOSED"', 'failurePolicy: "NOPE"'));
  try {
    const r = tsc("_types_misuse.ts");
    assert.notEqual(r.status, 0);
    assert.match(r.stdout, /NOPE/);
  } finally {
    rmSync(bad, { force: true });
  }
});
