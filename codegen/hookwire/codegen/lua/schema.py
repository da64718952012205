"""The part of a protobuf schema the Lua generator needs, read from FileDescriptorProtos.

Example:
    >>> from google.protobuf import descriptor_pb2, timestamp_pb2
    >>> fd = descriptor_pb2.FileDescriptorProto()
    >>> _ = timestamp_pb2.DESCRIPTOR.CopyToProto(fd)
    >>> [f.name for f in read_file(fd).messages[0].fields]
    ['seconds', 'nanos']
"""

from __future__ import annotations

from dataclasses import dataclass, field

from google.protobuf import descriptor_pb2

_T = descriptor_pb2.FieldDescriptorProto

# Proto type -> the kind name the Lua runtime uses.
KINDS: dict[int, str] = {
    _T.TYPE_DOUBLE: "double",
    _T.TYPE_FLOAT: "float",
    _T.TYPE_INT64: "int64",
    _T.TYPE_UINT64: "uint64",
    _T.TYPE_INT32: "int32",
    _T.TYPE_FIXED64: "fixed64",
    _T.TYPE_FIXED32: "fixed32",
    _T.TYPE_BOOL: "bool",
    _T.TYPE_STRING: "string",
    _T.TYPE_MESSAGE: "message",
    _T.TYPE_BYTES: "bytes",
    _T.TYPE_UINT32: "uint32",
    _T.TYPE_ENUM: "enum",
    _T.TYPE_SFIXED32: "sfixed32",
    _T.TYPE_SFIXED64: "sfixed64",
    _T.TYPE_SINT32: "sint32",
    _T.TYPE_SINT64: "sint64",
}

# Wire type of each kind when it is not packed.
WIRE_TYPES: dict[str, int] = {
    "int32": 0, "int64": 0, "uint32": 0, "uint64": 0, "sint32": 0, "sint64": 0, "bool": 0,
    "enum": 0, "fixed64": 1, "sfixed64": 1, "double": 1, "string": 2, "bytes": 2, "message": 2,
    "fixed32": 5, "sfixed32": 5, "float": 5,
}  # fmt: skip


#: Custom options extend its messages; it is never part of a generated wire module.
DESCRIPTOR_PROTO = "google/protobuf/descriptor.proto"


class SchemaError(ValueError):
    """The schema uses something the Lua generator does not support (e.g. proto2 groups)."""


@dataclass(frozen=True)
class Field:
    """One field. For a map, kind/type_name describe the value and key_kind the key."""

    name: str
    json_name: str
    number: int
    kind: str
    label: str  # "single" | "optional" (proto3 optional) | "repeated" | "map"
    type_name: str = ""  # full name (no leading dot) of the message or enum type
    oneof: str | None = None
    key_kind: str = ""
    packed: bool = False

    @property
    def wire_type(self) -> int:
        return WIRE_TYPES[self.kind]


@dataclass(frozen=True)
class Oneof:
    name: str
    fields: tuple[str, ...]


@dataclass(frozen=True)
class Message:
    full_name: str
    key: str  # name inside its module: "Outer_Inner" for nested messages
    fields: tuple[Field, ...]  # in field-number order (the canonical encoding order)
    oneofs: tuple[Oneof, ...]


@dataclass(frozen=True)
class Enum:
    full_name: str
    key: str
    values: tuple[tuple[str, int], ...]


@dataclass
class File:
    proto_name: str  # "hookwire/v1/hook.proto"
    package: str
    dependencies: tuple[str, ...]
    messages: list[Message] = field(default_factory=list)
    enums: list[Enum] = field(default_factory=list)

    @property
    def module(self) -> str:
        """The Lua require name: "hookwire.v1.hook"."""
        return self.proto_name.removesuffix(".proto").replace("/", ".")


def _full(package: str, name: str) -> str:
    return f"{package}.{name}" if package else name


def _map_entries(
    msg: descriptor_pb2.DescriptorProto, scope: str
) -> dict[str, descriptor_pb2.DescriptorProto]:
    return {
        f".{scope}.{nested.name}": nested for nested in msg.nested_type if nested.options.map_entry
    }


