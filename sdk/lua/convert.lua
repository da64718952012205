-- JSON values between Python and the embedded Lua state (the Lua half of convert.py).
--
-- Python -> Lua is lazy: a Python dict or list crosses as an empty proxy table whose
-- metamethods fetch from Python on first use (one key at a time for objects, the whole list
-- for arrays; `pairs`, `#`, writes and the sandbox's `next`/`rawget` fetch everything first and
-- turn the proxy into an ordinary table). A hook that reads two fields pays for two fields.
-- The host may also hand values over ahead of use (a filler): they are stored as if looked up.
--
-- Lua -> Python is eager: `flatten` walks a value once and emits a flat token list that
-- convert.py rebuilds. Tokens: strings, booleans and numbers stand for themselves; `nil` starts
-- a marker followed by a code: 0 null, 1 object (then a count and key/value pairs), 2 array
-- (then a count and items), 3 an untouched proxy (then the original Python object, passed back
-- as is).

local deps = ...
local NULL, ARRAY_MT, OBJECT_MT = deps.NULL, deps.ARRAY_MT, deps.OBJECT_MT
local DICT_TAG, LIST_TAG, ERR_TAG = deps.DICT_TAG, deps.LIST_TAG, deps.ERR_TAG
local py_lookup, py_items, py_context_field = deps.py_lookup, deps.py_items, deps.py_context_field
local setmt, getmt = deps.setmetatable, deps.getmetatable -- the debug versions: ignore __metatable

local type, error, next, rawget, rawset, rawlen = type, error, next, rawget, rawset, rawlen
local tostring, fmt, concat, math_type, huge = tostring, string.format, table.concat, math.type, math.huge
local pack, select = table.pack, select

