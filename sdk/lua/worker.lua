-- hookwire Lua worker: runs Lua hook files out of process, in a plain `lua5.4` (no Python), or
-- in the same program under lupa's Lua 5.4 (`python -m hookwire.runtime.lua_process.lupa_lua`).
--
--   LUA_PATH="generated/lua/?.lua;sdk/lua/?.lua;;" lua5.4 sdk/lua/worker.lua \
--       [--virtual-clock] [--worker-id ID] [--check-every N] [--lua-dir DIR] HOOK.lua...
--
-- It loads the hook files into the same sandbox the embedded runtime uses, built from the same
-- host Lua sources: sandbox.lua, convert.lua and hookwire.lua, beside this file (or in
-- --lua-dir), so a hook file behaves the same in both places. It then speaks the executor's
-- worker protocol (hookwire.v1 WorkerMessage / ExecutorMessage, the messages of the gRPC
-- Connect stream) as length-delimited frames: each frame is a protobuf varint byte count
-- followed by that many bytes of one message. The worker writes WorkerMessage frames on stdout
-- and reads ExecutorMessage frames on stdin; stderr is for logs. See docs/lua-process.md.
--
-- Conversation: worker -> hello; executor -> welcome; worker -> register (every hook of every
-- file, request_id 1); executor -> register_ack; then executor -> call / cancel, worker ->
-- result, one call at a time, in order. End of stdin ends the worker (exit status 0). A hook
-- file that does not load ends it with status 3 and the reason on stderr; a protocol error with
-- status 4.

local pb = require("hookwire.pb")
local es = require("hookwire.v1.executor_service")
local hookpb = require("hookwire.v1.hook")
local commonpb = require("hookwire.v1.common")
local jsonpb = require("hookwire.v1.json")

local stdin, stdout, stderr = io.stdin, io.stdout, io.stderr
local fmt, byte, char, concat = string.format, string.byte, string.char, table.concat
local pack_values, unpack = table.pack, table.unpack
local mtype = math.type

local VERSION = "hookwire-lua-worker/0.1.0"
local MAX_FRAME = 64 * 1024 * 1024
local CHUNK = 4000
local NS = 1000000000

local function log(...)
  stderr:write("[hookwire-lua-worker] ", fmt(...), "\n")
  stderr:flush()
end

local function die(status, ...)
  log(...)
  os.exit(status)
end

-- Arguments ------------------------------------------------------------------------------------

