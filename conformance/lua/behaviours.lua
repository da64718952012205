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
-- the Lua way (SEMANTICS.md section 4):
--   returns  -> the result the step's `result` builds with the SDK helpers
--   nothing  -> return nil
--   raises   -> error(message, 0) on even calls, error({message = message}) on odd ones, so
--               both native failure forms run in every scenario that raises more than once
--   invalid  -> the magic string "continue" on even calls, a forged result table (the right
--               shape, not built by a helper) on odd ones; both must be ERROR invalid_result
-- Recording and nested executions are done by the driver's Python side after the call.

local M = {}

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
    if step.publish ~= nil then
      for _, event in ipairs(step.publish) do hookwire.publish(event.type, event.payload) end
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
