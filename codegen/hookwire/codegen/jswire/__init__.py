"""protoc-gen-hwjswire: straight-line JS binary codecs, drop-in for protobuf-es (docs/generate.md).

Run as a protoc plugin with `python -m hookwire.codegen.jswire`; `hookwire.codegen.generate` does
that as part of `nox -s generate`, writing generated/js/**/<file>_wire.js.
"""
