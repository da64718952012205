"""hookwire's code generator: protoc plugins (Lua, Python converters) and the `generate` driver."""
