"""Built-in hooks: ordinary hooks on the public API (see docs/builtins.md).

Each built-in is a class taking its configuration and a clock; its instances (or their bound
methods) are registered with `Registry.register` like any user hook.
"""
