"""Run protoc-gen-hwjswire: read a CodeGeneratorRequest on stdin, write the response to stdout.

Example (through protoc, with a wrapper script that runs `python -m hookwire.codegen.jswire`):
    python -m grpc_tools.protoc -Iproto --plugin=protoc-gen-hwjswire=./wrapper \\
        --hwjswire_out=generated/js proto/hookwire/v1/hook.proto
"""

from __future__ import annotations

import sys

from google.protobuf.compiler import plugin_pb2
from hookwire.codegen.jswire.plugin import generate


def main() -> None:
    request = plugin_pb2.CodeGeneratorRequest.FromString(sys.stdin.buffer.read())
    sys.stdout.buffer.write(generate(request).SerializeToString(deterministic=True))


if __name__ == "__main__":
    main()
