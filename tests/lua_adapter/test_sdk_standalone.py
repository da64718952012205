"""The SDK is pure Lua 5.4: it loads in a plain `lua5.4` (as the out-of-process worker will)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

SDK_DIR = Path(__file__).resolve().parents[2] / "sdk" / "lua"

SCRIPT = r"""
package.path = arg[1] .. "/?.lua;" .. package.path
local hw = require("hookwire")
local internal = hw._internal
hw._internal = nil
local function show(v)
  if type(v) ~= "table" then return tostring(v) end
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = k end
  table.sort(keys)
  local parts = {}
  for _, k in ipairs(keys) do parts[#parts + 1] = k .. "=" .. show(v[k]) end
  return "{" .. table.concat(parts, ",") .. "}"
end
hw.register("session_start", function() end, { name = "a", priority = 3, tags = { "x" } })
hw.register("custom:p", function() end)
local regs = internal.take_registrations()
print(#regs, regs[1].point, show(regs[1].opts), regs[2].point, show(regs[2].opts))
print(show(hw.retry(60, 3)), getmetatable(hw.retry(60, 3)))
print(show(hw.fork{ { operation = "op" } }))
print(select(2, pcall(hw.cancel, 1)))
print(select(2, pcall(hw.register, "p", function() end, { bogus = 1 })))
print(hw.is_array(hw.array{}), hw.is_array({}), hw.is_null(hw.null), tostring(hw.null))
"""


@pytest.mark.skipif(shutil.which("lua5.4") is None, reason="lua5.4 is not installed")
def test_sdk_runs_in_plain_lua() -> None:
    out = subprocess.run(
        ["lua5.4", "-", str(SDK_DIR)], input=SCRIPT, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out == [
        "2\tsession_start\t{name=a,priority=3,tags={1=x}}\tcustom:p\t{}",
        "{delay_ms=60,kind=retry,max_attempts=3}\thookwire.result",
        "{kind=fork,operations={1={operation=op,parameters={}}}}",
        "hookwire.cancel: reason must be a string, got number",
        "hookwire.register: unknown option bogus (known: enabled, failure_policy, feature, "
        "name, priority, tags, timeout_ms)",
        "true\tfalse\ttrue\thookwire.null",
    ]
