"""Run protoc-gen-hwlua: read a CodeGeneratorRequest on stdin, write the response to stdout.

Example (through protoc, with a wrapper script that runs `python -m hookwire.codegen.lua`):
    python -m grpc_tools.protoc -Iproto --plugin=protoc-gen-hwlua=./wrapper \\
        --hwlua_out=generated/lua proto/hookwire/v1/hook.proto
"""

from __future__ import annotations

import sys

from google.protobuf.compiler import plugin_pb2
from hookwire.codegen.lua.plugin import generate


def main() -> None:
    request = plugin_pb2.CodeGeneratorRequest.FromString(sys.stdin.buffer.read())
    sys.stdout.buffer.write(generate(request).SerializeToString(deterministic=True))


if __name__ == "__main__":
    main()
