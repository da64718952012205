-- Test driver for the generated Lua codec, used two ways:
--   * loaded by lupa: returns `handle`;
--   * run by the system lua5.4 (`lua5.4 driver.lua GENERATED_LUA_DIR`): reads requests, one per
--     line "op<TAB>module<TAB>class<TAB>hex payload", and answers "ok<TAB>hex" or
--     "err<TAB>message" per line.
-- Ops: bin2bin (decode, encode), bin2json (decode, to_json), json2bin (from_json, encode).

local function unhex(h)
  return (h:gsub("%x%x", function(x) return string.char(tonumber(x, 16)) end))
end

local function tohex(s)
  return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

local OPS = {
  bin2bin = function(C, p) return C.encode(C.decode(p)) end,
  bin2json = function(C, p) return C.to_json(C.decode(p)) end,
  json2bin = function(C, p) return C.encode(C.from_json(p)) end,
  json2json = function(C, p) return C.to_json(C.from_json(p)) end,
}

local function handle(op, module, class, payload)
  local C = require(module)[class]
  return pcall(OPS[op], C, payload)
end

if arg and arg[1] then
  package.path = arg[1] .. "/?.lua;" .. package.path
  for line in io.lines() do
    local op, module, class, hex = line:match("^(%w+)\t([%w._]+)\t([%w_]+)\t(%x*)$")
    local ok, out = handle(op, module, class, unhex(hex))
    if ok then
      io.write("ok\t", tohex(out), "\n")
    else
      io.write("err\t", (tostring(out):gsub("[\r\n]", " ")), "\n")
    end
  end
  return
end

return { handle = handle }
