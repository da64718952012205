-- A misbehaving worker for the supervisor tests. It does the handshake properly (one hook,
-- "x"), then answers the first call the way --worker-id says:
--   garbage   a frame whose bytes are not a WorkerMessage
--   oversize  a frame length of 2^40 bytes
--   truncated a frame length of 100, 3 bytes, then the end of output
--   silent    never answers (reads on until its input ends)
local es = require("hookwire.v1.executor_service")

local mode = "garbage"
for i = 1, #arg do
  if arg[i] == "--worker-id" then mode = arg[i + 1] end
end

local function varint(v)
  local t = {}
  repeat
    local b = v & 0x7f
    v = v >> 7
    t[#t + 1] = string.char(v ~= 0 and (b | 0x80) or b)
  until v == 0
  return table.concat(t)
end

local function send(m)
  local body = es.WorkerMessage.encode(es.WorkerMessage.new(m))
  io.stdout:write(varint(#body), body)
  io.stdout:flush()
end

local function read_frame()
  local n, shift = 0, 0
  while true do
    local c = io.stdin:read(1)
    if c == nil then return nil end
    local b = c:byte()
    n = n | ((b & 0x7f) << shift)
    if b < 0x80 then break end
    shift = shift + 7
  end
  return io.stdin:read(n) or ""
end

send({ hello = { worker_id = mode, language = "LANGUAGE_LUA", sdk = "bad/0" } })
read_frame() -- welcome
send({ register = { request_id = 1, hooks = { { name = "x", point = "HOOK_POINT_SESSION_START", language = "LANGUAGE_LUA" } } } })
read_frame() -- ack
read_frame() -- the first call
if mode == "garbage" then
  io.stdout:write("\3\255\255\255")
elseif mode == "oversize" then
  io.stdout:write(varint(1 << 40))
elseif mode == "truncated" then
  io.stdout:write("\100abc")
  io.stdout:flush()
  os.exit(0)
end
io.stdout:flush()
while read_frame() ~= nil do end
