-- hookwire Lua SDK: authoring helpers for Lua hooks (pure Lua 5.4, no C modules).
--
-- A hook file registers functions with `hookwire.register(point, fn, opts)`. A hook function
-- receives the context table and returns nil (CONTINUE) or a result built by the helpers below;
-- `error(...)` makes the call fail (ERROR). See README.md beside this file.
--
--   local hookwire = require("hookwire")
--   hookwire.register("before_tool_execution", function(ctx)
--     if ctx.data.tool == "rm" then return hookwire.cancel("rm is not allowed") end
--   end, { name = "no-rm", priority = 10 })
--
-- The host (the embedded sandbox, or a worker process) binds publish/subscribe and takes the
-- registrations through `M._internal`, which it removes before any hook code runs.

local M = {}

local type, error, pairs, next, tostring = type, error, pairs, next, tostring
local setmetatable, getmetatable, rawlen, ipairs, rawequal = setmetatable, getmetatable, rawlen, ipairs, rawequal
local math_type, fmt = math.type, string.format

-- Results are known by identity: every table the helpers below return is a key of RESULTS
-- (weak), and its fields live in a private record no hook code can reach or change. A table
-- whose metatable merely says "hookwire.result" is not a result. Reading `r.kind` etc. works.
local RESULTS = setmetatable({}, { __mode = "k" })
local RESULT_MT = {
  __metatable = "hookwire.result",
  __index = function(r, k) local rec = RESULTS[r]; if rec ~= nil then return rec[k] end end,
  __newindex = function() error("hookwire results are read-only", 2) end,
  -- A copy of the fields: the record itself never leaves this file.
  __pairs = function(r)
    local c, rec = {}, RESULTS[r]
    if rec ~= nil then for k, v in next, rec do c[k] = v end end
    return next, c, nil
  end,
}
-- Protected metatables: `getmetatable(x)` answers the marker string, and hook code can neither
-- change nor replace them (they are shared by every hook in a runtime).
local ARRAY_MT = { __metatable = "hookwire.array" }
local OBJECT_MT = { __metatable = "hookwire.object" }
local NULL_MT = {
  __metatable = "hookwire.null",
  __tostring = function() return "hookwire.null" end,
  __newindex = function() error("hookwire.null is read-only", 2) end,
}

--- The JSON null: `hookwire.modified{ key = hookwire.null }` deletes `key` (RFC 7396).
M.null = setmetatable({}, NULL_MT)

-- `level` 3 blames the caller of the helper that called fail (4 from a nested check).
local function fail(fn, what, got, level)
  error(fmt("hookwire.%s: %s, got %s", fn, what, got == nil and "nil" or
    (type(got) == "string" and fmt("%q", got) or type(got))), level or 3)
end

-- The limits of runtime/hookwire/runtime/limits.py (tests/hostile/test_limits.py pins these
-- copies to it; docs/security.md, "Limits").
local MAX_NAME_BYTES = 256
local MAX_DURATION_MS = 86400000

local function check_string(fn, arg, v, allow_empty)
  if type(v) ~= "string" or (not allow_empty and v == "") then
    fail(fn, arg .. " must be a " .. (allow_empty and "" or "non-empty ") .. "string", v, 4)
  end
end

