"""protoc-gen-hwjswire: turn a CodeGeneratorRequest into JS codec modules.

Files to generate whose package is `hookwire` or `hookwire.*` get a `<file>_wire.js` and
`.d.ts`, and so does every file they import, transitively (google/protobuf/timestamp.proto...),
so that every import in the output resolves. The shared runtime is written as
hookwire/wire_runtime.js. Only proto3 files are supported (the contract is protobuf-es's proto3
behaviour); google.protobuf.Struct/Value/ListValue and wrapper types, which protobuf-es maps to
other local types, are refused.

Example:
    >>> from google.protobuf.compiler import plugin_pb2
    >>> [f.name for f in generate(plugin_pb2.CodeGeneratorRequest()).file]
    ['hookwire/wire_runtime.js', 'hookwire/wire_runtime.d.ts']
"""

from __future__ import annotations

from importlib import resources

from google.protobuf.compiler import plugin_pb2
from hookwire.codegen.jswire.emit import (
    HEADER,
    RUNTIME_PATH,
    Index,
    dts_source,
    module_path,
    module_source,
)
from hookwire.codegen.lua.schema import File, SchemaError, hookwire_files, read_file

# protobuf-es gives these a local representation other than the message (JsonObject, unboxed
# wrapper values), which this generator does not reproduce.
_UNSUPPORTED = frozenset(
    f"google.protobuf.{name}"
    for name in (
        "Struct", "Value", "ListValue", "DoubleValue", "FloatValue", "Int64Value", "UInt64Value",
        "Int32Value", "UInt32Value", "BoolValue", "StringValue", "BytesValue",
    )
)  # fmt: skip

RUNTIME_DTS = """/** Malformed bytes, or a value that cannot be encoded; names the field. */
export declare class WireError extends Error {}
/** Nesting limit of decoded messages (protobuf-es's default recursionLimit). */
export declare const MAX_DEPTH: number;
"""


def runtime_source() -> str:
    """The shared JS runtime, shipped beside this module as runtime.js."""
    return resources.files("hookwire.codegen.jswire").joinpath("runtime.js").read_text("utf-8")


def _check(proto: File, syntax: str) -> None:
    if syntax != "proto3":
        raise SchemaError(f"{proto.proto_name}: only proto3 files are supported, not {syntax!r}")
    for m in proto.messages:
        for f in m.fields:
            if f.type_name in _UNSUPPORTED:
                raise SchemaError(f"{m.full_name}.{f.name}: {f.type_name} is not supported")


def generate(request: plugin_pb2.CodeGeneratorRequest) -> plugin_pb2.CodeGeneratorResponse:
    """Build the response: the runtime, and one module + declarations per wanted file."""
    response = plugin_pb2.CodeGeneratorResponse()
    response.supported_features = plugin_pb2.CodeGeneratorResponse.FEATURE_PROTO3_OPTIONAL
    try:
        files = {fd.name: read_file(fd) for fd in request.proto_file}
        syntax = {fd.name: fd.syntax or "proto2" for fd in request.proto_file}
        wanted = hookwire_files(files, list(request.file_to_generate))
        # hookwire's own files first: a refused field is reported where it is used.
        for name in sorted(wanted, key=lambda n: not files[n].package.startswith("hookwire")):
            _check(files[name], syntax[name])
    except SchemaError as exc:
        response.error = str(exc)
        return response
    index = Index(files[name] for name in wanted)
    source = "codegen/hookwire/codegen/jswire/runtime.js"
    runtime = response.file.add()
    runtime.name = RUNTIME_PATH
    runtime.content = f"{HEADER}\n// source: {source}\n\n{runtime_source()}"
    declarations = response.file.add()
    declarations.name = RUNTIME_PATH.removesuffix(".js") + ".d.ts"
    declarations.content = f"{HEADER}\n\n{RUNTIME_DTS}"
    for name in wanted:
        proto = files[name]
        out = response.file.add()
        out.name = module_path(proto)
        out.content = module_source(proto, index)
        out = response.file.add()
        out.name = module_path(proto).removesuffix(".js") + ".d.ts"
        out.content = dts_source(proto)
    return response
