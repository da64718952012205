-- The sandbox of the embedded Lua state (the Lua half of sandbox.py). Runs once, trusted, with
-- the full standard library; builds the environment hook files get and returns the entry
-- points Python calls. Hook code never sees this chunk's locals, `_G`, `debug`, `package`,
-- `io`, `os` (beyond the safe subset below) or the `python` bridge.

local deps = ...
local convert, sdk = deps.convert, deps.sdk
local now = deps.now                 -- real monotonic seconds (runaway protection)
local clock_wall, clock_mono = deps.clock_wall, deps.clock_mono -- the runtime's Clock
local py_print, py_read_module = deps.py_print, deps.py_read_module
local CHECK_EVERY = deps.check_every

local debug, string, table, math, utf8, coroutine, os = debug, string, table, math, utf8, coroutine, os
local sethook, getinfo = debug.sethook, debug.getinfo
local setmetatable, getmetatable, type, error, pairs, next = setmetatable, getmetatable, type, error, pairs, next
local pcall, xpcall, select, tostring, load = pcall, xpcall, select, tostring, load
local rawget, rawset, rawlen = rawget, rawset, rawlen
local pack, unpack, concat, sort, fmt = table.pack, table.unpack, table.concat, table.sort, string.format
local huge = math.huge
local CHUNK = 4000

local internal = sdk._internal
sdk._internal = nil
local host = internal.host
local materialize, source, lazy_object, lazy_context, flatten =
  convert.materialize, convert.source, convert.lazy_object, convert.lazy_context, convert.flatten

-- Shared state hook code could otherwise reach through a string's metatable.
string.dump = nil
getmetatable("").__metatable = "string"

-- Pattern matching runs inside one C function, where the count hook cannot stop it, and a
-- pattern such as ".-.-b" is polynomial in the subject's length. Patterns with repetition
-- items are refused when their worst case on the subject exceeds a budget of steps:
-- length^(items + 1) (length^items when anchored with "^"). Plain finds are always allowed.
local PATTERN_BUDGET = 5e7 -- about a third of a second of matching at worst

local function repetitions(p)
  local q, i, n = 0, 1, #p
  while i <= n do
    local c = p:byte(i)
    if c == 37 then -- %x: an escape or class; %bxy balances (a scan per start, like a repetition)
      if p:byte(i + 1) == 98 then q = q + 1; i = i + 4 else i = i + 2 end
    elseif c == 91 then -- [set]: skip it (a ']' right after '[' or '[^' is a literal)
      i = i + 1
      if p:byte(i) == 94 then i = i + 1 end
      if p:byte(i) == 93 then i = i + 1 end
      while i <= n and p:byte(i) ~= 93 do
        if p:byte(i) == 37 then i = i + 1 end
        i = i + 1
      end
      i = i + 1
    else
      if c == 42 or c == 43 or c == 45 then q = q + 1 end -- * + -
      i = i + 1
    end
  end
  return q
end

