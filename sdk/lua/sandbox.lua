-- The sandbox of the embedded Lua state (the Lua half of sandbox.py). Runs once, trusted, with
-- the full standard library; builds the environment hook files get and returns the entry
-- points Python calls. Hook code never sees this chunk's locals, `_G`, `debug`, `package`,
-- `io`, `os` (beyond the safe subset below) or the `python` bridge.

local deps = ...
local convert, sdk = deps.convert, deps.sdk
local now = deps.now                 -- real monotonic seconds (runaway protection)
local clock_wall, clock_mono = deps.clock_wall, deps.clock_mono -- the runtime's Clock
local py_print, read_source = deps.py_print, deps.read_source
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

-- Limits -------------------------------------------------------------------------------------

local TIMEOUT = setmetatable({}, { __metatable = "hookwire.timeout", __tostring = function() return "timeout" end })
local MEMORY = "not enough memory" -- the error object Lua raises when the allocator refuses
local deadline = huge
local depth = 0
-- Set when the running hook's budget is spent, and kept until its run ends: from then on every
-- count hook, every wrapped protected call (pcall, xpcall, load, coroutine.resume/wrap/close)
-- and every chunked library call raises TIMEOUT again, so no protected call can swallow the
-- stop (a `while true do pcall(...) end` ends like any other runaway).
local stopped = false
-- Bytes `print` wrote during the current call (the log is the host's; a call gets PRINT_CALL).
local printed = 0

local function stop()
  stopped = true
  error(TIMEOUT, 0)
end

-- The entry points' own code before and after the protected call (filled in below): a count
-- hook landing there must not raise, or the stop would escape the run to the host.
local OUTSIDE = {}

local function count_hook()
  if stopped or now() > deadline then
    if OUTSIDE[getinfo(2, "f").func] then return end
    stop()
  end
end

-- Between the chunks of a long library call (see "C-level work" below); hook context only.
local function checkpoint()
  if stopped or now() > deadline then stop() end
end

-- After a protected call returns: re-raise the stop it may have caught (whatever error value
-- it returned: a `__close` or message handler may have replaced TIMEOUT), and a memory error.
local function rethrow_fatal(ok, ...)
  if stopped then error(TIMEOUT, 0) end
  if not ok then
    local e = ...
    if e == TIMEOUT or e == MEMORY then error(e, 0) end
  end
  return ok, ...
end

-- Errors of a wrapped library function name the function and the hook's line, as the
-- unwrapped one would (not "sandbox.lua:N: bad argument #1 to 'raw'").
local function rethrow_as(name, ok, ...)
  if stopped then error(TIMEOUT, 0) end
  if ok then return ... end
  local msg = ...
  if type(msg) == "string" then
    msg = msg:gsub("^bad argument (#%d+) to '[^']*'", "bad argument %1 to '" .. name .. "'")
  end
  error(msg, 2) -- level 2: the wrappers tail-call this, so their caller is next on the stack
end

-- Bytes that are not printable ASCII as \xHH (messages stay readable text).
local function escape_text(s)
  return (s:gsub("[^\32-\126]", function(c) return fmt("\\x%02x", c:byte()) end))
end

-- C-level work ---------------------------------------------------------------------------------
-- The count hook only runs between VM instructions: a single C call (a pattern match, a table
-- library loop) is out of its reach. Every library function whose work is not bounded by the
-- size of its arguments is wrapped so that one C call does at most about C_BUDGET steps (tens
-- of milliseconds): longer work is split into chunks with a checkpoint between them, done in
-- Lua (counted), or refused with an error naming the function.

local C_BUDGET = deps.c_budget or 1e7
local MEMORY_LIMIT = deps.memory_limit or 256 * 1024 * 1024
local MAX_LOAD_BYTES = 1024 * 1024 -- source text `load` compiles in one C call
local MAX_FORMAT = 4096            -- string.pack/packsize/unpack formats

local byte, sub = string.byte, string.sub
local tointeger = math.tointeger

-- The end of a set "[...]" starting at i (lstrlib's classEnd).
local function set_end(p, i, n)
  i = i + 1
  if byte(p, i) == 94 then i = i + 1 end
  repeat
    if i > n then return n + 1 end
    local c = byte(p, i)
    i = i + 1
    if c == 37 then i = i + 1 end
  until byte(p, i) == 93
  return i + 1
end

-- An upper bound of the steps Lua's matcher can take for pattern `p` on a `len`-byte subject
-- (a step: one subject byte tested against one pattern byte). Per start position, an item of
-- L pattern bytes costs L and runs the rest of the pattern once; `?` runs it twice; `*`, `+`,
-- `-` scan up to len bytes and run the rest up to len + 1 times, unless the rest always
-- matches (then the first success ends the match, and the scans of all matches together cover
-- the subject once); `%b` and back-references scan up to len bytes. Unanchored, each start
-- position is tried once (find, match, gmatch and gsub all move forward).
-- With `run` (item text -> the longest run of subject bytes it matches), a repetition of an
-- item other than `.` scans at most that run rather than the whole subject.
local function pattern_cost(p, len, anchorable, run)
  local n = #p
  local sizes, kinds, quants, dot, starts = {}, {}, {}, {}, {}
  local i, count, anchored = 1, 0, false
  if anchorable and byte(p, 1) == 94 then anchored, i = true, 2 end
  while i <= n do
    local c, start, kind = byte(p, i), i, "single"
    if c == 40 then -- "(" or "()"
      i = i + (byte(p, i + 1) == 41 and 2 or 1); kind = "free"
    elseif c == 41 then i = i + 1; kind = "free"
    elseif c == 36 and i == n then i = i + 1; kind = "end"
    elseif c == 37 then
      local d = byte(p, i + 1)
      if d == 98 then i = i + 4; kind = "scan"                           -- %bxy
      elseif d == 102 then i = set_end(p, i + 2, n); kind = "fixed"     -- %f[set]
      elseif d ~= nil and d >= 48 and d <= 57 then i = i + 2; kind = "scan" -- %0 .. %9
      else i = i + 2 end
    elseif c == 91 then i = set_end(p, i, n)
    else i = i + 1 end
    local q
    if kind == "single" then
      q = byte(p, i)
      if q == 42 or q == 43 or q == 45 or q == 63 then i = i + 1 else q = nil end
    end
    count = count + 1
    sizes[count], kinds[count], quants[count] = i - start, kind, q
    dot[count], starts[count] = c == 46, start
  end
  -- Walking back from the end: `always`, the rest matches from any position; `at_end`, the
  -- rest matches the empty string at the subject's end (so `.*` or `.-` before it always
  -- matches: the idiom `^%s*(.-)%s*$` is quadratic, not cubic).
  local cost, always, at_end, once = 1.0, true, true, 0.0
  for j = count, 1, -1 do
    local L, kind, q = sizes[j], kinds[j], quants[j]
    if kind == "free" then cost = cost + 1
    elseif kind == "end" then cost = cost + 1; always = false
    elseif kind == "scan" then cost = len + cost; always, at_end = false, false
    elseif kind == "fixed" then cost = L + cost; always, at_end = false, false
    elseif q == 63 then cost = L + (always and cost or 2 * cost) -- "?"
    elseif q ~= nil then -- "*", "+", "-"
      local r = len
      if run ~= nil and not dot[j] then r = run(sub(p, starts[j], starts[j] + L - 2)) end
      if always then once = once + r * L; cost = L + cost; always = q ~= 43
      elseif dot[j] and at_end and q ~= 43 then
        if q == 42 then cost = len + cost else cost = (len + 1) * (1 + cost) end
        always = true
      else cost = r * L + (r + 1) * cost; always = false end
      if q == 43 then at_end = false end
    else cost = L + cost; always, at_end = false, false end
    if cost > 1e300 then cost = 1e300 end
  end
  return (anchored and 1 or len + 1) * cost + once
end

do
  local find, match, gmatch, gsub, rep = string.find, string.match, string.gmatch, string.gsub, string.rep
  local t_concat = table.concat
  local pack_, packsize, unpack_ = string.pack, string.packsize, string.unpack
  local mmax, mmin = math.max, math.min

  -- A plain find costs up to (len - m + 1) * m steps: a long one searches window by window,
  -- each window one bounded C call, with a checkpoint between windows.
  local function plain_find(s, p, init)
    local len, m = #s, #p
    local i0 = 1
    if init ~= nil then
      i0 = tointeger(init)
      if i0 == nil then return find(s, p, init, true) end -- the C function names the error
      if i0 < 0 then i0 = mmax(len + i0 + 1, 1) elseif i0 == 0 then i0 = 1 end
    end
    if m == 0 or i0 > len + 1 or (len - i0 + 1) * m <= C_BUDGET then return find(s, p, i0, true) end
    -- Windows grow from 64 KiB (a match nearby costs a small copy) to the budget's size.
    local widest = mmax(C_BUDGET // m, 1)
    local window = mmin(widest, 65536)
    local a = i0
    while a <= len - m + 1 do
      local last = mmin(a + window - 1, len - m + 1) -- the last start position of this window
      local i = find(sub(s, a, last + m - 1), p, 1, true)
      if i ~= nil then return a + i - 1, a + i + m - 2 end
      a = last + 1
      window = mmin(window * 2, widest)
      checkpoint()
    end
    return nil
  end

  -- The longest run of bytes of `s` that the single item `item` matches (linear: one pass).
  local function longest_run(s, item)
    local best, i, pat = 0, 1, item .. "+"
    while true do
      local a, b = find(s, pat, i)
      if a == nil then return best end
      if b - a + 1 > best then best = b - a + 1 end
      i = b + 1
    end
  end

  local function guard(name, s, p, anchorable)
    if type(s) == "number" then s = tostring(s) end
    if type(p) == "number" then p = tostring(p) end
    if type(s) ~= "string" or type(p) ~= "string" then return end -- the C function complains
    if pattern_cost(p, #s, anchorable) <= C_BUDGET then return end
    -- Over the budget for any subject: bound each repetition by this subject's longest run
    -- of its item (a pass over the subject, counted like hook code).
    local runs = {}
    local function run(item)
      local r = runs[item]
      if r == nil then
        local ok, v = pcall(longest_run, s, item)
        if stopped then error(TIMEOUT, 0) end
        r = ok and v or #s
        runs[item] = r
      end
      return r
    end
    if pattern_cost(p, #s, anchorable, run) > C_BUDGET then
      error(fmt("string.%s: the pattern \"%s\" on a %d-byte string could take more steps than "
        .. "one call may (%g); use a plain find, a simpler pattern or a shorter input", name,
        escape_text(sub(p, 1, 40)), #s, C_BUDGET), 3)
    end
  end

  local SPECIALS = "[%^%$%*%+%?%.%(%)%[%]%%%-]"
  -- Replaced in the shared string table itself: `s:find(...)` reaches it through the string
  -- metatable, not through the copy hook files get.
  string.find = function(s, p, init, plain)
    if type(s) == "string" and type(p) == "string" and (plain or not find(p, SPECIALS)) then
      return plain_find(s, p, init)
    end
    guard("find", s, p, true)
    return find(s, p, init, plain)
  end

  -- A pattern without special characters matches itself: when the matcher's bound is over
  -- the budget, match, gmatch and gsub search it plainly (window by window) instead.
  local function literal(s, p)
    return type(s) == "string" and type(p) == "string" and #p > 0
      and (#s + 1.0) * (#p + 1) > C_BUDGET and not find(p, SPECIALS)
  end

  local function literal_gsub(s, p, repl, limit)
    local tr = type(repl)
    if tr == "number" then repl, tr = tostring(repl), "string" end
    if tr == "string" and find(repl, "%", 1, true) then
      -- The match is `p` itself, with no captures: %0 and %1 are `p`, %% is "%".
      local bad
      repl = gsub(repl, "%%(.?)", function(c)
        if c == "0" or c == "1" then return p end
        if c == "%" then return "%" end
        bad = bad or c
      end)
      if bad ~= nil then
        error(find(bad, "^%d$") and ("invalid capture index %" .. bad .. " in replacement string")
          or "invalid use of '%' in replacement string", 3)
      end
    end
    local parts, np, count, pos = {}, 0, 0, 1
    while count < limit do
      local a, b = plain_find(s, p, pos)
      if a == nil then break end
      local m = sub(s, pos, a - 1)
      np = np + 1; parts[np] = m
      m = sub(s, a, b)
      local v
      if tr == "string" then v = repl elseif tr == "table" then v = repl[m] else v = repl(m) end
      if v == nil or v == false then v = m
      elseif type(v) ~= "string" and type(v) ~= "number" then
        error("invalid replacement value (a " .. type(v) .. ")", 3)
      end
      np = np + 1; parts[np] = v
      count = count + 1
      pos = b + 1
    end
    np = np + 1; parts[np] = sub(s, pos)
    return t_concat(parts), count
  end

  string.match = function(s, p, init)
    if literal(s, p) and (init == nil or tointeger(init) ~= nil) then
      local a, b = plain_find(s, p, init)
      if a == nil then return nil end
      return sub(s, a, b)
    end
    guard("match", s, p, true)
    return match(s, p, init)
  end
  string.gmatch = function(s, p, init)
    if literal(s, p) and (init == nil or tointeger(init) ~= nil) then
      local pos = init or 1
      return function()
        if pos == nil then return nil end
        local a, b = plain_find(s, p, pos)
        if a == nil then pos = nil; return nil end
        pos = b + 1
        return sub(s, a, b)
      end
    end
    guard("gmatch", s, p, false)
    return gmatch(s, p, init)
  end
  string.gsub = function(s, p, r, n)
    local tr = type(r)
    if literal(s, p) and (n == nil or tointeger(n) ~= nil)
      and (tr == "string" or tr == "number" or tr == "table" or tr == "function") then
      return literal_gsub(s, p, r, n == nil and huge or tointeger(n))
    end
    guard("gsub", s, p, true)
    return gsub(s, p, r, n)
  end

  -- rep copies its unit once per repetition (and loops even when the unit is empty): a large
  -- count is built from a block of BLOCK units, and a result past the memory limit is refused
  -- before any work.
  local BLOCK = 10000
  string.rep = function(s, n, sep)
    local k = tointeger(n)
    if k == nil or k <= BLOCK or type(s) ~= "string" or (sep ~= nil and type(sep) ~= "string") then
      return rep(s, n, sep)
    end
    sep = sep or ""
    local unit = #s + #sep
    if unit == 0 then return "" end
    if unit * k > MEMORY_LIMIT then error(MEMORY, 0) end -- what the allocator would answer
    local u = s .. sep
    local block = rep(u, BLOCK)
    checkpoint()
    return rep(block, (k - 1) // BLOCK) .. rep(u, (k - 1) % BLOCK) .. s
  end

  -- Byte-by-byte work on one string (a few ns a byte) is linear, but a string can be tens of
  -- megabytes: long ones are done in pieces of PIECE bytes, with a checkpoint between pieces.
  local PIECE = 1 << 20
  local function by_pieces(raw, backwards)
    return function(str, ...)
      if type(str) ~= "string" or #str <= PIECE then return raw(str, ...) end
      local parts, n = {}, 0
      for a = 1, #str, PIECE do
        n = n + 1
        parts[n] = raw(sub(str, a, a + PIECE - 1))
        checkpoint()
      end
      if backwards then
        for i = 1, n // 2 do parts[i], parts[n + 1 - i] = parts[n + 1 - i], parts[i] end
      end
      return t_concat(parts)
    end
  end
  string.upper = by_pieces(string.upper)
  string.lower = by_pieces(string.lower)
  string.reverse = by_pieces(string.reverse, true)

  local format = string.format
  string.format = function(f, ...)
    -- `%q` escapes byte by byte; the other conversions copy.
    if type(f) == "string" and find(f, "%q", 1, true) then
      for i = 1, select("#", ...) do
        local v = select(i, ...)
        if type(v) == "string" and #v > PIECE then
          error(fmt("string.format: %%q of a %d-byte string is more than the sandbox escapes in "
            .. "one call (%d bytes)", #v, PIECE), 2)
        end
      end
    end
    return format(f, ...)
  end

  local function check_format(name, f)
    if type(f) == "string" and #f > MAX_FORMAT then
      error(fmt("string.%s: a format of %d bytes is longer than the sandbox allows (%d)", name,
        #f, MAX_FORMAT), 3)
    end
  end
  string.pack = function(f, ...) check_format("pack", f) return pack_(f, ...) end
  string.packsize = function(f) check_format("packsize", f) return packsize(f) end
  string.unpack = function(f, ...) check_format("unpack", f) return unpack_(f, ...) end
end

do
  -- utf8.len validates byte by byte: long strings are counted in pieces (a character is
  -- counted in the piece where it starts; decoding may read past the piece's end).
  local len, PIECE = utf8.len, 1 << 20
  utf8.len = function(str, i, j, lax)
    if type(str) ~= "string" or #str <= PIECE or i ~= nil or j ~= nil then
      return len(str, i, j, lax)
    end
    local total = 0
    for a = 1, #str, PIECE do
      local n, bad = len(str, a, math.min(a + PIECE - 1, #str), lax)
      if n == nil then return nil, bad end
      total = total + n
      checkpoint()
    end
    return total
  end
end

-- Shared state hook code could otherwise reach through a string's metatable.
string.dump = nil
getmetatable("").__metatable = "string"

-- The table library walks index ranges in C, through metamethods: `table.move({}, 1, 2^50, 1,
-- {})` or an insert into a table whose `__len` says 2^50 loops in C for good. A table with a
-- metatable of its own (not the hookwire array/object marks), or a range that is not bounded
-- by the table's own size, is handled by the Lua versions below (counted like hook code);
-- a large sort gets a Lua comparator, so that its comparisons are counted.
local SAFE_TABLE
do
  local t_insert, t_remove, t_move, t_concat, t_unpack, t_sort =
    table.insert, table.remove, table.move, table.concat, table.unpack, table.sort
  local getmt = debug.getmetatable
  local ARRAY_MT, OBJECT_MT = internal.ARRAY_MT, internal.OBJECT_MT
  local source_of = convert.source
  local SMALL = 100000 -- elements a C loop may walk on a plain table

  -- True for a table the C functions may walk: no metamethods of the hook's (a proxy of the
  -- context is materialized first).
  local function plain(t)
    if type(t) ~= "table" then return false end
    if source_of(t) ~= nil then materialize(t) end
    local mt = getmt(t)
    return mt == nil or mt == ARRAY_MT or mt == OBJECT_MT
  end

  local function int_arg(v, i, name)
    local k = tointeger(v)
    if k == nil then
      error(fmt("bad argument #%d to '%s' (number has no integer representation)", i, name), 3)
    end
    return k
  end

  SAFE_TABLE = {}
  for k, v in pairs(table) do SAFE_TABLE[k] = v end

  SAFE_TABLE.insert = function(t, ...)
    if plain(t) then return t_insert(t, ...) end
    local nargs = select("#", ...)
    if type(t) ~= "table" then return t_insert(t, ...) end -- the C function names the error
    local e = #t + 1
    if nargs == 1 then t[e] = (...); return end
    if nargs ~= 2 then error("wrong number of arguments to 'insert'", 2) end
    local pos, v = ...
    pos = int_arg(pos, 2, "insert")
    if pos < 1 or pos > e then error("bad argument #2 to 'insert' (position out of bounds)", 2) end
    for i = e, pos + 1, -1 do t[i] = t[i - 1] end
    t[pos] = v
  end

  SAFE_TABLE.remove = function(t, pos)
    if plain(t) or type(t) ~= "table" then return t_remove(t, pos) end
    local size = #t
    if pos == nil then pos = size else pos = int_arg(pos, 2, "remove") end
    if pos ~= size and (pos < 1 or pos > size + 1) then
      error("bad argument #2 to 'remove' (position out of bounds)", 2)
    end
    local v = t[pos]
    for i = pos, size - 1 do t[i] = t[i + 1] end
    if pos <= size then t[size] = nil end
    return v
  end

  SAFE_TABLE.move = function(a1, f, e, t, a2)
    local dest = a2 == nil and a1 or a2
    local fi, ei, ti = tointeger(f), tointeger(e), tointeger(t)
    if fi == nil or ei == nil or ti == nil or type(a1) ~= "table" or type(dest) ~= "table" then
      return t_move(a1, f, e, t, a2)
    end
    if ei < fi then return dest end
    if plain(a1) and plain(dest) and ei - fi < SMALL then return t_move(a1, f, e, t, a2) end
    if ti > ei or ti <= fi or a1 ~= dest then
      for i = 0, ei - fi do dest[ti + i] = a1[fi + i] end
    else
      for i = ei - fi, 0, -1 do dest[ti + i] = a1[fi + i] end
    end
    return dest
  end

  SAFE_TABLE.concat = function(t, sep, i, j)
    if type(t) ~= "table" then return t_concat(t, sep, i, j) end
    if plain(t) then
      local ii = i == nil and 1 or tointeger(i)
      local jj = j == nil and rawlen(t) or tointeger(j)
      if ii == nil or jj == nil or jj - ii < SMALL then return t_concat(t, sep, i, j) end
      -- Each item may be a number to convert: long lists are joined in pieces.
      local parts, n = {}, 0
      for a = ii, jj, SMALL do
        n = n + 1
        parts[n] = t_concat(t, sep, a, math.min(a + SMALL - 1, jj))
        checkpoint()
      end
      return t_concat(parts, sep)
    end
    i = i == nil and 1 or int_arg(i, 3, "concat")
    j = j == nil and #t or int_arg(j, 4, "concat")
    local parts, n = {}, 0
    for k = i, j do n = n + 1; parts[n] = t[k] end
    return t_concat(parts, sep, 1, n)
  end

  SAFE_TABLE.unpack = function(t, i, j)
    if plain(t) or type(t) ~= "table" then return t_unpack(t, i, j) end
    i = i == nil and 1 or int_arg(i, 2, "unpack")
    j = j == nil and #t or int_arg(j, 3, "unpack")
    if j - i >= 1000000 then error("too many results to unpack", 2) end
    local parts, n = {}, 0
    for k = i, j do n = n + 1; parts[n] = t[k] end
    return t_unpack(parts, 1, n)
  end

  local function less(a, b) return a < b end
  SAFE_TABLE.sort = function(t, comp)
    if type(t) == "table" then
      if comp == nil then
        if not plain(t) or rawlen(t) > 2000 then comp = less end
      elseif type(comp) ~= "function" or getinfo(comp, "S").what == "C" then
        -- A C function (or a table whose __call is one) would compare out of the count's reach.
        local c = comp
        comp = function(a, b) return c(a, b) end
      end
    end
    return t_sort(t, comp)
  end
end

local function describe(v, level)
  local tv = type(v)
  if tv == "string" then return fmt("%q", v) end
  if tv ~= "table" then return tv == "number" and tostring(v) or tv == "boolean" and tostring(v) or tv end
  if level > 2 then return "{...}" end
  if source(v) ~= nil then materialize(v) end -- error(ctx.data): its content, not the proxy
  local keys = {}
  for k in next, v do
    keys[#keys + 1] = k
    if #keys > 100 then break end
  end
  -- Keys as shown without metamethods: a key's __tostring is hook code.
  local shown = {}
  for i, k in ipairs(keys) do
    shown[i] = type(k) == "string" and k:match("^[%a_][%w_]*$") and k or ("[" .. describe(k, level + 1) .. "]")
  end
  local order = {}
  for i = 1, #keys do order[i] = i end
  sort(order, function(a, b) return shown[a] < shown[b] end)
  local parts = {}
  for n, i in ipairs(order) do
    if n > 20 then parts[#parts + 1] = "..."; break end
    parts[#parts + 1] = shown[i] .. " = " .. describe(rawget(v, keys[i]), level + 1)
  end
  return "{" .. concat(parts, ", ") .. "}"
end

-- A failure's message: strings as Lua made them ("file:line: text"); other values (a table
-- from `error{...}`) as "file:line: <message field or a dump>". Runs inside the hook's budget.
local ERRBOX = {}
local function handler(e)
  if e == TIMEOUT or stopped or type(e) == "string" then return e end
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

-- Run fn(...) with the instruction budget; returns (stopped, ok, results or error). Nested
-- runs (a hook publishing to a Lua subscriber) keep the earlier deadline if it is sooner, and
-- the outer run's stop state is restored when the inner one ends.
local saved_deadlines, saved_stopped = {}, {}
local function after_run(...)
  local was = stopped
  deadline, stopped = saved_deadlines[depth], saved_stopped[depth]
  depth = depth - 1
  if depth == 0 then sethook() end
  return was, ...
end

local function enter(deadline_s)
  saved_deadlines[depth + 1], saved_stopped[depth + 1] = deadline, stopped -- may allocate: first
  depth = depth + 1
  stopped = false
  if deadline_s < deadline then deadline = deadline_s end
  if depth == 1 then printed = 0; sethook(count_hook, "", CHECK_EVERY) end
end

local function run_limited(deadline_s, fn, ...)
  enter(deadline_s)
  return after_run(xpcall(fn, handler, ...))
end

-- Messages cross to the host at most this long (a hook's error message is its own data).
local MAX_MESSAGE = 4096
local function clip(msg)
  if #msg <= MAX_MESSAGE then return msg end
  return sub(msg, 1, MAX_MESSAGE) .. "...(truncated)"
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
  if getmetatable(e) == ERRBOX then return 2, clip(e.text) end
  if type(e) == "string" then return 2, clip(e) end
  return 2, "error object of type " .. type(e)
end

-- The environment ----------------------------------------------------------------------------

local function copy(t)
  local c = {}
  for k, v in pairs(t) do c[k] = v end
  return c
end

local SAFE_STRING, SAFE_MATH, SAFE_UTF8 = copy(string), copy(math), copy(utf8)

local co_create, co_resume, co_close = coroutine.create, coroutine.resume, coroutine.close
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
-- close runs the coroutine's pending `__close` handlers and returns their error untouched.
SAFE_COROUTINE.close = function(co) return rethrow_fatal(co_close(co)) end
SAFE_COROUTINE.wrap = function(f)
  if type(f) ~= "function" then
    error("bad argument #1 to 'wrap' (function expected, got " .. type(f) .. ")", 2)
  end
  local co = SAFE_COROUTINE.create(f)
  return function(...)
    local r = pack(co_resume(co, ...))
    if stopped then error(TIMEOUT, 0) end
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

-- Tables no hook may write, even with rawset: they are shared by every file of the state.
local FROZEN = setmetatable({ [sdk.null] = true, [TIMEOUT] = true }, { __mode = "k" })
local safe_next = materialized("next", next)
local pairs_next = convert.safe_next -- the same, without the argument check (for-loops pass tables)
local raw_rawset = materialized("rawset", rawset)
local PRINT_MAX, PRINT_CALL = 16 * 1024, 64 * 1024 -- one print, one call

local BASE = {
  assert = assert, error = error, ipairs = ipairs, select = select,
  -- The raw `next` that `pairs` returns for a table without `__pairs` would walk a context
  -- proxy without materializing it: hook code gets the sandbox's `next` instead.
  pairs = function(t)
    local f, s, c = pairs(t)
    if f == next then f = pairs_next end
    return f, s, c
  end,
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
  next = safe_next, rawget = materialized("rawget", rawget),
  rawlen = materialized("rawlen", rawlen, true),
  rawset = function(t, k, v)
    if FROZEN[t] then error("rawset: this table is read-only in the hookwire sandbox", 2) end
    return raw_rawset(t, k, v)
  end,
  pcall = function(f, ...) return rethrow_fatal(pcall(f, ...)) end,
  xpcall = function(f, h, ...)
    return rethrow_fatal(xpcall(f, function(e)
      if e == TIMEOUT or stopped then return e end
      return h(e)
    end, ...))
  end,
  print = function(...)
    local n = select("#", ...)
    local parts = {}
    for i = 1, n do parts[i] = tostring((select(i, ...))) end
    local text = concat(parts, "\t")
    if printed > PRINT_CALL then return end
    if #text > PRINT_MAX then text = sub(text, 1, PRINT_MAX) .. "...(truncated)" end
    printed = printed + #text
    if printed > PRINT_CALL then text = "...(the rest of this call's print output is dropped)" end
    py_print(text)
  end,
  collectgarbage = function(opt)
    if opt == "count" then return collectgarbage("count") end
    error(fmt("collectgarbage: option %s is not allowed in the hookwire sandbox (only \"count\")",
      opt == nil and "nil (a full collection)" or fmt("%q", tostring(opt))), 2)
  end,
}

-- `require` of a .lua file beside the hook file: a module name is dot-separated identifiers
-- ("helpers", "lib.util"), so the path it names ("lib/util.lua") cannot leave that folder.
local function module_path(name)
  for segment in (name .. "."):gmatch("(.-)%.") do
    if not segment:match("^[A-Za-z_][A-Za-z0-9_]*$") then return nil end
  end
  return (name:gsub("%.", "/")) .. ".lua"
end

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
    -- The compiler runs in C: its input is bounded (MAX_LOAD_BYTES), and a reader function's
    -- errors, which load turns into a return value, cannot hide the stop.
    if type(chunk) == "string" then
      if #chunk > MAX_LOAD_BYTES then
        error(fmt("load: a chunk of %d bytes is larger than the sandbox compiles (%d)", #chunk, MAX_LOAD_BYTES), 2)
      end
    elseif type(chunk) == "function" then
      local reader, total = chunk, 0
      chunk = function()
        local piece = reader()
        if type(piece) == "string" then
          total = total + #piece
          if total > MAX_LOAD_BYTES then
            error(fmt("load: the chunk is larger than the sandbox compiles (%d bytes)", MAX_LOAD_BYTES), 0)
          end
        end
        return piece
      end
    end
    local f, err = load(chunk, name, "t", e == nil and env or e)
    if stopped then error(TIMEOUT, 0) end
    if f == nil and err == MEMORY then error(MEMORY, 0) end
    return f, err
  end
  local loaded = {}
  env.require = function(name)
    if name == "hookwire" then return env.hookwire end
    if type(name) ~= "string" then error("require: module name must be a string, got " .. type(name), 2) end
    local mod = loaded[name]
    if mod ~= nil then return mod end
    local rel = module_path(name)
    if rel == nil then error(fmt("require: invalid module name '%s'", name), 2) end
    local code, unreadable
    if dir ~= nil and dir ~= "" then code, unreadable = read_source(dir, rel) end
    if code == nil then
      error(unreadable or fmt("require: module '%s' is not available in the hookwire sandbox " ..
        "(only 'hookwire' and .lua files beside the hook file)", name), 2)
    end
    local f, err = load(code, "@" .. rel, "t", env)
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
  if payload == nil then -- no payload (not `{}`): the host publishes an event without data
    local ok, r = py_publish(event_type, 0)
    if not ok then error(r, 3) end
    return r
  end
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
  if type(e) ~= "string" then return 5, "the result cannot be converted" end
  return 5, clip(e)
end

-- The hook's answer as (code, kind, fields...). Runs inside the hook's budget (see `checked`):
-- the flattening may run metamethods of the hook's tables, and must stop with it. A result is
-- known by identity (the SDK's private record), never by what its metatable claims; the
-- record's fields were checked by the helper that made it, and no hook code can change them.
local result_record = internal.result_record
local function result_of(r)
  if r == nil then return 0 end
  local rec = result_record(r)
  if rec == nil then
    local what = type(r)
    if what == "string" then what = fmt("the string %q", escape_text(sub(r, 1, 60)))
    elseif what == "table" then what = "a table not built by a hookwire.* helper"
    elseif what == "number" or what == "boolean" then what = fmt("the %s %s", what, tostring(r)) end
    return 5, "returned " .. what .. "; expected nil or a result from hookwire.continue(), " ..
      "hookwire.modified{...}, hookwire.cancel(reason), ..."
  end
  local kind = rec.kind
  if kind == "continue" then return 0 end -- the same answer as `return nil`
  if kind == "modified" then
    local ok, T, n = pcall(flatten, rec.data, "modified.data")
    if not ok then return bad_value(T) end
    return emit(1, kind, T, n)
  elseif kind == "replace" then
    local ok, T, n = pcall(flatten, rec.value, "replace.value")
    if not ok then return bad_value(T) end
    return emit(1, kind, T, n)
  elseif kind == "fork" then
    local ok, T, n = pcall(flatten, rec.operations, "fork.operations")
    if not ok then return bad_value(T) end
    return emit(1, kind, T, n)
  elseif kind == "retry" then return 1, kind, rec.delay_ms, rec.max_attempts
  elseif kind == "cache" then return 1, kind, rec.key, rec.ttl_ms
  elseif kind == "cancel" or kind == "skipped" then return 1, kind, rec.reason
  elseif kind == "redirect" then return 1, kind, rec.target
  end
  return 5, "unknown result kind"
end

-- (code, ...) of a run: a spent budget is a timeout whatever the run returned or raised (a
-- `__close` handler may have replaced the stop with an error of its own).
local function finish(was_stopped, ok, ...)
  if was_stopped then return 3, "timeout" end
  if ok then return ... end
  return failure((...))
end

-- After the hook returned, still inside its budget (the count hook is still installed): check
-- and flatten its result, then end the run.
local function checked(ok, r)
  if ok and r == nil then -- the common answer, CONTINUE: `after_run` and `finish` inlined
    local was = stopped
    deadline, stopped = saved_deadlines[depth], saved_stopped[depth]
    depth = depth - 1
    if depth == 0 then sethook() end
    if was then return 3, "timeout" end
    return 0
  end
  if ok then return finish(after_run(xpcall(result_of, handler, r))) end
  return finish(after_run(false, r))
end

-- Call hook `fn` with the host context `hctx` (its data passed beside it); see adapter.py for
-- the codes. The hook and the checking of its result are one budgeted run.
local function invoke(fn, deadline_s, data, hctx)
  local ctx = lazy_context(hctx, data)
  enter(deadline_s)
  return checked(xpcall(fn, handler, ctx))
end

-- `invoke` as the embedded adapter calls it: `h` is the handle of the data and `h + 1` that
-- of the context; `...` the values read ahead for the hook (convert.lua `prefill`), if any.
local context_for = convert.context_for
local function call_hook(fn, deadline_s, h, ...)
  local ctx = context_for(h, ...)
  enter(deadline_s)
  return checked(xpcall(fn, handler, ctx))
end

-- After an error escaped an entry point to the host (only an allocation failing outside the
-- protected call can do that): end the runs that are no longer on the stack, so that the count
-- hook and a stale deadline do not outlive them.
local function recover()
  local active, level = 0, 2
  while true do
    local info = getinfo(level, "f")
    if info == nil then break end
    local f = info.func
    if f == call_hook or f == invoke or f == run_limited then active = active + 1 end
    level = level + 1
  end
  if depth > active then
    deadline, stopped = saved_deadlines[active + 1], saved_stopped[active + 1]
    depth = active
    if depth == 0 then sethook() end
  end
end

-- Call subscriber `fn` with an event (a Python dict); its return value is ignored.
local function deliver(fn, deadline_s, event)
  local was_stopped, ok, e = run_limited(deadline_s, fn, lazy_object(event))
  if was_stopped then return 3, "timeout" end
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
  local was_stopped, ok, e = run_limited(deadline_s, f)
  host.loading = false
  local regs = internal.take_registrations()
  if was_stopped then return 3, "timeout" end
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

for _, f in ipairs({ enter, after_run, run_limited, failure, clip, finish, checked, invoke,
  call_hook, recover, deliver, load_file }) do
  OUTSIDE[f] = true
end

return {
  clip = clip,
  recover = recover,
  expose = expose,
  invoke = invoke,
  call_hook = call_hook,
  deliver = deliver,
  load_file = load_file,
  unpack = unpack,
}
