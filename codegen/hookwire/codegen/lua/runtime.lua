-- hookwire.pb: the runtime shared by the Lua modules protoc-gen-hwlua generates.
--
-- Emitted verbatim by the plugin (source: codegen/hookwire/codegen/lua/runtime.lua), so that
-- generated/lua holds only generator output. Pure Lua 5.4: wire primitives (varint, zigzag,
-- fixed, length-delimited) for the generated encoders and decoders, message classes and their
-- checking constructors, and the proto3 JSON mapping (a small JSON reader and writer included).
--
-- Every error is raised as a plain string (level 0, no "file:line:" prefix) that starts with
-- the message's full name and, where there is one, the field: "hookwire.v1.X.field: problem".

local pb = {}

local byte, char, sub, find, format, rep = string.byte, string.char, string.sub, string.find,
  string.format, string.rep
local pack, unpack = string.pack, string.unpack
local concat, sort = table.concat, table.sort
local mtype, tointeger, floor, huge = math.type, math.tointeger, math.floor, math.huge
local utf8len, utf8char = utf8.len, utf8.char
local type, pairs, ipairs, setmetatable, getmetatable, rawget, rawset, error, tostring, next =
  type, pairs, ipairs, setmetatable, getmetatable, rawget, rawset, error, tostring, next

-- Messages nested deeper than this are refused, counted as upb (Python's protobuf) counts them:
-- the top message is level 0 and every nested message, map entry and group one level more, so
-- 101 messages one inside the other decode and 102 do not. It also turns a cyclic Lua table
-- into a clear error instead of a stack overflow.
pb.MAX_DEPTH = 100
local MAX_DEPTH = pb.MAX_DEPTH

local INT32_MIN, INT32_MAX, UINT32_MAX = -0x80000000, 0x7fffffff, 0xffffffff

local function fail(msg, ...)
  error(format(msg, ...), 0)
end
pb.fail = fail

-- How a Lua value is described in "expected X, got Y" messages.
local function describe(v)
  local t = mtype(v)
  if t then
    return t == "integer" and "integer " .. tostring(v) or "float " .. tostring(v)
  end
  t = type(v)
  if t == "string" then
    if #v > 20 then
      return "string"
    end
    return format("string %q", v)
  end
  return t
end
pb.describe = describe

---------------------------------------------------------------------------------------------
-- Wire primitives
---------------------------------------------------------------------------------------------

-- One-byte strings for the values below 256; varints below 128 are these bytes.
local CHR = {}
for v = 0, 255 do
  CHR[v] = char(v)
end
pb.CHR = CHR

-- Unsigned LEB128 of the 64-bit pattern of v (negative integers take 10 bytes).
local function varint(v)
  if v >= 0 then
    if v < 0x80 then
      return CHR[v]
    elseif v < 0x4000 then
      return char(v & 0x7f | 0x80, v >> 7)
    elseif v < 0x200000 then
      return char(v & 0x7f | 0x80, (v >> 7) & 0x7f | 0x80, v >> 14)
    elseif v < 0x10000000 then
      return char(v & 0x7f | 0x80, (v >> 7) & 0x7f | 0x80, (v >> 14) & 0x7f | 0x80, v >> 21)
    end
  end
  local t, k = {}, 0
  repeat
    k = k + 1
    local b = v & 0x7f
    v = v >> 7 -- logical shift: the sign bit moves down like any other
    t[k] = v ~= 0 and b | 0x80 or b
  until v == 0
  return char(table.unpack(t, 1, k))
end
pb.varint = varint

function pb.zigzag(v)
  return (v << 1) ~ -(v >> 63)
end

function pb.unzigzag(z)
  return (z >> 1) ~ -(z & 1)
end

-- Reads a varint at pos (no byte at or after e + 1 belongs to it); returns value, next pos.
local function rvarint(s, pos, e, name)
  local v, shift = 0, 0
  for _ = 1, 10 do
    if pos > e then
      fail("%s: truncated varint at byte %d", name, pos)
    end
    local b = byte(s, pos)
    pos = pos + 1
    v = v | ((b & 0x7f) << shift)
    if b < 0x80 then
      return v, pos
    end
    shift = shift + 7
  end
  fail("%s: varint longer than 10 bytes at byte %d", name, pos - 10)
end
pb.rvarint = rvarint

-- Reads a tag or a length at pos: at most 5 bytes and below 2^32, as upb reads them (a longer
-- encoding is refused, never truncated); returns value, next pos.
local function rvarint32(s, pos, e, name)
  local v, shift = 0, 0
  for i = 1, 5 do
    if pos > e then
      fail("%s: truncated varint at byte %d", name, pos)
    end
    local b = byte(s, pos)
    pos = pos + 1
    if i == 5 and b > 0x0f then
      fail("%s: tag or length varint overflows uint32 at byte %d", name, pos - 5)
    end
    v = v | ((b & 0x7f) << shift)
    if b < 0x80 then
      return v, pos
    end
    shift = shift + 7
  end
end
pb.rvarint32 = rvarint32

-- Reads a length prefix at pos; returns the first and the last byte of the payload.
local function rlen(s, pos, e, name, field)
  local l
  local b = pos <= e and byte(s, pos)
  if b and b < 0x80 then
    l, pos = b, pos + 1
  else
    l, pos = rvarint32(s, pos, e, name)
  end
  local left = e - pos + 1
  if l < 0 or l > left then
    fail("%s.%s: length %s beyond the buffer (%d bytes left)", name, field, format("%u", l), left)
  end
  return pos, pos + l - 1
end
pb.rlen = rlen

function pb.need(pos, k, e, name, field)
  if pos + k - 1 > e then
    fail("%s.%s: truncated (%d-byte value at byte %d, %d bytes left)", name, field, k, pos,
      e - pos + 1)
  end
end

function pb.bad_utf8(name, field)
  fail("%s.%s: invalid UTF-8 in string field", name, field)
end

function pb.too_deep(name)
  fail("%s: nesting deeper than %d messages (a cyclic table?)", name, MAX_DEPTH)
end

local WIRE_NAMES = { [0] = "varint", "fixed64", "length-delimited", "start-group", "end-group",
  "fixed32", "invalid (6)", "invalid (7)" }

-- Skips an unknown field whose tag t was just read; a known field number with a wire type
-- its field cannot have is an error. Returns the next pos.
local function skip(s, pos, e, t, name, known, depth)
  local num, wt = t >> 3, t & 7
  if num == 0 or num > 0x1fffffff then
    fail("%s: invalid field number %s at byte %d", name, format("%u", num), pos)
  end
  if known and known[num] then
    fail("%s: wrong wire type %d (%s) for field %d (%s)", name, wt, WIRE_NAMES[wt], num,
      known[num])
  end
  if wt == 0 then
    local _
    _, pos = rvarint(s, pos, e, name)
    return pos
  elseif wt == 1 then
    pb.need(pos, 8, e, name, "<field " .. num .. ">")
    return pos + 8
  elseif wt == 2 then
    local _, q = rlen(s, pos, e, name, "<field " .. num .. ">")
    return q + 1
  elseif wt == 5 then
    pb.need(pos, 4, e, name, "<field " .. num .. ">")
    return pos + 4
  elseif wt == 3 then
    -- depth: the level of the message (or group) holding this group
    depth = (depth or 0) + 1
    if depth > MAX_DEPTH then
      pb.too_deep(name)
    end
    while true do
      if pos > e then
        fail("%s: truncated group (field %d)", name, num)
      end
      local t2
      t2, pos = rvarint32(s, pos, e, name)
      if t2 & 7 == 4 then
        if t2 >> 3 ~= num then
          fail("%s: end-group for field %d closes group %d", name, t2 >> 3, num)
        end
        return pos
      end
      pos = skip(s, pos, e, t2, name, nil, depth)
    end
  elseif wt == 4 then
    fail("%s: unexpected end-group for field %d at byte %d", name, num, pos)
  end
  fail("%s: invalid wire type %d for field %d at byte %d", name, wt, num, pos)
end
pb.skip = skip

-- Field names of a map entry, for skip's wrong-wire-type message.
pb.ENTRY_FIELDS = { "key", "value" }

---------------------------------------------------------------------------------------------
-- Value checks used by the encoders (the slow path only: the generated code tests the common
-- case inline and calls these to convert or to raise)
---------------------------------------------------------------------------------------------

local function type_error(name, field, expected, v)
  fail("%s.%s: expected %s, got %s", name, field, expected, describe(v))
end
pb.type_error = type_error

-- Integral floats (3.0) are accepted for integer fields; anything else is an error.
local function as_integer(v, lo, hi, name, field, expected)
  local i = type(v) == "number" and tointeger(v) or nil -- tointeger would also take "5"
  if i == nil or (lo and (i < lo or i > hi)) then
    type_error(name, field, expected, v)
  end
  return i
end

function pb.int32(v, name, field)
  return as_integer(v, INT32_MIN, INT32_MAX, name, field, "int32")
end

function pb.uint32(v, name, field)
  return as_integer(v, 0, UINT32_MAX, name, field, "uint32")
end

function pb.int64(v, name, field)
  return as_integer(v, nil, nil, name, field, "integer")
end

function pb.double(v, name, field)
  if type(v) ~= "number" then
    type_error(name, field, "number", v)
  end
  return v * 1.0
end

-- Enum values are integers (names are accepted and converted).
function pb.enum_value(v, enum, name, field)
  if type(v) == "string" then
    local n = enum[v]
    if type(n) ~= "number" then
      fail("%s.%s: unknown %s value %q", name, field, getmetatable(enum).__name, v)
    end
    return n
  end
  return as_integer(v, INT32_MIN, INT32_MAX, name, field, "enum name or int32")
end

function pb.string(v, name, field)
  if type(v) ~= "string" then
    type_error(name, field, "string", v)
  end
  if not utf8len(v) then
    pb.bad_utf8(name, field)
  end
  return v
end

function pb.oneof_twice(name, oneof, first, second)
  fail("%s: oneof '%s' has both '%s' and '%s' set", name, oneof, first, second)
end

-- Map entries are written in the order protobuf's own deterministic serialization (upb, as
-- used by Python) gives, so that bytes match: integer keys in descending unsigned order, true
-- before false, strings by bytes except that a key sorts after the keys it is a prefix of.
local function str_key_lt(a, b)
  local la, lb = #a, #b
  for i = 1, la < lb and la or lb do
    local x, y = byte(a, i), byte(b, i)
    if x ~= y then
      return x < y
    end
  end
  return la > lb