local function check_name(fn, arg, v, allow_empty)
  if type(v) ~= "string" or (not allow_empty and v == "") then
    fail(fn, arg .. " must be a " .. (allow_empty and "" or "non-empty ") .. "string", v, 4)
  end
  if #v > MAX_NAME_BYTES then
    error(fmt("hookwire.%s: %s must be at most %d bytes, got %d", fn, arg, MAX_NAME_BYTES, #v), 3)
  end
end

local function check_plain_table(fn, arg, t)
  if t == nil then return {} end
  if type(t) ~= "table" then fail(fn, arg .. " must be a table", t, 4) end
  local mt = getmetatable(t)
  if mt ~= nil and mt ~= "hookwire.array" and mt ~= "hookwire.object" then
    fail(fn, arg .. " must be a plain table (it has a metatable)", t, 4)
  end
  return t
end

--- Mark a table as a JSON array (so that an empty one stays `[]`, not `{}`).
function M.array(t)
  t = check_plain_table("array", "the argument", t)
  if getmetatable(t) == "hookwire.object" then fail("array", "the argument is already an object", t) end
  return setmetatable(t, ARRAY_MT)
end

--- Mark a table as a JSON object (an unmarked empty table is already an object).
function M.object(t)
  t = check_plain_table("object", "the argument", t)
  if getmetatable(t) == "hookwire.array" then fail("object", "the argument is already an array", t) end
  return setmetatable(t, OBJECT_MT)
end

--- True for tables that will be sent as JSON arrays (marked, or taken from a context array).
function M.is_array(t) return getmetatable(t) == "hookwire.array" end

--- True for hookwire.null.
function M.is_null(v) return rawequal(v, M.null) end

local function result(t)
  local r = setmetatable({}, RESULT_MT)
  RESULTS[r] = t
  return r
end

--- CONTINUE (the same as returning nil). `continue` is not a Lua keyword.
function M.continue() return result({ kind = "continue" }) end

--- MODIFIED: merge-patch `data` into the context data; `hookwire.null` deletes a key.
function M.modified(data)
  if type(data) ~= "table" or getmetatable(data) == "hookwire.array" or data == M.null then
    fail("modified", "data must be a table used as a JSON object", data)
  end
  return result({ kind = "modified", data = data })
end

--- CANCEL: stop the chain and the operation with `reason`.
function M.cancel(reason)
  check_string("cancel", "reason", reason, true)
  return result({ kind = "cancel", reason = reason })
end

--- REDIRECT: run the operation registered under `target` instead.
function M.redirect(target)
  check_name("redirect", "target", target, false)
  return result({ kind = "redirect", target = target })
end

--- REPLACE: use `value` (any JSON value; hookwire.null for null) as the operation's output.
function M.replace(value)
  if value == nil then fail("replace", "value must not be nil (use hookwire.null)", value) end
  return result({ kind = "replace", value = value })
end

local function check_ms(fn, arg, v)
  if type(v) ~= "number" or v ~= v or v < 0 or v == math.huge then
    fail(fn, arg .. " must be a non-negative finite number of milliseconds", v, 4)
  end
  if v > MAX_DURATION_MS then
    error(fmt("hookwire.%s: %s must be at most %d ms (one day), got %s", fn, arg, MAX_DURATION_MS,
      tostring(v)), 3)
  end
end

--- RETRY: re-run after `delay_ms` milliseconds, at most `max_attempts` attempts in all.
function M.retry(delay_ms, max_attempts)
  check_ms("retry", "delay_ms", delay_ms)
  if math_type(max_attempts) ~= "integer" or max_attempts < 1 or max_attempts > 0xffffffff then
    fail("retry", "max_attempts must be an integer >= 1", max_attempts)
  end
  return result({ kind = "retry", delay_ms = delay_ms, max_attempts = max_attempts })
end

--- FORK: run operations beside the main one: `hookwire.fork{ {operation = "x", parameters = {...}}, ... }`.
function M.fork(operations)
  if type(operations) ~= "table" then fail("fork", "operations must be a table of operations", operations) end
  local n = rawlen(operations)
  if n == 0 then fail("fork", "operations must list at least one operation", operations) end
  local ops = {}
  for i = 1, n do
    local op = operations[i]
    if type(op) ~= "table" then fail("fork", "operations[" .. i .. "] must be a table", op) end
    check_name("fork", "operations[" .. i .. "].operation", op.operation, false)
    local params = op.parameters
    if params == nil then params = {} end
    if type(params) ~= "table" or getmetatable(params) == "hookwire.array" then
      fail("fork", "operations[" .. i .. "].parameters must be a table used as a JSON object", params)
    end
    ops[i] = { operation = op.operation, parameters = params }
  end
  for k in pairs(operations) do
    if math_type(k) ~= "integer" or k < 1 or k > n then
      fail("fork", "operations must be a sequence, found key " .. tostring(k), operations)
    end
  end
  return result({ kind = "fork", operations = setmetatable(ops, ARRAY_MT) })
end

--- CACHE: serve the output cached under `key`, fresh for `ttl_ms` milliseconds.
function M.cache(key, ttl_ms)
  check_name("cache", "key", key, true)
  check_ms("cache", "ttl_ms", ttl_ms)
  return result({ kind = "cache", key = key, ttl_ms = ttl_ms })
end

--- SKIPPED: the hook declines to act; the chain goes on.
function M.skipped(reason)
  if reason == nil then reason = "" end
  check_string("skipped", "reason", reason, true)
  return result({ kind = "skipped", reason = reason })
end

--- True if `v` was built by one of the result helpers.
function M.is_result(v) return v ~= nil and RESULTS[v] ~= nil end

-- Registration -------------------------------------------------------------------------------

local registrations = {}
local host = {
  -- False while hooks run: registering is part of loading a file, not of a call.
  loading = true,
  -- Where the register() call is, as "file:line" (a host with the debug library sets this).
  where = function() return nil end,
  publish = function() error("hookwire.publish: no event sink is bound in this runtime", 3) end,
  subscribe = function() error("hookwire.subscribe: no event bus is bound in this runtime", 3) end,
}

local OPTION_TYPES = {
  name = "string", priority = "integer", timeout_ms = "number", failure_policy = "string",
  tags = "table", feature = "string", enabled = "boolean",
}
local POLICIES = { fail_open = true, fail_closed = true }

--- Register `fn` at `point` ("before_tool_execution", "custom:my_point", ...).
-- opts: name (default "file:line"), priority (integer, lower runs first, default 0),
-- timeout_ms (default 100), failure_policy ("fail_open" | "fail_closed"), tags (array of
-- strings), feature (flag name), enabled (boolean).
function M.register(point, fn, opts)
  if not host.loading then
    error("hookwire.register: hooks can only be registered while a hook file loads", 2)
  end
  check_string("register", "point", point, false)
  if type(fn) ~= "function" then fail("register", "fn must be a function", fn) end
  if opts == nil then opts = {} end
  if type(opts) ~= "table" then fail("register", "opts must be a table", opts) end
  local clean = {}
  for k, v in pairs(opts) do
    local want = OPTION_TYPES[k]
    if want == nil then
      error(fmt("hookwire.register: unknown option %s (known: enabled, failure_policy, " ..
        "feature, name, priority, tags, timeout_ms)", tostring(k)), 2)
    end
    local ok
    if want == "integer" then ok = math_type(v) == "integer" else ok = type(v) == want end
    if not ok then fail("register", "opts." .. k .. " must be a" .. (want == "integer" and "n " or " ") .. want, v) end
    clean[k] = v
  end
  if clean.timeout_ms ~= nil and not (clean.timeout_ms > 0 and clean.timeout_ms < math.huge) then
    fail("register", "opts.timeout_ms must be a positive finite number", clean.timeout_ms)
  end
  if clean.failure_policy ~= nil and not POLICIES[clean.failure_policy] then
    fail("register", 'opts.failure_policy must be "fail_open" or "fail_closed"', clean.failure_policy)
  end
  if clean.tags ~= nil then
    local tags = {}
    for i, tag in ipairs(clean.tags) do
      if type(tag) ~= "string" then fail("register", "opts.tags[" .. i .. "] must be a string", tag) end
      tags[i] = tag
    end
    clean.tags = tags
  end
  registrations[#registrations + 1] = { point = point, fn = fn, opts = clean, where = host.where() }
end

--- Publish an event of `type` ("tool.invoked") with a JSON payload (a table, string, number,
-- boolean or hookwire.null for a JSON null; nil or no argument publishes an event without a
-- payload, as Python's NO_DATA and JavaScript's undefined do). Returns the event's sequence.
function M.publish(event_type, payload)
  check_string("publish", "type", event_type, false)
  local seq = host.publish(event_type, payload) -- not a tail call: errors blame the caller
  return seq
end

--- Call `fn(event)` for every event whose type matches `pattern` (NATS wildcards `*`, `>`).
function M.subscribe(pattern, fn)
  check_string("subscribe", "pattern", pattern, false)
  if type(fn) ~= "function" then fail("subscribe", "fn must be a function", fn) end
  local r = host.subscribe(pattern, fn)
  return r
end

-- For the host only; removed from the module before hook code can see it.
M._internal = {
  RESULT_MT = RESULT_MT,
  ARRAY_MT = ARRAY_MT,
  OBJECT_MT = OBJECT_MT,
  NULL_MT = NULL_MT,
  -- The private record of a result built by the helpers (nil for anything else).
  result_record = function(v) if v == nil then return nil end return RESULTS[v] end,
  host = host,
  -- Hand over (and forget) the registrations made since the last call.
  take_registrations = function()
    local r = registrations
    registrations = {}
    return r
  end,
}

return M