local opts = { virtual = false, worker_id = "lua-worker", check_every = 1000, files = {} }
do
  -- The host Lua sources (sandbox.lua, convert.lua, hookwire.lua) are beside this file,
  -- unless --lua-dir names their folder.
  opts.lua_dir = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
  local i = 1
  while arg and i <= #arg do
    local a = arg[i]
    if a == "--virtual-clock" then opts.virtual = true
    elseif a == "--worker-id" then i = i + 1; opts.worker_id = arg[i]
    elseif a == "--check-every" then i = i + 1; opts.check_every = math.tointeger(tonumber(arg[i]))
    elseif a == "--lua-dir" then i = i + 1; opts.lua_dir = arg[i]
    elseif a:sub(1, 2) == "--" then die(2, "unknown option %s", a)
    else opts.files[#opts.files + 1] = a end
    i = i + 1
  end
  if opts.worker_id == nil or opts.worker_id == "" then die(2, "--worker-id needs a value") end
  if opts.lua_dir == nil or opts.lua_dir == "" then die(2, "--lua-dir needs a value") end
  if opts.check_every == nil or opts.check_every < 1 then die(2, "--check-every needs a positive integer") end
end

local function read_all(path)
  local f, err = io.open(path, "rb")
  if f == nil then return nil, err end
  local s = f:read("a")
  f:close()
  return s
end

local function trusted_chunk(path, name)
  local code, err = read_all(path)
  if code == nil then die(3, "cannot read %s: %s", name, err) end
  local f, lerr = load(code, "=" .. name, "t")
  if f == nil then die(3, "%s", lerr) end
  return f
end

-- Framing ---------------------------------------------------------------------------------------

local function read_exact(n)
  if n == 0 then return "" end
  local s = stdin:read(n)
  if s == nil or #s < n then return nil end
  return s
end

-- One frame's bytes; nil at a clean end of input (between frames).
local function read_frame()
  local len, shift = 0, 0
  for k = 1, 10 do
    local b = stdin:read(1)
    if b == nil then
      if k == 1 then return nil end
      die(4, "protocol error: input ended inside a frame length")
    end
    b = byte(b)
    len = len | ((b & 0x7f) << shift)
    if b < 0x80 then
      if len < 0 or len > MAX_FRAME then
        die(4, "protocol error: frame of %d bytes exceeds the limit of %d", len, MAX_FRAME)
      end
      local body = read_exact(len)
      if body == nil then die(4, "protocol error: input ended inside a frame of %d bytes", len) end
      return body
    end
    shift = shift + 7
  end
  die(4, "protocol error: frame length varint longer than 10 bytes")
end

local function varint(v)
  local t = {}
  repeat
    local b = v & 0x7f
    v = v >> 7
    t[#t + 1] = char(v ~= 0 and (b | 0x80) or b)
  until v == 0
  return concat(t)
end

local function send(msg)
  local body = es.WorkerMessage.encode(es.WorkerMessage.new(msg))
  stdout:write(varint(#body), body)
  stdout:flush()
end

local function read_message()
  local body = read_frame()
  if body == nil then return nil end
  local ok, m = pcall(es.ExecutorMessage.decode, body)
  if not ok then die(4, "protocol error: bad ExecutorMessage frame: %s", tostring(m)) end
  return m
end

-- Messages read while a publish waited for its PublishAck, handled afterwards in order.
local inbox = {}

local function receive()
  if #inbox > 0 then return table.remove(inbox, 1) end
  return read_message()
end

-- Enum names <-> values ---------------------------------------------------------------------------

local POINT_NAME, POINT_VALUE = {}, {}
for name, v in pairs(hookpb.HookPoint) do
  if type(name) == "string" and mtype(v) == "integer" and name:sub(1, 11) == "HOOK_POINT_" then
    local text = name:sub(12):lower()
    POINT_NAME[v], POINT_VALUE[text] = text, v
  end
end
local LANGUAGE_NAME = {}
for name, v in pairs(commonpb.Language) do
  if type(name) == "string" and mtype(v) == "integer" and name:sub(1, 9) == "LANGUAGE_" then
    LANGUAGE_NAME[v] = name:sub(10):lower()
  end
end
LANGUAGE_NAME[0] = nil

-- The sandbox -------------------------------------------------------------------------------------

-- JSON values from the executor are kept in a compact form of our own and handed to hook code
-- lazily through convert.lua's proxies, exactly as the embedded runtime hands Python values:
-- an object is { [KIND] = OBJ, map = {k = v}, keys = {...} }, an array { [KIND] = ARR, n, ... }.
local KIND, OBJ, ARR, CTX = {}, {}, {}, {}
local DICT_TAG, LIST_TAG, ERR_TAG = {}, {}, {}

local sdk = trusted_chunk(opts.lua_dir .. "/hookwire.lua", "hookwire.lua")()
local internal = sdk._internal
local NULL = sdk.null

local function value_of(v)
  if type(v) == "table" then
    local k = v[KIND]
    if k == OBJ or k == CTX then return DICT_TAG, v end
    if k == ARR then return LIST_TAG, v end
  end
  return v
end

local CONTEXT_FIELDS = { "point", "data", "metadata", "language", "correlation_id", "timestamp_ns", "operation", "distributed" }

local function ctx_field(c, k)
  local v = c.fields[k]
  if v == nil then return nil end
  return value_of(v)
end

local function lookup(src, k)
  if src[KIND] == CTX then return ctx_field(src, k) end
  local v = src.map[k]
  if v == nil then return nil end
  return value_of(v)
end

-- (next offset or 0, items...) in chunks, as convert.lua's materialize expects.
local function items(src, offset)
  local out, n = { 0 }, 1
  local kind = src[KIND]
  if kind == CTX or kind == OBJ then
    local keys = kind == CTX and CONTEXT_FIELDS or src.keys
    local map = kind == CTX and src.fields or src.map
    local stop = math.min(#keys, offset + CHUNK)
    for i = offset + 1, stop do
      local key = keys[i]
      local v = map[key]
      if v ~= nil then
        local a, b = value_of(v)
        out[n + 1], out[n + 2] = key, a
        n = n + 2
        if b ~= nil then n = n + 1; out[n] = b end
      end
    end
    if stop < #keys then out[1] = stop end
  else
    local stop = math.min(src.n, offset + CHUNK)
    for i = offset + 1, stop do
      local a, b = value_of(src[i])
      n = n + 1; out[n] = a
      if b ~= nil then n = n + 1; out[n] = b end
    end
    if stop < src.n then out[1] = stop end
  end
  return unpack(out, 1, n)
end

local convert = trusted_chunk(opts.lua_dir .. "/convert.lua", "convert.lua")({
  NULL = NULL, ARRAY_MT = internal.ARRAY_MT, OBJECT_MT = internal.OBJECT_MT,
  DICT_TAG = DICT_TAG, LIST_TAG = LIST_TAG, ERR_TAG = ERR_TAG,
  py_lookup = lookup, py_items = items, py_context_field = ctx_field,
  setmetatable = debug.setmetatable, getmetatable = debug.getmetatable,
})

-- Time: with --virtual-clock, hooks read the executor's virtual time (sent with each call) plus
-- whatever they advanced it by; otherwise the system clock. The runaway guard reads CPU time.
local clock_base_ns, clock_advanced_ns = 0, 0
local function now_ns()
  if opts.virtual then return clock_base_ns + clock_advanced_ns end
  return os.time() * NS
end

local publish -- defined below, once the JSON and frame helpers exist

local api = trusted_chunk(opts.lua_dir .. "/sandbox.lua", "sandbox.lua")({
  convert = convert,
  sdk = sdk,
  now = os.clock,
  clock_wall = function() return now_ns() // NS end,
  clock_mono = function() return now_ns() / NS end,
  py_print = function(text) log("print: %s", text) end,
  -- The file `rel` (a path sandbox.lua built from a module name) inside `dir`, or nil.
  read_source = function(dir, rel) return (read_all(dir .. "/" .. rel)) end,
  publish = function(...) return publish(...) end,
  subscribe = function() return false, "hookwire.subscribe: the Lua worker process has no event bus" end,
  check_every = opts.check_every,
})

if opts.virtual then
  -- For conformance behaviours and tests: the hook "takes" ms of virtual time; reported to the
  -- executor as the call's clock_advance.
  api.expose("advance_clock_ms", function(ms)
    if type(ms) ~= "number" or ms ~= ms or ms < 0 or ms == math.huge then
      return false, "advance_clock_ms: ms must be a non-negative finite number, got " .. tostring(ms)
    end
    clock_advanced_ns = clock_advanced_ns + math.floor(ms * 1000000 + 0.5)
    return true, nil
  end)
end

-- JSON: proto <-> compact form <-> tokens ---------------------------------------------------------

local json_from_proto

local function object_from_proto(o)
  local map, keys = {}, {}
  if o ~= nil and o.fields ~= nil then
    for k, v in pairs(o.fields) do
      keys[#keys + 1] = k
      map[k] = json_from_proto(v)
    end
  end
  table.sort(keys)
  return { [KIND] = OBJ, map = map, keys = keys }
end

json_from_proto = function(v)
  if v == nil then return NULL end
  local which = jsonpb.JsonValue.which_kind(v)
  if which == "null_value" or which == nil then return NULL
  elseif which == "bool_value" then return v.bool_value
  elseif which == "int_value" then return v.int_value
  elseif which == "double_value" then return v.double_value
  elseif which == "string_value" then return v.string_value
  elseif which == "number_text" then return tonumber(v.number_text) or v.number_text
  elseif which == "array_value" then
    local arr = { [KIND] = ARR, n = 0 }
    local values = v.array_value.values or {}
    for i = 1, #values do arr[i] = json_from_proto(values[i]) end
    arr.n = #values
    return arr
  end
  return object_from_proto(v.object_value)
end

local json_to_proto

local function compact_to_proto(v)
  if v == NULL then return { null_value = 0 } end
  local t = type(v)
  if t == "boolean" then return { bool_value = v } end
  if t == "string" then return { string_value = v } end
  if t == "number" then
    if mtype(v) == "integer" then return { int_value = v } end
    return { double_value = v }
  end
  if v[KIND] == ARR then
    local values = {}
    for i = 1, v.n do values[i] = compact_to_proto(v[i]) end
    return { array_value = { values = values } }
  end
  local fields = {}
  for k, item in pairs(v.map) do fields[k] = compact_to_proto(item) end
  return { object_value = { fields = fields } }
end

-- Rebuild a JsonValue from convert.lua's token list (see the comment at its top); returns the
-- value and the next position.
json_to_proto = function(T, i)
  local tok = T[i]
  if tok ~= nil then
    local t = type(tok)
    if t == "string" then return { string_value = tok }, i + 1 end
    if t == "boolean" then return { bool_value = tok }, i + 1 end
    if mtype(tok) == "integer" then return { int_value = tok }, i + 1 end
    return { double_value = tok }, i + 1
  end
  local code = T[i + 1]
  if code == 0 then return { null_value = 0 }, i + 2 end
  if code == 3 then return compact_to_proto(T[i + 2]), i + 3 end
  local count = T[i + 2]
  i = i + 3
  if code == 1 then
    local fields = {}
    for _ = 1, count do
      local k = T[i]
      fields[k], i = json_to_proto(T, i + 1)
    end
    return { object_value = { fields = fields } }, i
  end
  local values = {}
  for j = 1, count do values[j], i = json_to_proto(T, i) end
  return { array_value = { values = values } }, i
end

local function context_from_proto(c)
  local fields = {}
  local point = POINT_NAME[c.point]
  if c.point == POINT_VALUE.custom then point = "custom:" .. c.custom_point end
  fields.point = point
  fields.data = object_from_proto(c.data)
  local md = { [KIND] = OBJ, map = {}, keys = {} }
  for k, v in pairs(c.metadata or {}) do md.map[k] = v; md.keys[#md.keys + 1] = k end
  table.sort(md.keys)
  fields.metadata = md
  -- As the embedded runtime shows them: unset language "", unset timestamp 0.
  fields.language = LANGUAGE_NAME[c.language] or ""
  fields.correlation_id = c.correlation_id
  fields.timestamp_ns = 0
  if c.timestamp ~= nil then
    fields.timestamp_ns = (c.timestamp.seconds or 0) * NS + (c.timestamp.nanos or 0)
  end
  if c.operation ~= nil then
    local op = c.operation
    local o = { [KIND] = OBJ, map = { type = op.type, id = op.id }, keys = { "id", "type" } }
    if op.parameters ~= nil then o.map.parameters = json_from_proto(op.parameters) end
    if op.result ~= nil then o.map.result = json_from_proto(op.result) end
    if op.error ~= nil then
      o.map.error = { [KIND] = OBJ, map = { code = op.error.code, message = op.error.message }, keys = { "code", "message" } }
    end
    for _, k in ipairs({ "error", "parameters", "result" }) do
      if o.map[k] ~= nil then o.keys[#o.keys + 1] = k end
    end
    fields.operation = o
  end
  if c.distributed ~= nil then
    -- As the embedded runtime shows it: the propagation flags flat, the W3C trace context.
    local d, p = c.distributed, c.distributed.propagation or {}
    local tc = d.trace_context or {}
    local map = {
      remote_agent_id = d.remote_agent_id or "",
      propagate_to_remote = p.propagate_to_remote or false,
      propagate_events = p.propagate_events or false,
      propagate_baggage = p.propagate_baggage or false,
      traceparent = tc.traceparent or "",
      tracestate = tc.tracestate or "",
    }
    local keys = {}
    for k in pairs(map) do keys[#keys + 1] = k end
    table.sort(keys)
    fields.distributed = { [KIND] = OBJ, map = map, keys = keys }
  end
  return { [KIND] = CTX, fields = fields }, fields.data
end

-- hookwire.runtime.limits.MAX_DURATION_MS (tests/hostile/test_limits.py pins this copy).
local MAX_DURATION_MS = 86400000

-- Milliseconds from a result table (hook code may have changed it after the helper checked it).
local function duration(ms, field)
  if type(ms) ~= "number" or not (ms >= 0 and ms <= MAX_DURATION_MS) then
    error(string.format("%s: must be a number of milliseconds in [0, %d], got %s", field,
      MAX_DURATION_MS, tostring(ms)), 0)
  end
  local ns = math.floor(ms * 1000000 + 0.5)
  return { seconds = ns // NS, nanos = ns % NS }
end

-- The tokens a sandbox call returned after its count: inline, or one table for large values.
local function tokens(n, ...)
  if select("#", ...) == n then return { ... } end
  return (...)
end

-- Result strings must be UTF-8 (as the embedded adapter checks; the codec would refuse them).
local function text(v, field)
  if type(v) ~= "string" or utf8.len(v) == nil then
    error(field .. ": must be a UTF-8 string", 0)
  end
  return v
end

local function result_from(kind, ...)
  if kind == "continue" then return { ["continue"] = {} } end
  if kind == "cancel" then return { cancel = { reason = text((...), "cancel.reason") } } end
  if kind == "skipped" then return { skipped = { reason = text((...), "skipped.reason") } } end
  if kind == "redirect" then return { redirect = { target = text((...), "redirect.target") } } end
  if kind == "retry" then
    local delay_ms, attempts = ...
    return { retry = { delay = duration(delay_ms, "retry.delay_ms"), max_attempts = attempts } }
  end
  if kind == "cache" then
    local key, ttl_ms = ...
    return { cache = { key = text(key, "cache.key"), ttl = duration(ttl_ms, "cache.ttl_ms") } }
  end
  local value = json_to_proto(tokens(...), 1)
  if kind == "modified" then return { modified = { data = value.object_value } } end
  if kind == "replace" then return { replace = { value = value } } end
  if kind == "fork" then
    local ops = {}
    for i, item in ipairs(value.array_value.values) do
      local f = item.object_value.fields
      ops[i] = { operation = f.operation.string_value, parameters = f.parameters.object_value }
    end
    return { fork = { operations = ops } }
  end
  return nil, fmt("unknown result kind %q", tostring(kind))
end

-- Messages cross as proto strings, which must be UTF-8: each invalid byte becomes U+FFFD
-- (as the embedded adapter decodes them with errors="replace").
local function utf8_clean(s)
  s = api.clip(tostring(s))
  local ok, bad = utf8.len(s)
  while ok == nil do
    s = s:sub(1, bad - 1) .. "\u{FFFD}" .. s:sub(bad + 1)
    ok, bad = utf8.len(s, bad + 3) -- U+FFFD takes 3 bytes
  end
  return s
end

-- hookwire.publish inside a hook: the event goes to the executor as a
-- WorkerMessage.sequenced_publish frame on stdout, written at once, so it precedes the call's
-- result on the stream and the executor gives it its sequence before it applies the result.
-- Its time is the hook's time (with --virtual-clock: the call's virtual time plus what the hook
-- advanced so far). The hook waits for the PublishAck: hookwire.publish returns the sequence,
-- as embedded, and a refusal by the bus is a Lua error in the hook. (An executor whose welcome
-- did not offer publish_acks gets a fire-and-forget WorkerMessage.publish; publish returns nil.)
local function valid_type(t)
  if type(t) ~= "string" or t == "" or #t > 256 then return false end
  for token in (t .. "."):gmatch("(.-)%.") do
    if not token:match("^[A-Za-z0-9_%-]+$") then return false end
  end
  return true
end

-- Whether the executor answers sequenced publishes (its welcome says so), and their count.
local publish_acks, publish_requests = false, 0

-- The HookCall being served: its events carry the execution's correlation id, the hook call
-- as causation id ("<point>/<hook name>") and the context's trace context (hook_call.py).
local current_call = nil

local function point_of(c)
  if c.point == POINT_VALUE.custom then return "custom:" .. (c.custom_point or "") end
  return POINT_NAME[c.point] or ""
end

publish = function(event_type, n, ...)
  if not valid_type(event_type) then
    return false, fmt("hookwire.publish: invalid event type %q: expected dot-separated tokens " ..
      "of [A-Za-z0-9_-]+", utf8_clean(event_type))
  end
  local value = nil -- n == 0: no payload
  if n > 0 then
    local fine
    fine, value = pcall(json_to_proto, tokens(n, ...), 1)
    if not fine then return false, "hookwire.publish: payload: " .. utf8_clean(value) end
  end
  local t = now_ns()
  local event = {
    type = event_type, payload = value, source_language = "LANGUAGE_LUA",
    time = { seconds = t // NS, nanos = t % NS },
  }
  if current_call ~= nil then
    local ctx = current_call.context or {}
    event.correlation_id = ctx.correlation_id
    event.causation_id = point_of(ctx) .. "/" .. current_call.hook_name
    local tc = ctx.distributed and ctx.distributed.trace_context
    if tc ~= nil then
      event.trace_context = { traceparent = tc.traceparent, tracestate = tc.tracestate }
    end
  end
  if not publish_acks then
    local sent, err = pcall(send, { publish = { events = { event } } })
    if not sent then return false, "hookwire.publish: " .. utf8_clean(err) end
    return true, nil
  end
  publish_requests = publish_requests + 1
  local id = publish_requests
  local sent, err = pcall(send, { sequenced_publish = { request_id = id, events = { event } } })
  if not sent then return false, "hookwire.publish: " .. utf8_clean(err) end
  while true do
    local m = read_message()
    if m == nil then os.exit(0) end -- the executor closed the stream
    local ack = m.publish_ack
    if ack ~= nil and ack.request_id == id then
      if (ack.error or "") ~= "" then return false, "hookwire.publish: " .. ack.error end
      return true, (ack.sequences or {})[1]
    end
    inbox[#inbox + 1] = m
  end
end

-- Map a sandbox invoke's answer (codes of hookwire/runtime/lua/adapter.py) to a
-- HookCallResult outcome.
local function outcome(code, ...)
  if code == nil or code == 0 then return { result = { ["continue"] = {} } } end
  if code == 1 then
    local ok, r, err = pcall(result_from, ...)
    if not ok then return { error = { message = utf8_clean(r), invalid_result = true } } end
    if r == nil then return { error = { message = err, invalid_result = true } } end
    return { result = r }
  end
  if code == 2 then return { error = { message = utf8_clean((...)) } } end
  if code == 3 then return { error = { type = "hookwire.Timeout", message = "timeout" } } end
  if code == 4 then return { error = { message = "Lua worker out of memory" } } end
  return { error = { message = utf8_clean((...)), invalid_result = true } }
end

-- Loading -----------------------------------------------------------------------------------------

local hooks = {}       -- name -> Lua function
local registrations = {}

local function registration(reg, file)
  local o = reg.opts
  local name = o.name or reg.where or file
  if hooks[name] ~= nil then die(3, "%s: a hook named '%s' is already registered", reg.where or file, name) end
  local point, custom = POINT_VALUE[reg.point], ""
  if reg.point:sub(1, 7) == "custom:" then point, custom = POINT_VALUE.custom, reg.point:sub(8) end
  if point == nil then die(3, "%s: unknown point %q", reg.where or file, reg.point) end
  local r = {
    name = name, point = point, custom_point = custom, priority = o.priority or 0,
    language = "LANGUAGE_LUA", tags = o.tags or {}, feature = o.feature or "",
    failure_policy = o.failure_policy == "fail_closed" and "FAILURE_POLICY_FAIL_CLOSED" or "FAILURE_POLICY_FAIL_OPEN",
  }
  if o.timeout_ms ~= nil then r.timeout = duration(o.timeout_ms, "timeout_ms") end
  if o.enabled ~= nil then r.enabled = o.enabled end
  hooks[name] = reg.fn
  registrations[#registrations + 1] = r
end

local function load_hook_file(path)
  local code, err = read_all(path)
  if code == nil then die(3, "cannot read hook file %s: %s", path, err) end
  local dir = path:match("^(.*)/[^/]*$") or "."
  local chunkname = path:match("([^/]*)$")
  local r = pack_values(api.load_file(code, chunkname, dir, os.clock() + 5.0))
  if r[1] ~= 1 then
    local why = r[1] == 3 and "timeout while loading" or r[1] == 4 and "out of memory while loading" or tostring(r[2])
    die(3, "hook file %s does not load: %s", path, why)
  end
  for _, reg in ipairs(r[2]) do registration(reg, chunkname) end
end

-- Main loop ---------------------------------------------------------------------------------------

send({ hello = { worker_id = opts.worker_id, language = "LANGUAGE_LUA", sdk = VERSION, virtual_clock = opts.virtual } })
local welcome = receive()
if welcome == nil then os.exit(0) end
if welcome.welcome == nil then die(4, "protocol error: expected welcome, got %s", es.ExecutorMessage.which_message(welcome) or "nothing") end
publish_acks = welcome.welcome.publish_acks == true

for _, file in ipairs(opts.files) do load_hook_file(file) end
send({ register = { hooks = registrations, request_id = 1 } })

local function call(c)
  local fn = hooks[c.hook_name]
  local id = c.call_id
  if fn == nil then
    return { call_id = id, error = { type = "hookwire.NotFound", message = fmt("no hook named '%s' in this worker", c.hook_name) } }
  end
  clock_base_ns, clock_advanced_ns = c.clock_now_unix_nanos or 0, 0
  local timeout_s = 0.1
  if c.timeout ~= nil then timeout_s = (c.timeout.seconds or 0) + (c.timeout.nanos or 0) / NS end
  local hctx, data = context_from_proto(c.context or {})
  current_call = c
  local answer = outcome(api.invoke(fn, os.clock() + timeout_s, data, hctx))
  current_call = nil
  answer.call_id = id
  if opts.virtual then answer.clock_advance = { seconds = clock_advanced_ns // NS, nanos = clock_advanced_ns % NS } end
  return answer
end

while true do
  local m = receive()
  if m == nil then os.exit(0) end
  local which = es.ExecutorMessage.which_message(m)
  if which == "call" then
    local ok, answer = pcall(call, m.call)
    current_call = nil
    if not ok then
      api.recover() -- the error escaped the sandbox's protected call: end its run
      answer = { call_id = m.call.call_id, error = { type = "hookwire.WorkerError", message = utf8_clean(answer) } }
    end
    local sent, err = pcall(send, { result = answer })
    if not sent then
      -- A value the codec refuses (it checks every field): report it, do not die.
      send({ result = { call_id = m.call.call_id, error = { message = "result cannot be encoded: " .. utf8_clean(err), invalid_result = true } } })
    end
  elseif which == "register_ack" then
    if m.register_ack.error ~= "" then die(5, "registration refused: %s", m.register_ack.error) end
  elseif which == "cancel" then
    -- Calls run one at a time, so a cancelled call has already been answered; nothing to stop.
  else
    die(4, "protocol error: unexpected ExecutorMessage %s", tostring(which))
  end
end