end

-- The fast way: valid UTF-8 never holds byte 0xFF, so with "\255" appended to every key the
-- plain string order is the order above. Plain `<` is strcoll, bytewise only in the C collation
-- locale; the slow comparator is used if the host program changed that.
local BYTEWISE = ("\255" > "z") and ("B" < "a") and ("a\255" > "ab\255") and ("Z" < "a")

local function sort_strings(keys, k)
  if not BYTEWISE then
    sort(keys, str_key_lt)
    return
  end
  sort(keys)
  -- the plain order is already right unless a key is a prefix of the next one
  for i = 1, k - 1 do
    local a, b = keys[i], keys[i + 1]
    if #a < #b and sub(b, 1, #a) == a then
      for j = 1, k do
        keys[j] = keys[j] .. "\255"
      end
      sort(keys)
      for j = 1, k do
        local key = keys[j]
        keys[j] = sub(key, 1, #key - 1)
      end
      return
    end
  end
end

pb.str_key_lt = str_key_lt -- exposed for tests: the order without the strcoll shortcut

local function int_key_lt(a, b)
  return math.ult(b, a)
end

local function sorted_keys(t, kkind, name, field)
  local keys, k = {}, 0
  if kkind == "string" then -- the common case, without the per-key kind tests below
    for key in next, t do
      if type(key) ~= "string" then
        fail("%s.%s: map key must be string, got %s", name, field, describe(key))
      end
      k = k + 1
      keys[k] = key
    end
    if k > 1 then
      sort_strings(keys, k)
    end
    return keys, k
  end
  local want = kkind == "string" and "string" or kkind == "bool" and "boolean" or "number"
  for key in pairs(t) do
    if type(key) ~= want or (want == "number" and mtype(key) ~= "integer") then
      fail("%s.%s: map key must be %s, got %s", name, field, kkind, describe(key))
    end
    k = k + 1
    keys[k] = key
  end
  if k > 1 then
    if want == "boolean" then
      keys = { true, false }
    else
      if want == "string" then
        sort_strings(keys, k)
      else
        sort(keys, int_key_lt)
      end
    end
  end
  return keys, k
end
pb.sorted_keys = sorted_keys

---------------------------------------------------------------------------------------------
-- Enums and message classes
---------------------------------------------------------------------------------------------

local registry = {} -- full name -> message class or enum table
pb.registry = registry

-- An enum table maps names to numbers and numbers to names (the first name of an alias).
function pb.enum(full_name, values)
  local t = {}
  for _, nv in ipairs(values) do
    t[nv[1]] = nv[2]
    if t[nv[2]] == nil then
      t[nv[2]] = nv[1]
    end
  end
  setmetatable(t, { __name = full_name })
  registry[full_name] = t
  return t
end

local SCALAR_DEFAULTS = {
  double = 0.0, float = 0.0, int32 = 0, int64 = 0, uint32 = 0, uint64 = 0, sint32 = 0,
  sint64 = 0, fixed32 = 0, fixed64 = 0, sfixed32 = 0, sfixed64 = 0, bool = false,
  string = "", bytes = "", enum = 0,
}
pb.SCALAR_DEFAULTS = SCALAR_DEFAULTS

local function resolve(f)
  local c = f.class
  if c == nil then
    c = registry[f.type]
    f.class = c
  end
  return c
end

local function class_of(desc)
  return registry[desc.name]
end

-- Creates the class for a message descriptor:
--   desc = { name = "pkg.Msg", fields = { {name=, json=, number=, kind=, label=, type=,
--            oneof=, key=, packed=}, ... }, oneofs = { {name=, fields={...}}, ... } }
-- label is "single", "optional" (proto3 optional), "repeated" or "map" (key = key kind,
-- kind/type = the value's). Instances are plain tables with the class's metatable: unset
-- singular scalars read as their default, and assigning an unknown field raises.
function pb.message(desc)
  local cls = { _desc = desc }
  local defaults, by_name, by_json = {}, {}, {}
  for _, f in ipairs(desc.fields) do
    by_name[f.name] = f
    by_json[f.json] = f
    by_json[f.name] = f
    if f.label == "single" and f.oneof == nil and f.kind ~= "message" then
      defaults[f.name] = SCALAR_DEFAULTS[f.kind]
    end
  end
  desc.by_name, desc.by_json = by_name, by_json
  local name = desc.name
  cls._mt = {
    __name = name,
    __index = defaults,
    __newindex = function(t, k, v)
      if by_name[k] == nil then
        fail("%s: unknown field %s", name, format(type(k) == "string" and "'%s'" or "%s",
          tostring(k)))
      end
      rawset(t, k, v)
    end,
  }
  for _, o in ipairs(desc.oneofs or {}) do
    local members = o.fields
    -- which_<oneof>(msg): the name of the member that is set, or nil.
    cls["which_" .. o.name] = function(m)
      for k = 1, #members do
        if rawget(m, members[k]) ~= nil then
          return members[k]
        end
      end
      return nil
    end
  end
  cls.new = function(t)
    return pb.construct(cls, t == nil and {} or t)
  end
  cls.to_json = function(m)
    return pb.to_json(cls, m)
  end
  cls.from_json = function(s)
    return pb.from_json(cls, s)
  end
  registry[name] = cls
  return cls
end

-- Installs the generated binary codec on a class: enc(msg, buf, i, n, depth) -> i, n appends
-- pieces to buf (i pieces, n bytes so far); dec(s, pos, e, msg_or_nil, depth) -> msg.
local buffer = {}

function pb.codec(cls, enc, dec)
  local name = cls._desc.name
  cls._enc, cls._dec = enc, dec
  cls.encode = function(m)
    if type(m) ~= "table" then
      fail("%s.encode: expected a table, got %s", name, describe(m))
    end
    -- one buffer reused by every call (encoding never yields or calls back into Lua code that
    -- could encode); pieces past i are stale and ignored
    local i = enc(m, buffer, 0, 0, 0)
    return concat(buffer, "", 1, i)
  end
  cls.decode = function(s)
    if type(s) ~= "string" then
      fail("%s.decode: expected a string of bytes, got %s", name, describe(s))
    end
    return (dec(s, 1, #s, nil, 0))
  end
end

---------------------------------------------------------------------------------------------
-- Checking constructors: validate a plain table in place (recursively), convert enum names and
-- integral floats, fill empty repeated/map fields, and set the metatables.
---------------------------------------------------------------------------------------------

local check_message

local function check_scalar(f, v, path)
  local k = f.kind
  if k == "string" then
    if type(v) ~= "string" then
      fail("%s: expected string, got %s", path, describe(v))
    end
    if not utf8len(v) then
      fail("%s: invalid UTF-8 in string field", path)
    end
    return v
  elseif k == "bytes" then
    if type(v) ~= "string" then
      fail("%s: expected bytes (a string), got %s", path, describe(v))
    end
    return v
  elseif k == "bool" then
    if type(v) ~= "boolean" then
      fail("%s: expected boolean, got %s", path, describe(v))
    end
    return v
  elseif k == "double" or k == "float" then
    if type(v) ~= "number" then
      fail("%s: expected number, got %s", path, describe(v))
    end
    return v * 1.0
  elseif k == "enum" then
    local enum = registry[f.type]
    if type(v) == "string" then
      local n = enum[v]
      if type(n) ~= "number" then
        fail("%s: unknown %s value %q", path, f.type, v)
      end
      return n
    end
    local i = type(v) == "number" and tointeger(v) or nil
    if i == nil or i < INT32_MIN or i > INT32_MAX then
      fail("%s: expected %s name or int32, got %s", path, f.type, describe(v))
    end
    return i
  end
  local i = type(v) == "number" and tointeger(v)
  if not i then
    fail("%s: expected %s, got %s", path, k, describe(v))
  end
  if (k == "int32" or k == "sint32" or k == "sfixed32") and (i < INT32_MIN or i > INT32_MAX)
    or (k == "uint32" or k == "fixed32") and (i < 0 or i > UINT32_MAX) then
    fail("%s: %d is out of range for %s", path, i, k)
  end
  return i
end

local function check_value(f, v, path, depth)
  if f.kind == "message" then
    if type(v) ~= "table" then
      fail("%s: expected %s table, got %s", path, f.type, describe(v))
    end
    return check_message(resolve(f), v, path, depth + 1)
  end
  return check_scalar(f, v, path)
end

local KEY_KIND_TYPE = {
  string = "string", bool = "boolean",
}

check_message = function(cls, t, path, depth)
  local desc = cls._desc
  if depth > MAX_DEPTH then
    fail("%s: nesting deeper than %d messages (a cyclic table?)", path, MAX_DEPTH)
  end
  local mt = getmetatable(t)
  if mt ~= nil and mt ~= cls._mt then
    fail("%s: expected %s, got a table of another kind (%s)", path, desc.name,
      tostring(mt.__name or "unknown metatable"))
  end
  local by_name = desc.by_name
  for k in pairs(t) do
    if by_name[k] == nil then
      fail("%s: unknown field %s", path, format(type(k) == "string" and "'%s'" or "%s",
        tostring(k)))
    end
  end
  for _, o in ipairs(desc.oneofs or {}) do
    local set
    for _, member in ipairs(o.fields) do
      if rawget(t, member) ~= nil then
        if set then
          fail("%s: oneof '%s' has both '%s' and '%s' set", path, o.name, set, member)
        end
        set = member
      end
    end
  end
  for _, f in ipairs(desc.fields) do
    local fname = f.name
    local v = rawget(t, fname)
    local fpath = path .. "." .. fname
    if f.label == "repeated" then
      if v == nil then
        v = {}
      elseif type(v) ~= "table" or getmetatable(v) ~= nil then
        fail("%s: expected a list (table), got %s", fpath, describe(v))
      else
        local n = #v
        for key in pairs(v) do
          if mtype(key) ~= "integer" or key < 1 or key > n then
            fail("%s: expected a list, found key %s", fpath, describe(key))
          end
        end
        for k = 1, n do
          v[k] = check_value(f, v[k], format("%s[%d]", fpath, k), depth)
        end
      end
    elseif f.label == "map" then
      if v == nil then
        v = {}
      elseif type(v) ~= "table" or getmetatable(v) ~= nil then
        fail("%s: expected a map (table), got %s", fpath, describe(v))
      else
        local want = KEY_KIND_TYPE[f.key] or "number"
        if depth >= MAX_DEPTH and next(v) ~= nil then -- an entry is one level, as on the wire
          fail("%s: nesting deeper than %d messages (a cyclic table?)", fpath, MAX_DEPTH)
        end
        for key, val in pairs(v) do
          if type(key) ~= want or want == "number" and mtype(key) ~= "integer" then
            fail("%s: map key must be %s, got %s", fpath, f.key, describe(key))
          end
          if f.key == "string" and not utf8len(key) then
            fail("%s: invalid UTF-8 in map key", fpath)
          end
          v[key] = check_value(f, val, format("%s[%s]", fpath, format(want == "string" and "%q"
            or "%s", tostring(key))), depth + 1)
        end
      end
    elseif v ~= nil then
      v = check_value(f, v, fpath, depth)
    end
    rawset(t, fname, v)
  end
  return setmetatable(t, cls._mt)
end

function pb.construct(cls, t)
  if type(t) ~= "table" then
    fail("%s.new: expected a table of fields, got %s", cls._desc.name, describe(t))
  end
  -- levels as the decoder counts them: the top message is 0
  return check_message(cls, t, cls._desc.name, 0)
end

---------------------------------------------------------------------------------------------
-- JSON text: writer pieces and a reader that keeps numbers as their text
---------------------------------------------------------------------------------------------

local ESCAPES = { ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
  ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }
for c = 0, 31 do
  local ch = char(c)
  if ESCAPES[ch] == nil then
    ESCAPES[ch] = format("\\u%04x", c)
  end
end

local function json_string(s)
  return '"' .. s:gsub('[%c"\\]', ESCAPES) .. '"'
end
pb.json_string = json_string

local FLT_MAX = 3.4028234663852886e38

-- Shortest %g text that reads back as the same double (or float, for 32-bit fields).
local function json_number(v, is_float)
  if v ~= v then
    return '"NaN"'
  elseif v == huge then
    return '"Infinity"'
  elseif v == -huge then
    return '"-Infinity"'
  elseif v == 0 then
    return 1 / v < 0 and "-0.0" or "0.0"
  end
  for digits = is_float and 6 or 15, 17 do
    local text = format("%." .. digits .. "g", v)
    local back = tonumber(text)
    if is_float then
      -- also within float range as a double, or protobuf parsers refuse it
      if unpack("<f", pack("<f", back)) == v and math.abs(back) <= FLT_MAX then
        return text
      end
    elseif back == v then
      return text
    end
  end
  return format("%.17g", v)
end

local NULL = setmetatable({}, { __name = "json null" })
local ARRAY = { __name = "json array" }
local OBJECT = { __name = "json object" }
local NUMBER = { __name = "json number" }

local function jfail(s, pos, msg)
  fail("invalid JSON at byte %d: %s", pos, msg)
end

local read_value

local function skip_ws(s, pos)
  return find(s, "[^ \t\r\n]", pos) or #s + 1
end

local function read_string(s, pos) -- pos is at the opening quote
  local parts, k = {}, 0
  local i = pos + 1
  while true do
    local j = find(s, '["\\%c]', i)
    if j == nil then
      jfail(s, pos, "unterminated string")
    end
    if j > i then
      k = k + 1
      parts[k] = sub(s, i, j - 1)
    end
    local c = byte(s, j)
    if c == 34 then -- "
      local str = concat(parts)
      if not utf8len(str) then
        jfail(s, pos, "invalid UTF-8 in string")
      end
      return str, j + 1
    elseif c == 92 then -- backslash
      local e = sub(s, j + 1, j + 1)
      local simple = ({ ['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f",
        n = "\n", r = "\r", t = "\t" })[e]
      if simple then
        k = k + 1
        parts[k] = simple
        i = j + 2
      elseif e == "u" then
        local hex = sub(s, j + 2, j + 5)
        if not find(hex, "^%x%x%x%x$") then
          jfail(s, j, "bad \\u escape")
        end
        local cp = tonumber(hex, 16)
        i = j + 6
        if cp >= 0xD800 and cp <= 0xDBFF then
          local lo = find(s, "^\\u[dD][c-fC-F]%x%x", i) and tonumber(sub(s, i + 2, i + 5), 16)
          if not lo then
            jfail(s, j, "unpaired surrogate")
          end
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00)
          i = i + 6
        elseif cp >= 0xDC00 and cp <= 0xDFFF then
          jfail(s, j, "unpaired surrogate")
        end
        k = k + 1
        parts[k] = utf8char(cp)
      else
        jfail(s, j, "bad escape")
      end
    else
      jfail(s, j, "control character in string")
    end
  end
end

read_value = function(s, pos, depth)
  if depth > MAX_DEPTH then
    jfail(s, pos, "nested deeper than " .. MAX_DEPTH)
  end
  pos = skip_ws(s, pos)
  local c = sub(s, pos, pos)
  if c == "{" then
    local obj = setmetatable({}, OBJECT)
    pos = skip_ws(s, pos + 1)
    if sub(s, pos, pos) == "}" then
      return obj, pos + 1
    end
    while true do
      if sub(s, pos, pos) ~= '"' then
        jfail(s, pos, "expected a member name")
      end
      local key
      key, pos = read_string(s, pos)
      pos = skip_ws(s, pos)
      if sub(s, pos, pos) ~= ":" then
        jfail(s, pos, "expected ':'")
      end
      if rawget(obj, key) ~= nil then
        jfail(s, pos, format("duplicate member %q", key))
      end
      obj[key], pos = read_value(s, pos + 1, depth + 1)
      pos = skip_ws(s, pos)
      c = sub(s, pos, pos)
      if c == "}" then
        return obj, pos + 1
      elseif c ~= "," then
        jfail(s, pos, "expected ',' or '}'")
      end
      pos = skip_ws(s, pos + 1)
    end
  elseif c == "[" then
    local arr, n = setmetatable({}, ARRAY), 0
    pos = skip_ws(s, pos + 1)
    if sub(s, pos, pos) == "]" then
      arr.n = 0
      return arr, pos + 1
    end
    while true do
      n = n + 1
      arr[n], pos = read_value(s, pos, depth + 1)
      pos = skip_ws(s, pos)
      c = sub(s, pos, pos)
      if c == "]" then
        arr.n = n
        return arr, pos + 1
      elseif c ~= "," then
        jfail(s, pos, "expected ',' or ']'")
      end
      pos = pos + 1
    end
  elseif c == '"' then
    return read_string(s, pos)
  elseif find(s, "^true", pos) then
    return true, pos + 4
  elseif find(s, "^false", pos) then
    return false, pos + 5
  elseif find(s, "^null", pos) then
    return NULL, pos + 4
  end
  local a, b = find(s, "^-?%d+%.?%d*[eE]?[-+]?%d*", pos)
  if a then
    local text = sub(s, a, b)
    if not (find(text, "^-?0$") or find(text, "^-?0[.eE]") or find(text, "^-?[1-9]"))
      or not find(text, "^-?%d+%.?%d*$") and not find(text, "^-?%d+%.?%d*[eE][-+]?%d+$")
      or find(text, "%.$") or find(text, "%.[eE]") then
      jfail(s, pos, "malformed number " .. text)
    end
    return setmetatable({ text = text }, NUMBER), b + 1
  end
  if c == "" then
    jfail(s, pos, "unexpected end of input")
  end
  local b = byte(c)
  jfail(s, pos, (b < 32 or b > 126) and format("unexpected byte 0x%02x", b)
    or "unexpected character " .. c)
end

-- Parses JSON text into tables: objects and arrays carry the metatables pb.JSON_OBJECT and
-- pb.JSON_ARRAY, numbers are { text = "..." } with pb.JSON_NUMBER, null is pb.JSON_NULL.
function pb.json_decode(s)
  if type(s) ~= "string" then
    fail("from_json: expected a JSON string, got %s", describe(s))
  end
  local v, pos = read_value(s, 1, 1)
  pos = skip_ws(s, pos)
  if pos <= #s then
    jfail(s, pos, "trailing characters")
  end
  return v
end
pb.JSON_NULL, pb.JSON_ARRAY, pb.JSON_OBJECT, pb.JSON_NUMBER = NULL, ARRAY, OBJECT, NUMBER

---------------------------------------------------------------------------------------------
-- Base64 (standard alphabet with padding out; standard or URL-safe, padded or not, in)
---------------------------------------------------------------------------------------------

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local B64_OUT, B64_IN = {}, {}
for k = 1, 64 do
  B64_OUT[k - 1] = sub(B64, k, k)
  B64_IN[byte(B64, k)] = k - 1
end
B64_IN[byte("-")] = 62
B64_IN[byte("_")] = 63

function pb.base64_encode(s)
  local out, k = {}, 0
  for i = 1, #s, 3 do
    local a, b, c = byte(s, i, i + 2)
    local n = (a << 16) | ((b or 0) << 8) | (c or 0)
    k = k + 1
    out[k] = B64_OUT[n >> 18] .. B64_OUT[(n >> 12) & 63]
      .. (b and B64_OUT[(n >> 6) & 63] or "=") .. (c and B64_OUT[n & 63] or "=")
  end
  return concat(out)
end

function pb.base64_decode(s, path)
  s = s:gsub("=+$", "")
  if #s % 4 == 1 then
    fail("%s: invalid base64 (length)", path)
  end
  local out, k = {}, 0
  local n, bits = 0, 0
  for i = 1, #s do
    local v = B64_IN[byte(s, i)]
    if v == nil then
      fail("%s: invalid base64 character %q", path, sub(s, i, i))
    end
    n = (n << 6) | v
    bits = bits + 6
    if bits >= 8 then
      bits = bits - 8
      k = k + 1
      out[k] = CHR[(n >> bits) & 0xff]
    end
  end
  return concat(out)
end

---------------------------------------------------------------------------------------------
-- Timestamp and Duration (their proto3 JSON forms)
---------------------------------------------------------------------------------------------

local TS_MIN, TS_MAX = -62135596800, 253402300799 -- 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59Z
local DUR_MAX = 315576000000

-- Days since 1970-01-01 of a proleptic Gregorian date, and back (H. Hinnant's algorithms).
local function days_from_civil(y, m, d)
  y = m <= 2 and y - 1 or y
  local era = (y >= 0 and y or y - 399) // 400
  local yoe = y - era * 400
  local doy = (153 * (m + (m > 2 and -3 or 9)) + 2) // 5 + d - 1
  local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
  return era * 146097 + doe - 719468
end

local function civil_from_days(z)
  z = z + 719468
  local era = (z >= 0 and z or z - 146096) // 146097
  local doe = z - era * 146097
  local yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
  local y = yoe + era * 400
  local doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
  local mp = (5 * doy + 2) // 153
  local d = doy - (153 * mp + 2) // 5 + 1
  local m = mp < 10 and mp + 3 or mp - 9
  return m <= 2 and y + 1 or y, m, d
end

local function nanos_text(nanos)
  if nanos == 0 then
    return ""
  elseif nanos % 1000000 == 0 then
    return format(".%03d", nanos // 1000000)
  elseif nanos % 1000 == 0 then
    return format(".%06d", nanos // 1000)
  end
  return format(".%09d", nanos)
end

local function timestamp_to_json(m, path)
  local secs, nanos = m.seconds or 0, m.nanos or 0
  if secs < TS_MIN or secs > TS_MAX or nanos < 0 or nanos > 999999999 then
    fail("%s: Timestamp out of range (seconds %d, nanos %d)", path, secs, nanos)
  end
  local days, rem = secs // 86400, secs % 86400
  local y, mo, d = civil_from_days(days)
  return format('"%04d-%02d-%02dT%02d:%02d:%02d%sZ"', y, mo, d, rem // 3600, rem % 3600 // 60,
    rem % 60, nanos_text(nanos))
end

local function fraction_nanos(frac, path, what)
  if frac == "" then
    return 0
  end
  if #frac > 9 then
    fail("%s: %s has more than 9 fractional digits", path, what)
  end
  return tointeger(frac .. rep("0", 9 - #frac))
end

local function timestamp_from_json(v, path)
  if type(v) ~= "string" then
    fail("%s: expected an RFC 3339 timestamp string, got %s", path, describe(v))
  end
  local y, mo, d, h, mi, sec, frac, zone = v:match(
    "^(%d%d%d%d)%-(%d%d)%-(%d%d)[Tt](%d%d):(%d%d):(%d%d)%.?(%d*)(.*)$")
  if not y or (frac == "" and find(v, "%.%D")) then
    fail("%s: invalid RFC 3339 timestamp %q", path, v)
  end
  y, mo, d, h, mi, sec = tointeger(y), tointeger(mo), tointeger(d), tointeger(h), tointeger(mi),
    tointeger(sec)
  local offset = 0
  if zone == "Z" or zone == "z" then
    offset = 0
  else
    local sign, oh, om = zone:match("^([+-])(%d%d):(%d%d)$")
    if not sign then
      fail("%s: invalid RFC 3339 timestamp %q (time zone)", path, v)
    end
    offset = (tointeger(oh) * 60 + tointeger(om)) * 60
    if sign == "-" then
      offset = -offset
    end
  end
  local mdays = { 31, (y % 4 == 0 and (y % 100 ~= 0 or y % 400 == 0)) and 29 or 28, 31, 30, 31,
    30, 31, 31, 30, 31, 30, 31 }
  if y < 1 or mo < 1 or mo > 12 or d < 1 or d > mdays[mo] or h > 23 or mi > 59 or sec > 59 then
    fail("%s: invalid RFC 3339 timestamp %q (field out of range)", path, v)
  end
  local secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset
  if secs < TS_MIN or secs > TS_MAX then
    fail("%s: timestamp %q out of range", path, v)
  end
  return { seconds = secs, nanos = fraction_nanos(frac, path, "timestamp") }
end

local function duration_to_json(m, path)
  local secs, nanos = m.seconds or 0, m.nanos or 0
  if secs < -DUR_MAX or secs > DUR_MAX or nanos < -999999999 or nanos > 999999999
    or (secs > 0 and nanos < 0) or (secs < 0 and nanos > 0) then
    fail("%s: Duration out of range or signs differ (seconds %d, nanos %d)", path, secs, nanos)
  end
  local sign = (secs < 0 or nanos < 0) and "-" or ""
  if secs < 0 then
    secs = -secs
  end
  if nanos < 0 then
    nanos = -nanos
  end
  return format('"%s%d%ss"', sign, secs, nanos_text(nanos))
end

local function duration_from_json(v, path)
  if type(v) ~= "string" then
    fail("%s: expected a duration string like \"1.5s\", got %s", path, describe(v))
  end
  local sign, secs, frac = v:match("^(%-?)(%d+)%.?(%d*)s$")
  if not sign or (frac == "" and find(v, "%.s$")) then
    fail("%s: invalid duration %q (want e.g. \"1.5s\")", path, v)
  end
  local s = tointeger(secs)
  if s == nil or s > DUR_MAX then
    fail("%s: duration %q out of range", path, v)
  end
  local n = fraction_nanos(frac, path, "duration")
  if sign == "-" then
    s, n = -s, -n
  end
  return { seconds = s, nanos = n }
end

---------------------------------------------------------------------------------------------
-- Proto3 JSON mapping
---------------------------------------------------------------------------------------------

local INT64_KINDS = { int64 = true, sint64 = true, sfixed64 = true }
local UINT64_KINDS = { uint64 = true, fixed64 = true }
local UNSUPPORTED_JSON = {
  ["google.protobuf.Any"] = true, ["google.protobuf.Struct"] = true,
  ["google.protobuf.Value"] = true, ["google.protobuf.ListValue"] = true,
  ["google.protobuf.FieldMask"] = true, ["google.protobuf.DoubleValue"] = true,
  ["google.protobuf.FloatValue"] = true, ["google.protobuf.Int64Value"] = true,
  ["google.protobuf.UInt64Value"] = true, ["google.protobuf.Int32Value"] = true,
  ["google.protobuf.UInt32Value"] = true, ["google.protobuf.BoolValue"] = true,
  ["google.protobuf.StringValue"] = true, ["google.protobuf.BytesValue"] = true,
}

local message_to_json

local function scalar_to_json(f, v, path)
  local k = f.kind
  if k == "string" then
    return json_string(pb.string(v, path, ""))
  elseif k == "bool" then
    return v and "true" or "false"
  elseif k == "bytes" then
    return '"' .. pb.base64_encode(v) .. '"'
  elseif k == "double" or k == "float" then
    return json_number(v, k == "float")
  elseif k == "enum" then
    local name = type(v) == "number" and registry[f.type][v] or nil
    if type(v) == "string" then
      name = v
    end
    return name and '"' .. name .. '"' or format("%d", v)
  elseif INT64_KINDS[k] then
    return format('"%d"', v)
  elseif UINT64_KINDS[k] then
    return format('"%u"', v)
  end
  return format("%d", v)
end

local function value_to_json(f, v, path, depth)
  if f.kind == "message" then
    return message_to_json(resolve(f), v, path, depth + 1)
  end
  return scalar_to_json(f, v, path)
end

local function is_default(f, v)
  local k = f.kind
  if k == "string" or k == "bytes" then
    return v == ""
  elseif k == "bool" then
    return v == false
  end
  return v == 0 and (mtype(v) == "integer" or 1 / v > 0) -- -0.0 is kept, as protobuf does
end

message_to_json = function(cls, m, path, depth)
  local desc = cls._desc
  if depth > MAX_DEPTH then
    fail("%s: nesting deeper than %d messages (a cyclic table?)", path, MAX_DEPTH)
  end
  if type(m) ~= "table" then
    fail("%s: expected %s table, got %s", path, desc.name, describe(m))
  end
  local wkt = desc.name
  if wkt == "google.protobuf.Timestamp" then
    return timestamp_to_json(m, path)
  elseif wkt == "google.protobuf.Duration" then
    return duration_to_json(m, path)
  elseif UNSUPPORTED_JSON[wkt] then
    fail("%s: the JSON mapping of %s is not supported by the Lua bindings", path, wkt)
  end
  local out, k = {}, 0
  for _, f in ipairs(desc.fields) do
    local v = rawget(m, f.name)
    local fpath = path .. "." .. f.name
    local text
    if v == nil then
      text = nil
    elseif f.label == "repeated" then
      if #v > 0 then
        local items = {}
        for i = 1, #v do
          items[i] = value_to_json(f, v[i], fpath, depth)
        end
        text = "[" .. concat(items, ",") .. "]"
      end
    elseif f.label == "map" then
      local keys, nk = sorted_keys(v, f.key, desc.name, f.name)
      if nk > 0 then
        local items = {}
        for i = 1, nk do
          local key = keys[i]
          local ktext = type(key) == "string" and key
            or (f.key == "uint64" or f.key == "fixed64") and format("%u", key) or tostring(key)
          items[i] = json_string(ktext) .. ":" .. value_to_json(f, v[key], fpath, depth)
        end
        text = "{" .. concat(items, ",") .. "}"
      end
    elseif f.label ~= "single" or f.oneof or f.kind == "message" or not is_default(f, v) then
      text = value_to_json(f, v, fpath, depth)
    end
    if text then
      k = k + 1
      out[k] = '"' .. f.json .. '":' .. text
    end
  end
  return "{" .. concat(out, ",") .. "}"
end

-- to_json(cls, msg) -> compact proto3 JSON text (fields in field-number order, map keys sorted,
-- defaults omitted).
function pb.to_json(cls, m)
  return message_to_json(cls, m, cls._desc.name, 1)
end

local function jtype(v)
  local mt = getmetatable(v)
  if mt == OBJECT then
    return "object"
  elseif mt == ARRAY then
    return "array"
  elseif mt == NUMBER then
    return "number " .. v.text
  elseif v == NULL then
    return "null"
  end
  return describe(v)
end

-- Exact decimal text to a Lua integer with the 64-bit pattern for uint64 (nil if it overflows).
local function parse_decimal(text, unsigned)
  local neg, digits = text:match("^(%-?)(%d+)$")
  if not neg then
    return nil
  end
  if unsigned then
    if neg == "-" then
      return tointeger(digits) == 0 and 0 or nil
    end
    local v = 0
    for i = 1, #digits do
      local d = byte(digits, i) - 48
      -- v * 10 + d must stay below 2^64: compare as unsigned
      if math.ult(0x1999999999999999, v) or (v == 0x1999999999999999 and d > 5) then
        return nil
      end
      v = v * 10 + d
    end
    return v
  end
  local v = tointeger(neg .. digits)
  if v == nil or (neg == "-" and v > 0) or (neg == "" and v < 0) then
    return nil -- tointeger wraps or fails on overflow in some versions; refuse both
  end
  return v
end
pb.parse_decimal = parse_decimal

local INT_RANGES = {
  int32 = { INT32_MIN, INT32_MAX }, sint32 = { INT32_MIN, INT32_MAX },
  sfixed32 = { INT32_MIN, INT32_MAX }, uint32 = { 0, UINT32_MAX }, fixed32 = { 0, UINT32_MAX },
}

local function integer_from_json(f, v, path)
  local text
  local mt = getmetatable(v)
  if mt == NUMBER then
    text = v.text
  elseif type(v) == "string" then
    text = v
  else
    fail("%s: expected an integer, got %s", path, jtype(v))
  end
  local unsigned = UINT64_KINDS[f.kind] ~= nil
  local i = parse_decimal(text, unsigned)
  if i == nil and not find(text, "^%-?%d+$") then
    -- 1e3 or 5.0: accepted when integral and exactly representable
    local x = tonumber(text)
    if x == nil or x ~= x or x ~= floor(x) or x >= 2 ^ 63 or x < -2 ^ 63 then
      fail("%s: %q is not an integer", path, text)
    end
    i = tointeger(x)
    if unsigned and i < 0 then
      i = nil
    end
  end
  if i == nil then
    fail("%s: %s is out of range for %s", path, text, f.kind)
  end
  local r = INT_RANGES[f.kind]
  if r and (i < r[1] or i > r[2]) then
    fail("%s: %s is out of range for %s", path, text, f.kind)
  end
  return i
end

local message_from_json

local function scalar_from_json(f, v, path, depth)
  local k = f.kind
  if k == "message" then
    return message_from_json(resolve(f), v, path, depth + 1)
  elseif k == "string" then
    if type(v) ~= "string" then
      fail("%s: expected a string, got %s", path, jtype(v))
    end
    return v
  elseif k == "bytes" then
    if type(v) ~= "string" then
      fail("%s: expected base64 text, got %s", path, jtype(v))
    end
    return pb.base64_decode(v, path)
  elseif k == "bool" then
    if type(v) ~= "boolean" then
      fail("%s: expected true or false, got %s", path, jtype(v))
    end
    return v
  elseif k == "enum" then
    if type(v) == "string" then
      local n = registry[f.type][v]
      if type(n) == "number" then
        return n
      elseif find(v, "^%-?%d+$") then -- a number in a string, as protobuf's parsers accept
        return integer_from_json({ kind = "int32" }, v, path)
      end
      fail("%s: unknown %s value %q", path, f.type, v)
    end
    return integer_from_json({ kind = "int32" }, v, path)
  elseif k == "double" or k == "float" then
    if type(v) == "string" then
      if v == "NaN" then
        return 0.0 / 0.0
      elseif v == "Infinity" then
        return huge
      elseif v == "-Infinity" then
        return -huge
      end
      local x = tonumber(v)
      if x == nil or not find(v, "^%-?%d") then
        fail("%s: %q is not a number", path, v)
      end
      return x * 1.0
    elseif getmetatable(v) == NUMBER then
      local x = tonumber(v.text) * 1.0
      -- values up to half a unit above FLT_MAX round to it; beyond, float overflows
      if k == "float" and x == x and math.abs(x) ~= huge and math.abs(x) >= 3.4028235677973366e38
      then
        fail("%s: %s is out of range for float", path, v.text)
      end
      return x
    end
    fail("%s: expected a number, got %s", path, jtype(v))
  end
  return integer_from_json(f, v, path)
end

local function map_key_from_json(f, key, path)
  local kk = f.key
  if kk == "string" then
    return key
  elseif kk == "bool" then
    if key == "true" then
      return true
    elseif key == "false" then
      return false
    end
    fail("%s: map key %q is not true or false", path, key)
  end
  return integer_from_json({ kind = kk }, key, path)
end

message_from_json = function(cls, v, path, depth)
  local desc = cls._desc
  if depth > MAX_DEPTH then
    fail("%s: nesting deeper than %d messages", path, MAX_DEPTH)
  end
  local wkt = desc.name
  if wkt == "google.protobuf.Timestamp" then
    return setmetatable(timestamp_from_json(v, path), cls._mt)
  elseif wkt == "google.protobuf.Duration" then
    return setmetatable(duration_from_json(v, path), cls._mt)
  elseif UNSUPPORTED_JSON[wkt] then
    fail("%s: the JSON mapping of %s is not supported by the Lua bindings", path, wkt)
  end
  if getmetatable(v) ~= OBJECT then
    fail("%s: expected a JSON object for %s, got %s", path, desc.name, jtype(v))
  end
  local m = {}
  local by_json = desc.by_json
  local seen_oneof = {}
  -- visit members in a fixed order so that errors are deterministic
  local names = {}
  for key in pairs(v) do
    names[#names + 1] = key
  end
  sort(names)
  for _, key in ipairs(names) do
    local jv = v[key]
    local f = by_json[key]
    if f == nil then
      fail("%s: unknown field %q", path, key)
    end
    local fpath = path .. "." .. f.name
    if rawget(m, f.name) ~= nil then
      fail("%s: field given twice (as %q and another name)", fpath, key)
    end
    if jv == NULL then
      -- null means "not set" (there is no google.protobuf.Value in hookwire's schema)
      if f.label == "repeated" or f.label == "map" then
        m[f.name] = {}
      end
    elseif f.label == "repeated" then
      if getmetatable(jv) ~= ARRAY then
        fail("%s: expected a JSON array, got %s", fpath, jtype(jv))
      end
      local list = {}
      for i = 1, jv.n do
        if jv[i] == NULL then
          fail("%s[%d]: null is not allowed in a repeated field", fpath, i)
        end
        list[i] = scalar_from_json(f, jv[i], format("%s[%d]", fpath, i), depth)
      end
      m[f.name] = list
    elseif f.label == "map" then
      if getmetatable(jv) ~= OBJECT then
        fail("%s: expected a JSON object, got %s", fpath, jtype(jv))
      end
      local map = {}
      local keys = {}
      for jk in pairs(jv) do
        keys[#keys + 1] = jk
      end
      sort(keys)
      for _, jk in ipairs(keys) do
        local epath = format("%s[%q]", fpath, jk)
        if jv[jk] == NULL then
          fail("%s: null is not allowed as a map value", epath)
        end
        map[map_key_from_json(f, jk, epath)] = scalar_from_json(f, jv[jk], epath, depth)
      end
      m[f.name] = map
    else
      if f.oneof then
        if seen_oneof[f.oneof] then
          fail("%s: oneof '%s' has both '%s' and '%s' set", path, f.oneof, seen_oneof[f.oneof],
            f.name)
        end
        seen_oneof[f.oneof] = f.name
      end
      m[f.name] = scalar_from_json(f, jv, fpath, depth)
    end
  end
  for _, f in ipairs(desc.fields) do
    if (f.label == "repeated" or f.label == "map") and m[f.name] == nil then
      m[f.name] = {}
    end
  end
  return setmetatable(m, cls._mt)
end

-- from_json(cls, text) -> message; accepts lowerCamelCase and original field names, enum names
-- or numbers, 64-bit integers as strings or numbers.
function pb.from_json(cls, s)
  return message_from_json(cls, pb.json_decode(s), cls._desc.name, 1)
end

-- uint64 values live in Lua integers with their 64-bit pattern; these convert for display.
function pb.uint64_tostring(v)
  return format("%u", v)
end

function pb.uint64_fromstring(s)
  local v = type(s) == "string" and parse_decimal(s, true)
  if not v then
    fail("uint64_fromstring: %s is not a uint64 in decimal", describe(s))
  end
  return v
end

return pb