local function guard_pattern(name, s, p, plain)
  if plain or type(s) ~= "string" or type(p) ~= "string" then return end
  local q = repetitions(p)
  if q == 0 then return end
  local exponent = p:byte(1) == 94 and q or q + 1
  if (#s) ^ exponent > PATTERN_BUDGET then
    error(fmt("string.%s: the pattern \"%s\" has %d repetition item(s); on a %d-byte string its "
      .. "worst case exceeds the sandbox's budget (use a plain find, or split the input)",
      name, p:sub(1, 40), q, #s), 3)
  end
end

do
  local find, match, gmatch, gsub = string.find, string.match, string.gmatch, string.gsub
  -- Replaced in the shared string table itself: `s:find(...)` reaches it through the string
  -- metatable, not through the copy hook files get.
  string.find = function(s, p, init, plain) guard_pattern("find", s, p, plain) return find(s, p, init, plain) end
  string.match = function(s, p, init) guard_pattern("match", s, p) return match(s, p, init) end
  string.gmatch = function(s, p, init) guard_pattern("gmatch", s, p) return gmatch(s, p, init) end
  string.gsub = function(s, p, r, n) guard_pattern("gsub", s, p) return gsub(s, p, r, n) end
end

-- Limits -------------------------------------------------------------------------------------

local TIMEOUT = setmetatable({}, { __metatable = "hookwire.timeout", __tostring = function() return "timeout" end })
local MEMORY = "not enough memory" -- the error object Lua raises when the allocator refuses
local deadline = huge
local depth = 0

local function count_hook()
  if now() > deadline then error(TIMEOUT, 0) end
end

-- pcall/xpcall/coroutines in hook code must not swallow the stop signals.
local function rethrow_fatal(ok, ...)
  if not ok then
    local e = ...
    if e == TIMEOUT or e == MEMORY then error(e, 0) end
  end
  return ok, ...
end

-- Errors of a wrapped library function name the function and the hook's line, as the
-- unwrapped one would (not "sandbox.lua:N: bad argument #1 to 'raw'").
local function rethrow_as(name, ok, ...)
  if ok then return ... end
  local msg = ...
  if type(msg) == "string" then
    msg = msg:gsub("^bad argument (#%d+) to '[^']*'", "bad argument %1 to '" .. name .. "'")
  end
  error(msg, 2) -- level 2: the wrappers tail-call this, so their caller is next on the stack
end

local function describe(v, level)
  local tv = type(v)
  if tv == "string" then return fmt("%q", v) end
  if tv ~= "table" then return tostring(v) end
  if level > 2 then return "{...}" end
  if source(v) ~= nil then materialize(v) end -- error(ctx.data): its content, not the proxy
  local keys = {}
  for k in next, v do keys[#keys + 1] = k end
  sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  local parts = {}
  for i, k in ipairs(keys) do
    if i > 20 then parts[#parts + 1] = "..."; break end
    local key = type(k) == "string" and k:match("^[%a_][%w_]*$") and k or ("[" .. describe(k, level + 1) .. "]")
    parts[#parts + 1] = key .. " = " .. describe(rawget(v, k), level + 1)
  end
  return "{" .. concat(parts, ", ") .. "}"
end

-- A failure's message: strings as Lua made them ("file:line: text"); other values (a table
-- from `error{...}`) as "file:line: <message field or a dump>".
local ERRBOX = {}
local function handler(e)
  if e == TIMEOUT or type(e) == "string" then return e end
  local where = "?"
  for level = 2, 12 do
    local info = getinfo(level, "Sl")
    if info == nil then break end
    if info.what ~= "C" then where = info.short_src .. ":" .. tostring(info.currentline); break end
  end
  local text
  if type(e) == "table" and type(rawget(e, "message")) == "string" then text = rawget(e, "message")
  else text = describe(e, 0) end
  return setmetatable({ text = where .. ": " .. text }, ERRBOX)
end

-- Run fn(...) with the instruction budget; returns ok, first result or error. Nested runs (a
-- hook publishing to a Lua subscriber) keep the earlier deadline if it is sooner.
local saved_deadlines = {}
local function after_run(ok, r)
  deadline = saved_deadlines[depth]
  depth = depth - 1
  if depth == 0 then sethook() end
  return ok, r
end

local function run_limited(deadline_s, fn, ...)
  depth = depth + 1
  saved_deadlines[depth] = deadline
  if deadline_s < deadline then deadline = deadline_s end
  if depth == 1 then sethook(count_hook, "", CHECK_EVERY) end
  return after_run(xpcall(fn, handler, ...))
end

-- Map a failed run to (code, message): 2 error, 3 timeout, 4 memory.
local function failure(e)
  if e == TIMEOUT then return 3, "timeout" end
  if e == MEMORY then
    -- The hook's garbage is unreachable now; collect it at once, so that the next call does
    -- not meet a full heap (an emergency collection does not always get the chance).
    collectgarbage("collect")
    return 4, MEMORY
  end
  if getmetatable(e) == ERRBOX then return 2, e.text end
  return 2, tostring(e)
end

-- The environment ----------------------------------------------------------------------------

local function copy(t)
  local c = {}
  for k, v in pairs(t) do c[k] = v end
  return c
end

local SAFE_STRING, SAFE_TABLE, SAFE_MATH, SAFE_UTF8 = copy(string), copy(table), copy(math), copy(utf8)

local co_create, co_resume, co_wrap = coroutine.create, coroutine.resume, coroutine.wrap
local SAFE_COROUTINE = copy(coroutine)
-- A coroutine is a Lua thread of its own; the count hook has to be installed on each one.
SAFE_COROUTINE.create = function(f)
  if type(f) ~= "function" then
    error("bad argument #1 to 'create' (function expected, got " .. type(f) .. ")", 2)
  end
  local co = co_create(f)
  sethook(co, count_hook, "", CHECK_EVERY)
  return co
end
SAFE_COROUTINE.resume = function(co, ...) return rethrow_fatal(co_resume(co, ...)) end
SAFE_COROUTINE.wrap = function(f)
  if type(f) ~= "function" then
    error("bad argument #1 to 'wrap' (function expected, got " .. type(f) .. ")", 2)
  end
  local co = SAFE_COROUTINE.create(f)
  return function(...)
    local r = pack(co_resume(co, ...))
    if not r[1] then error(r[2], 0) end
    return unpack(r, 2, r.n)
  end
end

local os_time, os_date, os_difftime = os.time, os.date, os.difftime
-- Time comes from the runtime's clock, so hooks see virtual time in tests and conformance runs.
local SAFE_OS = {
  time = function(t) if t == nil then return clock_wall() end return rethrow_as("time", pcall(os_time, t)) end,
  clock = function() return clock_mono() end,
  date = function(f, t) if t == nil then t = clock_wall() end return rethrow_as("date", pcall(os_date, f, t)) end,
  difftime = os_difftime,
}

local function materialized(name, raw, allow_string)
  return function(t, ...)
    local tt = type(t)
    if tt == "table" then
      if source(t) ~= nil then materialize(t) end
    elseif not (allow_string and tt == "string") then
      error(fmt("bad argument #1 to '%s' (table%s expected, got %s)", name,
        allow_string and " or string" or "", tt == "nil" and "no value" or tt), 2)
    end
    return raw(t, ...)
  end
end

local BASE = {
  assert = assert, error = error, ipairs = ipairs, pairs = pairs, select = select,
  tonumber = tonumber, tostring = tostring, type = type, rawequal = rawequal,
  getmetatable = getmetatable, _VERSION = _VERSION,
  -- A finalizer would run whenever the collector gets to it: during another hook's call
  -- (charged to that hook) or outside any call (with no time budget at all).
  setmetatable = function(t, mt)
    if type(mt) == "table" and rawget(mt, "__gc") ~= nil then
      error("setmetatable: __gc metamethods are not allowed in the hookwire sandbox", 2)
    end
    local ok, r = pcall(setmetatable, t, mt)
    if not ok then error(r, 2) end -- blame the hook's line, not this wrapper
    return r
  end,
  next = materialized("next", next), rawget = materialized("rawget", rawget),
  rawlen = materialized("rawlen", rawlen, true), rawset = materialized("rawset", rawset),
  pcall = function(f, ...) return rethrow_fatal(pcall(f, ...)) end,
  xpcall = function(f, h, ...)
    return rethrow_fatal(xpcall(f, function(e)
      if e == TIMEOUT then return e end
      return h(e)
    end, ...))
  end,
  print = function(...)
    local n = select("#", ...)
    local parts = {}
    for i = 1, n do parts[i] = tostring((select(i, ...))) end
    py_print(concat(parts, "\t"))
  end,
  collectgarbage = function(opt)
    if opt == "count" then return collectgarbage("count") end
    error(fmt("collectgarbage: option %s is not allowed in the hookwire sandbox (only \"count\")",
      opt == nil and "nil (a full collection)" or fmt("%q", tostring(opt))), 2)
  end,
}

local function new_env(dir)
  local env = copy(BASE)
  env.string, env.table, env.math, env.utf8 = copy(SAFE_STRING), copy(SAFE_TABLE), copy(SAFE_MATH), copy(SAFE_UTF8)
  env.coroutine, env.os = copy(SAFE_COROUTINE), copy(SAFE_OS)
  env.hookwire = copy(sdk)
  env._G = env
  env.load = function(chunk, name, mode, e)
    if mode ~= nil and mode ~= "t" then
      error(fmt("load: mode %s is not allowed in the hookwire sandbox (only text chunks, \"t\")", tostring(mode)), 2)
    end
    return load(chunk, name, "t", e == nil and env or e)
  end
  local loaded = {}
  env.require = function(name)
    if name == "hookwire" then return env.hookwire end
    if type(name) ~= "string" then error("require: module name must be a string, got " .. type(name), 2) end
    local mod = loaded[name]
    if mod ~= nil then return mod end
    local code, chunkname = py_read_module(dir, name)
    if code == nil then error(chunkname, 2) end
    local f, err = load(code, "@" .. chunkname, "t", env)
    if f == nil then error(err, 0) end
    mod = f(name)
    if mod == nil then mod = true end
    loaded[name] = mod
    return mod
  end
  return env
end

-- Entry points -------------------------------------------------------------------------------

host.loading = false
host.where = function()
  local info = getinfo(3, "Sl")
  if info == nil then return nil end
  return info.short_src .. ":" .. tostring(info.currentline)
end
-- Python callbacks report failures as (false, message): a raised Python exception would reach
-- hook code as a wrapped Python object.
local py_publish, py_subscribe = deps.publish, deps.subscribe
host.publish = function(event_type, payload)
  local fine, T, n = pcall(flatten, payload, "payload")
  if not fine then error(T, 3) end
  local ok, r
  if n <= CHUNK then ok, r = py_publish(event_type, n, unpack(T, 1, n))
  else ok, r = py_publish(event_type, n, T) end
  if not ok then error(r, 3) end
  return r
end
host.subscribe = function(pattern, fn)
  local ok, r = py_subscribe(pattern, fn)
  if not ok then error(r, 3) end
  return r
end


-- (code, kind, n, tokens...) for small values, (code, kind, n, token table) for large ones
-- (Python reads those in chunks: a Lua call returns its values on the C stack).
local function emit(code, kind, T, n)
  if n <= CHUNK then return code, kind, n, unpack(T, 1, n) end
  return code, kind, n, T
end

-- A result whose value cannot cross: invalid_result, unless the heap ran out meanwhile.
local function bad_value(e)
  if e == MEMORY then return failure(e) end
  return 5, e
end

local function result_of(r)
  if r == nil then return 0 end
  if getmetatable(r) ~= "hookwire.result" then
    local what = type(r)
    if what == "string" then what = fmt("the string %q", r:sub(1, 60))
    elseif what == "table" then what = "a table not built by a hookwire.* helper"
    elseif what ~= "function" and what ~= "thread" and what ~= "userdata" then what = fmt("the %s %s", what, tostring(r)) end
    return 5, "returned " .. what .. "; expected nil or a result from hookwire.continue(), " ..
      "hookwire.modified{...}, hookwire.cancel(reason), ..."
  end
  local kind = r.kind
  if kind == "continue" then return 0 end -- the same answer as `return nil`
  if kind == "modified" then
    local ok, T, n = pcall(flatten, r.data, "modified.data")
    if not ok then return bad_value(T) end
    return emit(1, kind, T, n)
  elseif kind == "replace" then
    local ok, T, n = pcall(flatten, r.value, "replace.value")
    if not ok then return bad_value(T) end
    return emit(1, kind, T, n)
  elseif kind == "fork" then
    local ok, T, n = pcall(flatten, r.operations, "fork.operations")
    if not ok then return bad_value(T) end
    return emit(1, kind, T, n)
  elseif kind == "retry" then return 1, kind, r.delay_ms, r.max_attempts
  elseif kind == "cache" then return 1, kind, r.key, r.ttl_ms
  elseif kind == "cancel" or kind == "skipped" then return 1, kind, r.reason
  elseif kind == "redirect" then return 1, kind, r.target
  end
  return 1, kind
end

local function finish(ok, r)
  if ok then return result_of(r) end
  return failure(r)
end

-- Call hook `fn` with the Python HookContext `hctx` (its data passed beside it); see
-- adapter.py for the codes.
local function invoke(fn, deadline_s, data, hctx)
  return finish(run_limited(deadline_s, fn, lazy_context(hctx, data)))
end

-- `invoke` as the embedded adapter calls it: `h` is the handle of the data and `h + 1` that
-- of the context; `...` the values read ahead for the hook (convert.lua `prefill`), if any.
local context_for = convert.context_for
local function call_hook(fn, deadline_s, h, ...)
  return finish(run_limited(deadline_s, fn, context_for(h, ...)))
end

-- Call subscriber `fn` with an event (a Python dict); its return value is ignored.
local function deliver(fn, deadline_s, event)
  local ok, e = run_limited(deadline_s, fn, lazy_object(event))
  if ok then return 0 end
  return failure(e)
end

-- Run a hook file; returns 1, registrations or a failure code and message.
local function load_file(code, chunkname, dir, deadline_s)
  local env = new_env(dir)
  local f, err = load(code, "@" .. chunkname, "t", env)
  if f == nil then return 2, err end
  internal.take_registrations()
  host.loading = true
  local ok, e = run_limited(deadline_s, f)
  host.loading = false
  local regs = internal.take_registrations()
  if not ok then return failure(e) end
  return 1, regs
end

-- Make a host function a global of the files loaded from now on; it answers (ok, value|message).
local function expose(name, py_fn)
  BASE[name] = function(...)
    local ok, r = py_fn(...)
    if not ok then error(r, 2) end
    return r
  end
end

return {
  expose = expose,
  invoke = invoke,
  call_hook = call_hook,
  deliver = deliver,
  load_file = load_file,
  unpack = unpack,
}
