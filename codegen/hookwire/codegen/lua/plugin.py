"""protoc-gen-hwlua: turn a CodeGeneratorRequest into Lua modules (a CodeGeneratorResponse).

Files in file_to_generate whose package is `hookwire` or starts with `hookwire.` get a module,
and so does every file they import, transitively (google/protobuf/timestamp.proto and the
like), so that every `require` in the output resolves. Other packages are skipped. The shared
runtime is written as hookwire/pb.lua.

Example:
    >>> from google.protobuf.compiler import plugin_pb2
    >>> [f.name for f in generate(plugin_pb2.CodeGeneratorRequest()).file]
    ['hookwire/pb.lua']
"""

from __future__ import annotations

from importlib import resources

from google.protobuf.compiler import plugin_pb2
from hookwire.codegen.lua.emit import HEADER, module_source
from hookwire.codegen.lua.schema import SchemaError, hookwire_files, read_file

RUNTIME_PATH = "hookwire/pb.lua"


def runtime_source() -> str:
    """The shared Lua runtime, shipped beside this module as runtime.lua."""
    return resources.files("hookwire.codegen.lua").joinpath("runtime.lua").read_text("utf-8")


def generate(request: plugin_pb2.CodeGeneratorRequest) -> plugin_pb2.CodeGeneratorResponse:
    """Build the response: one module per selected file and dependency, plus the runtime."""
    response = plugin_pb2.CodeGeneratorResponse()
    response.supported_features = plugin_pb2.CodeGeneratorResponse.FEATURE_PROTO3_OPTIONAL
    try:
        files = {fd.name: read_file(fd) for fd in request.proto_file}
    except SchemaError as exc:
        response.error = str(exc)
        return response
    out = response.file.add()
    out.name = RUNTIME_PATH
    out.content = (
        f"{HEADER}\n-- source: codegen/hookwire/codegen/lua/runtime.lua\n\n{runtime_source()}"
    )
    wanted = hookwire_files(files, list(request.file_to_generate))
    for name in wanted:
        proto = files[name]
        imports = {dep: files[dep] for dep in proto.dependencies if dep in wanted}
        out = response.file.add()
        out.name = proto.module.replace(".", "/") + ".lua"
        out.content = module_source(proto, imports)
    return response
