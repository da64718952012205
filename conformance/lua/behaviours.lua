-- Conformance behaviours as real Lua hooks (the `lua` and `lua-process` drivers).
--
-- A driver writes one hook file per scenario hook:
--
--   local behaviours = require("behaviours")
--   hookwire.register("before_tool_execution", behaviours.build({
--     start = 0, cycle = false,
--     calls = {
--       { advance_ms = 60, publish = { { type = "app.x", payload = { n = 1 } } },
--         ends = "returns", result = function() return hookwire.cancel("no") end },
--       { ends = "raises", message = "boom" },
--     },
--   }), { name = "guard" })
--
-- Call n (0-based, counted from `start`) does step n (after the last: the last again, or from
-- the first when `cycle`): it takes `advance_ms` of virtual time through the host's
-- `advance_clock_ms` (embedded: the scenario's VirtualClock; worker process: the call's
-- clock_advance), publishes each of `publish` with `hookwire.publish(type, payload)` (embedded:
-- on the scenario's bus; worker process: a publish frame ahead of the call's answer), then ends
-- the Lua way (docs/semantics.md section 4):
--   returns  -> the result the step's `result` builds with the SDK helpers
--   nothing  -> return nil
--   raises   -> error(message, 0) on even calls, error({message = message}) on odd ones, so
--               both native failure forms run in every scenario that raises more than once
--   invalid  -> the magic string "continue" on even calls, a forged result table (the right
--               shape, not built by a helper) on odd ones; both must be ERROR invalid_result
-- `record` is done here, in Lua: the context as this hook received it is written as JSON text
-- by `describe` (integers and floats told apart with math.type, arrays by their metatable) and
-- handed to the driver as a `conformance.seen` publish, which the driver keeps out of the bus.
-- A publish whose event says `refused = true` runs under pcall; its refusal is handed over as a
-- `conformance.refused` publish (also kept off the bus). Nested executions are done by the
-- driver's Python side after the call.

local M = {}

local function json_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    if c == '"' then return '\\"' end
    if c == "\\" then return "\\\\" end
    return string.format("\\u%04x", c:byte())
  end) .. '"'
end

--- JSON text of a value exactly as Lua holds it (what a hook received).
function M.describe(v)
  if v == hookwire.null then return "null" end
  local t = type(v)
  if t == "boolean" then return tostring(v) end
  if t == "string" then return json_string(v) end
  if t == "number" then
    if math.type(v) == "integer" then return string.format("%d", v) end
    if v ~= v or v == math.huge or v == -math.huge then error("describe: not a JSON number") end
    if v == 0 then return (1 / v < 0) and "-0.0" or "0.0" end
    local text = string.format("%.17g", v)
    if not text:find("[%.eE]") then text = text .. ".0" end
    return text
  end
  if t == "table" then
    local parts = {}
    if hookwire.is_array(v) then
      for i = 1, #v do parts[i] = M.describe(v[i]) end
      return "[" .. table.concat(parts, ",") .. "]"
    end
    local keys = {}
    for k in pairs(v) do keys[#keys + 1] = k end
    table.sort(keys)
    for i, k in ipairs(keys) do parts[i] = json_string(k) .. ":" .. M.describe(v[k]) end
    return "{" .. table.concat(parts, ",") .. "}"
  end
  error("describe: a " .. t .. " is not a JSON value")
end

--- The `conformance.seen` event of what `ctx` holds.
local function record(name, ctx)
  local text = "{" .. '"point":' .. json_string(ctx.point)
    .. ',"data":' .. M.describe(ctx.data)
    .. ',"metadata":' .. M.describe(ctx.metadata)
    .. ',"correlationId":' .. json_string(ctx.correlation_id) .. "}"
  hookwire.publish("conformance.seen", { hook = name, seen = text })
end

local function pick(spec, i)
  local calls = spec.calls
  local n = #calls
  if i < n then return calls[i + 1] end
  if spec.cycle then return calls[i % n + 1] end
  return calls[n]
end

--- A hook function following `spec` (see above).
function M.build(spec)
  local count = spec.start or 0
  return function(ctx)
    local i = count
    count = count + 1
    local step = pick(spec, i)
    if step.advance_ms ~= nil and step.advance_ms > 0 then
      advance_clock_ms(step.advance_ms)
    end
    if step.record then record(spec.name, ctx) end
    if step.publish ~= nil then
      for _, event in ipairs(step.publish) do
        if event.refused then
          -- The step expects this publish to be refused: catch it and say so (Lua errors are
          -- strings, so no code comes with it).
          local ok, err = pcall(hookwire.publish, event.type, event.payload)
          if not ok then
            hookwire.publish("conformance.refused", { hook = spec.name, type = event.type, message = tostring(err) })
          end
        else
          local seq = hookwire.publish(event.type, event.payload)
          if event.sequence ~= nil and seq ~= event.sequence then
            -- publish returns the event's sequence, embedded and in a worker process alike.
            hookwire.publish("conformance.problem", string.format(
              "publish of %s returned %s, expected %d", event.type, tostring(seq), event.sequence))
          end
        end
      end
    end
    local ends = step.ends
    if ends == "returns" then
      return step.result()
    elseif ends == "raises" then
      if i % 2 == 0 then error(step.message, 0) end
      error({ message = step.message })
    elseif ends == "invalid" then
      if i % 2 == 0 then return "continue" end
      return { kind = "cancel", reason = "forged" }
    end
    return nil
  end
end

return M
