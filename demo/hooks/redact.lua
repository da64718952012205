-- Lua hook of the demo: redact the user's e-mail before the tool sees it, and say so on the bus.
local hookwire = require("hookwire")

hookwire.register("before_tool_execution", function(ctx)
  local seen = {}
  for i, lang in ipairs(ctx.data.seen_by or {}) do seen[i] = lang end
  seen[#seen + 1] = "lua"
  local patch = { seen_by = hookwire.array(seen) }
  if ctx.data.user and ctx.data.user.email then
    -- hookwire.null deletes the key (RFC 7396 merge patch).
    patch.user = { email = hookwire.null, email_domain = ctx.data.user.email:match("@(.+)$") }
    hookwire.publish("demo.lua.redacted", { field = "user.email" })
  end
  return hookwire.modified(patch)
end, { name = "lua-redact-email", priority = 0 })
