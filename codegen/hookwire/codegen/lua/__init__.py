"""protoc-gen-hwlua: hookwire's protoc plugin writing pure Lua 5.4 modules (see README.md).

Run as a protoc plugin with `python -m hookwire.codegen.lua`; `hookwire.codegen.generate` does
that as part of `nox -s generate`, writing generated/lua/.
"""