-- A proxy holds the Python object it stands for under this private key until it is
-- materialized. Hook code cannot name the key, and everything that could enumerate it
-- (`pairs`, the sandbox's `next`/`rawget`/`rawlen`/`rawset`) materializes first, which
-- removes it.
local SRC = setmetatable({}, { __metatable = "hookwire.private", __tostring = function() return "?" end })
local LAZY_OBJECT, LAZY_ARRAY, LAZY_CONTEXT = {}, {}, {}

-- Every proxy by its source, weakly: the host keeps a source's object alive while its proxy
-- lives (see `live_sources`). A source is a handle (or a host table) given to one proxy only.
local LIVE = setmetatable({}, { __mode = "v" })

local function lazy_object(src)
  local t = setmt({ [SRC] = src }, LAZY_OBJECT)
  LIVE[src] = t
  return t
end

local function lazy_array(src)
  local t = setmt({ [SRC] = src }, LAZY_ARRAY)
  LIVE[src] = t
  return t
end

-- A hook's `ctx`: `data` is there from the start (nearly every hook reads it); the other
-- fields (point, language, correlation_id, timestamp_ns, metadata, operation, ...) are fetched
-- from the host's context when first read.
local function lazy_context(hctx, data)
  local d = setmt({ [SRC] = data }, LAZY_OBJECT)
  local t = setmt({ [SRC] = hctx, data = d }, LAZY_CONTEXT)
  LIVE[data], LIVE[hctx] = d, t
  return t
end

-- Read-ahead: the host hands over, with a hook's call, the current values of the data paths
-- the hook read before; a *filler* stores them in the fresh data proxy and its child proxies
-- as if they had been looked up (so reading them makes no crossing). A filler is compiled
-- once per set of paths, as straight-line code: `compile_filler(parent1, key1, parent2,
-- key2, ...)`, where path j is key j under the object of path `parent` j (0: ctx.data; a
-- parent comes before its children). It is called as filler(data, value1, source1, ...): a
-- nil value is not there now (left to the lazy lookup; the host then sends nil for the
-- children too); for DICT_TAG / LIST_TAG, `source` is the child's source.
local FILLER_ENV = { DICT_TAG = DICT_TAG, LIST_TAG = LIST_TAG, rawset = rawset }
FILLER_ENV.lazy_object, FILLER_ENV.lazy_array = lazy_object, lazy_array

local function compile_filler(...)
  local n = select("#", ...) // 2
  local params, body = { "d" }, {}
  for j = 1, n do
    local parent, key = select(2 * j - 1, ...)
    params[#params + 1] = fmt("v%d, s%d", j, j)
    body[#body + 1] = fmt(
      "if v%d ~= nil then\n" ..
      "  if v%d == DICT_TAG then v%d = lazy_object(s%d); n%d = v%d\n" ..
      "  elseif v%d == LIST_TAG then v%d = lazy_array(s%d) end\n" ..
      "  rawset(%s, %q, v%d)\n" ..
      "end", j, j, j, j, j, j, j, j, j, parent == 0 and "d" or fmt("n%d", parent), key, j)
  end
  local locals = {}
  for j = 1, n do locals[j] = "n" .. j end
  local code = "local DICT_TAG, LIST_TAG, rawset, lazy_object, lazy_array = " ..
    "DICT_TAG, LIST_TAG, rawset, lazy_object, lazy_array\n" ..
    "return function(" .. concat(params, ", ") .. ")\n" ..
    (n > 0 and ("local " .. concat(locals, ", ") .. "\n") or "") ..
    concat(body, "\n") .. "\nend"
  return assert(load(code, "=read-ahead", "t", FILLER_ENV))()
end

-- A hook's ctx for the embedded adapter: data handle `h`, context handle `h + 1`, and the
-- values read ahead with their filler. With read-ahead the data proxy is created with room
-- for a few keys, so that filling it does not grow it step by step.
local function context_for(h, filler, ...)
  if filler == nil then return lazy_context(h + 1, h) end
  local d = setmt({ [SRC] = h, [1] = nil, [2] = nil, [3] = nil }, LAZY_OBJECT)
  local t = setmt({ [SRC] = h + 1, data = d }, LAZY_CONTEXT)
  LIVE[h], LIVE[h + 1] = d, t
  filler(d, ...)
  return t
end

-- The handles (number sources) of the proxies that are alive and not yet materialized, as
-- one text of decimal numbers separated by spaces (one value for the host to read, instead of
-- one crossing per handle).
local function live_sources()
  local out, n = {}, 0
  for src, t in next, LIVE do
    if rawget(t, SRC) ~= nil and math_type(src) == "integer" then n = n + 1; out[n] = src end
  end
  return concat(out, " ")
end

-- The Python object behind an untouched proxy, or nil.
local function source(t)
  return rawget(t, SRC)
end

-- A value handed over by Python: a scalar, NULL, or a tag followed by a container / message.
local function wrap(v, extra)
  if v == DICT_TAG then return lazy_object(extra) end
  if v == LIST_TAG then return lazy_array(extra) end
  if v == ERR_TAG then error(extra, 0) end
  return v
end

-- Fill a proxy with everything its Python object holds and make it an ordinary table.
local function materialize(t)
  local src = rawget(t, SRC)
  if src == nil then return end
  local is_object = getmt(t) ~= LAZY_ARRAY
  local offset, j = 0, 0
  repeat
    local r = pack(py_items(src, offset))
    local i, n = 2, r.n
    while i <= n do
      local k
      if is_object then k = r[i]; i = i + 1 end
      local v = r[i]; i = i + 1
      if v == DICT_TAG then v = lazy_object(r[i]); i = i + 1
      elseif v == LIST_TAG then v = lazy_array(r[i]); i = i + 1
      elseif v == ERR_TAG then error(r[i], 0)
      end
      if is_object then
        if rawget(t, k) == nil then rawset(t, k, v) end
      else
        j = j + 1
        rawset(t, j, v)
      end
    end
    offset = r[1]
  until offset == 0
  rawset(t, SRC, nil)
  setmt(t, is_object and OBJECT_MT or ARRAY_MT)
end

local function lazy_newindex(t, k, v)
  materialize(t)
  t[k] = v
end

-- The `next` hook code gets (from `pairs`, or as the global): a proxy is materialized before
-- it is walked, so the private key and its source are never handed out.
local function safe_next(t, k)
  if rawget(t, SRC) ~= nil then materialize(t) end
  return next(t, k)
end

local function lazy_pairs(t)
  materialize(t)
  return safe_next, t, nil
end

local function lazy_len(t)
  materialize(t)
  return rawlen(t)
end

LAZY_OBJECT.__index = function(t, k)
  local src = rawget(t, SRC)
  if src == nil or type(k) ~= "string" then return nil end
  local v, extra = py_lookup(src, k)
  if v == DICT_TAG then v = lazy_object(extra)
  elseif v == LIST_TAG then v = lazy_array(extra)
  elseif v == ERR_TAG then error(extra, 0)
  elseif v == nil then return nil
  end
  rawset(t, k, v) -- cached: the next read does not cross to Python
  return v
end

LAZY_CONTEXT.__index = function(t, k)
  local src = rawget(t, SRC)
  if src == nil or type(k) ~= "string" then return nil end
  local v = wrap(py_context_field(src, k))
  if v ~= nil then rawset(t, k, v) end
  return v
end

LAZY_ARRAY.__index = function(t, k)
  materialize(t)
  return rawget(t, k)
end

-- What every lazy table shares: writes, iteration and length materialize it; the metatable is
-- hidden behind the kind of value it stands for.
for mt, kind in pairs({
  [LAZY_OBJECT] = "hookwire.object",
  [LAZY_CONTEXT] = "hookwire.object",
  [LAZY_ARRAY] = "hookwire.array",
}) do
  mt.__newindex = lazy_newindex
  mt.__pairs = lazy_pairs
  mt.__len = lazy_len
  mt.__metatable = kind
end

-- Bytes that are not ASCII as \xHH, so that messages stay readable text.
local function escape(s)
  return (s:gsub("[\128-\255]", function(c) return fmt("\\x%02x", c:byte()) end))
end

local function path_text(root, path, depth)
  local parts = { root }
  for d = 1, depth do
    local k = path[d]
    if type(k) == "number" then parts[#parts + 1] = fmt("[%d]", k - 1)
    else parts[#parts + 1] = "." .. escape(k:sub(1, 40)) end
  end
  return concat(parts)
end

-- Walk `value` and return the token list and its length; errors name the path (`root.a[2]`,
-- zero-based indexes as in the Python and JS views of the same data). The walk keeps its state
-- in these upvalues (no closure or table per call); it runs no hook code, so it is never
-- re-entered.
local T, n, root = nil, 0, ""
local path, stack = {}, {}
-- hookwire.runtime.limits.MAX_JSON_DEPTH (tests/hostile/test_limits.py pins this copy): the
-- objects and arrays around a value. Cycles are looked for only at this depth, where the walk
-- stops anyway, so ordinary values pay nothing and a deep value costs no quadratic search.
local MAX_JSON_DEPTH = 30
-- Tokens one value may flatten to: the host rebuilds them after the hook's budget has ended,
-- so their number is bounded (about a 4 MiB message of small items).
local MAX_TOKENS = 1 << 18
local utf8_len = utf8.len

local function bad(depth, what)
  error(fmt("%s: %s", path_text(root, path, depth), what), 0)
end

-- A key or value shown in a message without running any of its metamethods.
local function show(v)
  local tv = type(v)
  if tv == "string" then return fmt("%q", escape(v:sub(1, 40))) end
  if tv == "number" or tv == "boolean" then return tostring(v) end
  return "a " .. tv
end

local function check_string(s, depth)
  if utf8_len(s) == nil then
    bad(depth, fmt("the string \"%s\" is not valid UTF-8", escape(s:sub(1, 40))))
  end
end

local walk
local PROXY = { [LAZY_OBJECT] = true, [LAZY_ARRAY] = true, [LAZY_CONTEXT] = true }

local function walk_table(v, depth)
  if v == NULL then n = n + 2; T[n] = 0; return end
  local mt = getmt(v)
  if PROXY[mt] then
    -- Untouched (nothing but its source): the host's object itself. A proxy holding cached
    -- reads may also hold writes (to a cached key, or inside a cached child), so it and its
    -- children are walked; a whole ctx is its fields, not the host's context object.
    local src = rawget(v, SRC)
    if src ~= nil then
      if mt ~= LAZY_CONTEXT and next(v) == SRC and next(v, SRC) == nil then
        n = n + 3; T[n - 1] = 3; T[n] = src; return
      end
      materialize(v)
    end
    mt = getmt(v)
  end
  if depth >= MAX_JSON_DEPTH then
    -- Checked only this deep, so that ordinary values pay nothing. Report where the loop
    -- first closed: its first table's depth plus the loop's length.
    local cyclic = false
    for d = 1, depth do
      if stack[d] == v then cyclic = true; break end
    end
    if cyclic then
      for e = 2, depth + 1 do
        for j = 1, e - 1 do
          if stack[j] == (stack[e] or v) then
            bad(e - 1, "contains itself (a cycle), which JSON cannot hold")
          end
        end
      end
    end
    bad(depth, fmt("nested deeper than %d (the limit on objects and arrays around a JSON value)",
      MAX_JSON_DEPTH))
  end
  stack[depth + 1] = v
  local is_array
  if mt == ARRAY_MT then is_array = true
  elseif mt == OBJECT_MT then is_array = false
  elseif mt ~= nil then
    bad(depth, "is a table with a metatable of its own, not a JSON value (results cannot be nested)")
  else
    is_array = rawlen(v) > 0 -- unmarked: items 1..n make an array, an empty table an object
  end
  if is_array then
    local len = rawlen(v)
    for k in next, v do
      if math_type(k) ~= "integer" or k < 1 or k > len then
        bad(depth, fmt("mixes array items with the key %s (a JSON array has only items 1..%d)",
          show(k), len))
      end
    end
    n = n + 3; T[n - 1] = 2; T[n] = len
    for i = 1, len do
      path[depth + 1] = i
      walk(rawget(v, i), depth + 1)
    end
  else
    n = n + 3; T[n - 1] = 1
    local at, count = n, 0 -- the count is known at the end (one pass over the keys)
    for k, item in next, v do
      if type(k) ~= "string" then
        bad(depth, fmt("has the key %s of type %s; JSON object keys are strings", show(k), type(k)))
      end
      count = count + 1
      path[depth + 1] = k
      check_string(k, depth + 1)
      n = n + 1; T[n] = k
      walk(item, depth + 1)
    end
    T[at] = count
  end
end

walk = function(v, depth)
  local tv = type(v)
  if tv == "string" then
    check_string(v, depth)
    n = n + 1; T[n] = v
  elseif tv == "boolean" then
    n = n + 1; T[n] = v
  elseif tv == "number" then
    if v ~= v then bad(depth, "is not a finite number (NaN)") end
    if v == huge or v == -huge then bad(depth, "is not a finite number (" .. (v > 0 and "inf" or "-inf") .. ")") end
    n = n + 1; T[n] = v
  elseif tv == "table" then
    walk_table(v, depth)
  else
    bad(depth, "is a " .. tv .. ", not a JSON value")
  end
end

local function flatten(value, name)
  T, n, root = {}, 0, name
  for i = #stack, 1, -1 do stack[i] = nil end -- no earlier call's tables stay reachable
  walk(value, 0)
  if n > MAX_TOKENS then
    T = nil
    bad(0, fmt("holds more than %d values and containers, the most one value may hold", MAX_TOKENS))
  end
  local tokens, count = T, n
  T = nil
  return tokens, count
end

return {
  lazy_object = lazy_object,
  lazy_context = lazy_context,
  compile_filler = compile_filler,
  context_for = context_for,
  lazy_array = lazy_array,
  materialize = materialize,
  flatten = flatten,
  live_sources = live_sources,
  source = source,
  safe_next = safe_next,
}
