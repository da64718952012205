// Which result kinds the callers of each point honour (docs/semantics.md section 3): the table of the
// built-in points is generated from the HookPoint `honours` option of hookwire/v1/hook.proto (the
// same table the Python and Lua runtimes use); a custom point's kinds are declared in the
// registration of a hook at it. A hook returning a kind its point does not honour gets ERROR
// `result_not_honoured` from the executor, and its failure policy applies.
import { HONOURED } from "#generated/hookwire/v1/honoured.js";

const KINDS = Object.freeze(["CONTINUE", "MODIFIED", "CANCEL", "REDIRECT", "REPLACE", "RETRY", "FORK", "CACHE", "SKIPPED"]);

export { HONOURED };

/**
 * The result kinds the callers of `point` honour: the built-in table, or for "custom:<name>"
 * the kinds `declared` in its registration (undefined: every kind). CONTINUE and SKIPPED are
 * always honoured.
 *
 * @example
 *   honouredResults("after_tool_execution").includes("REDIRECT") // false
 *   honouredResults("custom:audit", ["CANCEL"]) // ["CONTINUE", "CANCEL", "SKIPPED"]
 * @param {string} point
 * @param {readonly string[]} [declared]
 * @returns {readonly string[]}
 */
export function honouredResults(point, declared) {
  if (typeof point !== "string") throw new TypeError(`point: must be a string, got ${typeof point}`);
  if (!point.startsWith("custom:")) {
    const table = HONOURED[point];
    if (table === undefined || !Object.hasOwn(HONOURED, point)) throw new TypeError(`point: unknown hook point ${JSON.stringify(point)}`);
    if (declared !== undefined) throw new TypeError(`honours: is fixed for the built-in point ${JSON.stringify(point)} (declare it for custom points)`);
    return table;
  }
  if (declared === undefined) return KINDS;
  for (const k of declared) if (!KINDS.includes(k)) throw new TypeError(`honours: unknown result kind ${JSON.stringify(k)}`);
  return Object.freeze(KINDS.filter((k) => k === "CONTINUE" || k === "SKIPPED" || declared.includes(k)));
}