def _read_field(
    f: descriptor_pb2.FieldDescriptorProto,
    msg: descriptor_pb2.DescriptorProto,
    entries: dict[str, descriptor_pb2.DescriptorProto],
    owner: str,
) -> Field:
    if f.type == _T.TYPE_GROUP:
        raise SchemaError(f"{owner}.{f.name}: groups are not supported")
    kind = KINDS[f.type]
    oneof = None
    label = "single"
    if f.HasField("oneof_index"):
        if f.proto3_optional:  # proto3 `optional` lives in a synthetic oneof of its own
            label = "optional"
        else:
            oneof = msg.oneof_decl[f.oneof_index].name
    if f.label == _T.LABEL_REPEATED:
        entry = entries.get(f.type_name)
        if entry is not None:
            key, value = sorted(entry.field, key=lambda x: x.number)
            return Field(
                name=f.name,
                json_name=f.json_name or f.name,
                number=f.number,
                kind=KINDS[value.type],
                label="map",
                type_name=value.type_name.lstrip("."),
                key_kind=KINDS[key.type],
            )
        label = "repeated"
    packable = label == "repeated" and WIRE_TYPES[kind] != 2
    packed = packable and not (f.options.HasField("packed") and not f.options.packed)
    return Field(
        name=f.name,
        json_name=f.json_name or f.name,
        number=f.number,
        kind=kind,
        label=label,
        type_name=f.type_name.lstrip("."),
        oneof=oneof,
        packed=packed,
    )


def _read_message(msg: descriptor_pb2.DescriptorProto, prefix: str, scope: str, out: File) -> None:
    key = f"{prefix}{msg.name}"
    dotted = _full(scope, msg.name)
    entries = _map_entries(msg, dotted)
    fields = tuple(
        sorted((_read_field(f, msg, entries, dotted) for f in msg.field), key=lambda x: x.number)
    )
    oneofs = tuple(
        Oneof(decl.name, tuple(f.name for f in fields if f.oneof == decl.name))
        for decl in msg.oneof_decl
        if any(f.oneof == decl.name for f in fields)
    )
    out.messages.append(Message(full_name=dotted, key=key, fields=fields, oneofs=oneofs))
    for nested_enum in msg.enum_type:
        out.enums.append(
            Enum(
                full_name=f"{dotted}.{nested_enum.name}",
                key=f"{key}_{nested_enum.name}",
                values=tuple((v.name, v.number) for v in nested_enum.value),
            )
        )
    for nested in msg.nested_type:
        if not nested.options.map_entry:
            _read_message(nested, f"{key}_", dotted, out)


def read_file(fd: descriptor_pb2.FileDescriptorProto) -> File:
    """Read the messages and enums of one .proto file (nested ones flattened as Outer_Inner)."""
    out = File(proto_name=fd.name, package=fd.package, dependencies=tuple(fd.dependency))
    for enum in fd.enum_type:
        out.enums.append(
            Enum(
                full_name=_full(fd.package, enum.name),
                key=enum.name,
                values=tuple((v.name, v.number) for v in enum.value),
            )
        )
    for msg in fd.message_type:
        _read_message(msg, "", fd.package, out)
    seen: dict[str, str] = {}
    names = [(m.key, m.full_name) for m in out.messages] + [(e.key, e.full_name) for e in out.enums]
    for key, full_name in names:
        other = seen.setdefault(key, full_name)
        if other != full_name:
            raise SchemaError(
                f"{fd.name}: {other} and {full_name} would both be named {key} in Lua"
            )
    return out


def hookwire_files(files: dict[str, File], to_generate: list[str]) -> list[str]:
    """The files a hookwire plugin writes, sorted: those of `to_generate` whose package is
    `hookwire` or `hookwire.*`, and every file they import, transitively (so that every import
    in the output resolves). descriptor.proto (what custom options extend, read at build time)
    is left out: nothing of it travels on the wire, and a module importing it for its options
    does not need it."""
    wanted: set[str] = set()
    pending = [n for n in to_generate if files[n].package.split(".")[0] == "hookwire"]
    while pending:
        name = pending.pop()
        f = files[name]
        if name in wanted or name == DESCRIPTOR_PROTO:
            continue
        wanted.add(name)
        pending.extend(f.dependencies)
    return sorted(wanted)
