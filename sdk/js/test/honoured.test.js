import assert from "node:assert/strict";
import { test } from "node:test";

import { HONOURED, honouredResults } from "../src/index.js";

test("after points do not honour REDIRECT, error points only recover", () => {
  assert.ok(!honouredResults("after_tool_execution").includes("REDIRECT"));
  assert.ok(honouredResults("before_tool_execution").includes("REDIRECT"));
  assert.deepEqual([...honouredResults("tool_error")], ["CONTINUE", "CANCEL", "REDIRECT", "REPLACE", "RETRY", "SKIPPED"]);
  assert.equal(Object.keys(HONOURED).length, 43);
});

test("custom points honour what their registration declares", () => {
  assert.deepEqual([...honouredResults("custom:audit", ["CANCEL"])], ["CONTINUE", "CANCEL", "SKIPPED"]);
  assert.equal(honouredResults("custom:audit").length, 9);
  assert.throws(() => honouredResults("custom:audit", ["NOPE"]), /unknown result kind "NOPE"/);
  assert.throws(() => honouredResults("after_tool_execution", ["CANCEL"]), /fixed for the built-in point/);
  assert.throws(() => honouredResults("toString"), /unknown hook point/);
});
