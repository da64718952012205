"""protoc plugin writing field-by-field converters between pydantic models and pb2 messages.

protoc runs it as ``--hwpyconvert_out=DIR`` (see hookwire.codegen.generate); it writes
``DIR/hookwire/v1/convert.py`` with, for every message ``X`` of the files to generate::

    x_to_pb(model: models.X) -> x_pb2.X        # pydantic model -> protobuf message
    x_from_pb(pb: x_pb2.X) -> models.X         # protobuf message -> pydantic model

(``x`` is the message name in snake case: ``HookContext`` -> ``hook_context_to_pb``.) Every field
kind is converted by generated code, not through ``json_format``: scalars, enums (by member name),
proto3 ``optional`` and oneof members (``None`` = not set), repeated fields, maps, nested and
recursive messages, and ``Timestamp``/``Duration`` (held by the models as their proto3 JSON
strings, which keep nanoseconds). A model with two members of one oneof set, an invalid
Timestamp/Duration string, or a protobuf enum number the model has no member for raises
``ConversionError`` naming the message and field.

Example (of the generated module):
    >>> from hookwire.v1 import convert, models
    >>> pb = convert.cancel_result_to_pb(models.CancelResult(reason="no"))
    >>> pb.SerializeToString()
    b'\\n\\x02no'
    >>> convert.cancel_result_from_pb(pb)
    CancelResult(reason='no')
"""

from __future__ import annotations

import keyword
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from google.protobuf import descriptor_pb2
from google.protobuf.compiler import plugin_pb2
from pydantic import BaseModel

FDP = descriptor_pb2.FieldDescriptorProto
WELL_KNOWN_STRINGS = {".google.protobuf.Timestamp", ".google.protobuf.Duration"}
OUTPUT = "hookwire/v1/convert.py"
PACKAGE = "hookwire.v1"


class UnsupportedSchema(Exception):
    """The schema uses a construct this generator does not convert (named in the message)."""


def snake(name: str) -> str:
    """``HookContext`` -> ``hook_context``.

    >>> snake("HookContext"), snake("JsonValue"), snake("WorkerHello")
    ('hook_context', 'json_value', 'worker_hello')
    """
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def model_attr(field_name: str) -> str:
    """The pydantic field name datamodel-code-generator gives a proto field.

    It appends ``_`` to Python keywords and to names BaseModel already has (``register`` comes
    from its ABC metaclass); the field keeps the proto name as its alias.

    >>> model_attr("continue"), model_attr("register"), model_attr("data")
    ('continue_', 'register_', 'data')
    """
    taken = keyword.iskeyword(field_name) or hasattr(BaseModel, field_name)
    return field_name + "_" if taken else field_name


def pb_get(var: str, field_name: str) -> str:
    """Expression reading a pb attribute (``getattr`` for names that are Python keywords)."""
    if keyword.iskeyword(field_name):
        return f'getattr({var}, "{field_name}")'
    return f"{var}.{field_name}"


@dataclass(frozen=True)
class Kind:
    """What one field is, as far as the conversion code cares."""

    shape: str  # "single", "optional", "oneof", "repeated", "map"
    value: str  # "scalar", "enum", "message", "wkt"
    type_name: str  # full proto name of the enum/message value type ("" for scalars)
    oneof: str = ""  # oneof name for shape "oneof"


class Schema:
    """Indexes every message and enum of a CodeGeneratorRequest by full name."""

    def __init__(self, request: plugin_pb2.CodeGeneratorRequest) -> None:
        self.messages: dict[str, descriptor_pb2.DescriptorProto] = {}
        self.enums: dict[str, descriptor_pb2.EnumDescriptorProto] = {}
        self.module_of: dict[str, str] = {}
        self.generate = list(request.file_to_generate)
        self.files = {f.name: f for f in request.proto_file}
        for f in request.proto_file:
            if f.package != PACKAGE:
                continue  # only hookwire.v1 has pydantic models (hookwire.codegen.models)
            if not f.name.startswith(PACKAGE.replace(".", "/") + "/"):
                raise UnsupportedSchema(
                    f"{f.name}: package {PACKAGE} files must be in hookwire/v1/"
                )
            module = f.name.rsplit("/", 1)[-1].removesuffix(".proto") + "_pb2"
            for message in f.message_type:
                full = f".{f.package}.{message.name}"
                self.messages[full] = message
                self.module_of[full] = module
                if f.name in self.generate:
                    self._no_nested(f.name, message)
            for enum in f.enum_type:
                full = f".{f.package}.{enum.name}"
                self.enums[full] = enum
                self.module_of[full] = module
        self.generate = [n for n in self.generate if self.files[n].package == PACKAGE]

    @staticmethod
    def _no_nested(file: str, message: descriptor_pb2.DescriptorProto) -> None:
        for nested in message.nested_type:
            if not nested.options.map_entry:
                raise UnsupportedSchema(
                    f"{file}: message {message.name} nests message {nested.name}; "
                    "hookwire.codegen.pyconvert converts top-level messages only"
                )
        if message.enum_type:
            raise UnsupportedSchema(
                f"{file}: message {message.name} nests enum {message.enum_type[0].name}; "
                "declare enums at file level"
            )

    def value_kind(self, field: descriptor_pb2.FieldDescriptorProto, where: str) -> tuple[str, str]:
        if field.type == FDP.TYPE_ENUM:
            return "enum", field.type_name
        if field.type in (FDP.TYPE_MESSAGE, FDP.TYPE_GROUP):
            if field.type_name in WELL_KNOWN_STRINGS:
                return "wkt", field.type_name
            if field.type_name not in self.messages:
                raise UnsupportedSchema(f"{where}: type {field.type_name} is not supported")
            return "message", field.type_name
        return "scalar", ""

    def kind(
        self, message: descriptor_pb2.DescriptorProto, field: descriptor_pb2.FieldDescriptorProto
    ) -> Kind:
        where = f"{message.name}.{field.name}"
        if field.label == FDP.LABEL_REPEATED:
            entry = self._maybe_map_entry(field) if field.type == FDP.TYPE_MESSAGE else None
            if entry is not None:
                value, type_name = self.value_kind(entry.field[1], where)
                return Kind("map", value, type_name)
            value, type_name = self.value_kind(field, where)
            return Kind("repeated", value, type_name)
        value, type_name = self.value_kind(field, where)
        if field.proto3_optional:
            return Kind("optional", value, type_name)
        if field.HasField("oneof_index"):
            return Kind("oneof", value, type_name, message.oneof_decl[field.oneof_index].name)
        return Kind("single", value, type_name)

    def _maybe_map_entry(
        self, field: descriptor_pb2.FieldDescriptorProto
    ) -> descriptor_pb2.DescriptorProto | None:
        owner_name, entry_name = field.type_name.rsplit(".", 1)
        owner = self.messages.get(owner_name)
        if owner is None:
            return None
        for nested in owner.nested_type:
            if nested.name == entry_name and nested.options.map_entry:
                return nested
        return None

    def to_generate(self) -> Iterator[tuple[str, descriptor_pb2.DescriptorProto]]:
        for name in self.generate:
            f = self.files[name]
            for message in f.message_type:
                yield f".{f.package}.{message.name}", message

    def enums_to_generate(self) -> Iterator[tuple[str, descriptor_pb2.EnumDescriptorProto]]:
        for name in self.generate:
            f = self.files[name]
            for enum in f.enum_type:
                yield f".{f.package}.{enum.name}", enum


PRELUDE = Path(__file__).with_name("convert_prelude.py")
IMPORT_LINE = (
    "from hookwire.v1 import models  # noqa: F401  (pyconvert adds the *_pb2 modules here)\n"
)


def short(full_name: str) -> str:
    return full_name.rsplit(".", 1)[-1]


class Writer:
    """Builds convert.py from a Schema."""

    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self.lines: list[str] = []
        self.counted: set[str] = set()

    def emit(self, line: str = "") -> None:
        self.lines.append(line)

    def pb_type(self, full_name: str) -> str:
        return f"{self.schema.module_of[full_name]}.{short(full_name)}"

    # --- value expressions -------------------------------------------------------------------

    def to_pb_value(self, value: str, type_name: str, expr: str) -> str:
        if value == "enum":
            return f"_{snake(short(type_name)).upper()}_TO_PB[{expr}]"
        return expr

    def from_pb_value(self, value: str, type_name: str, expr: str, where: str) -> str:
        if value == "enum":
            name = short(type_name)
            table = f"_{snake(name).upper()}_FROM_PB"
            return f'({table}.get({expr}) or _unknown_enum("{where}", "{name}", {expr}))'
        if value == "message":
            return f"{snake(short(type_name))}_from_pb({expr})"
        if value == "wkt":
            return f'_{snake(short(type_name))}_text({expr}, "{where}")'
        return expr

    # --- sections ----------------------------------------------------------------------------

    def header(self) -> None:
        modules = sorted({self.schema.module_of[full] for full, _ in self.schema.to_generate()})
        modules += sorted(
            {self.schema.module_of[full] for full, _ in self.schema.enums_to_generate()}
            - set(modules)
        )
        imports = "".join(f"    {module},\n" for module in sorted(set(modules)))
        prelude = PRELUDE.read_text(encoding="utf-8").split("# ---\n", 1)[1]
        if IMPORT_LINE not in prelude:
            raise UnsupportedSchema(f"{PRELUDE} lost its import line {IMPORT_LINE!r}")
        prelude = prelude.replace(
            IMPORT_LINE, f"from hookwire.v1 import (\n{imports}    models,\n)\n"
        )
        self.lines.extend(prelude.rstrip("\n").splitlines())

    def enum_tables(self) -> None:
        for full, enum in self.schema.enums_to_generate():
            name = enum.name
            module = self.schema.module_of[full]
            self.emit("")
            self.emit("")
            table = snake(name).upper()
            self.emit(f"_{table}_TO_PB: dict[models.{name}, {module}.{name}.ValueType] = {{")
            for v in enum.value:
                self.emit(f"    models.{name}.{v.name}: {module}.{v.name},")
            self.emit("}")
            self.emit(f"_{table}_FROM_PB: dict[int, models.{name}] = {{")
            seen: set[int] = set()
            for v in enum.value:
                if v.number not in seen:  # allow_alias: the first name wins
                    seen.add(v.number)
                    self.emit(f"    {module}.{v.name}: models.{name}.{v.name},")
            self.emit("}")

    def to_pb(self, full: str, message: descriptor_pb2.DescriptorProto) -> None:
        name = message.name
        fn = snake(name)
        pb_type = self.pb_type(full)
        self.emit("")
        self.emit("")
        self.emit(f"def {fn}_to_pb(model: models.{name}) -> {pb_type}:")
        self.emit(f'    """Build a {pb_type} from a models.{name}, field by field."""')
        self.emit(f"    pb = {pb_type}()")
        self.emit(f"    _fill_{fn}(model, pb)")
        self.emit("    return pb")
        self.emit("")
        self.emit("")
        self.emit(f"def _fill_{fn}(model: models.{name}, pb: {pb_type}) -> None:")
        body_start = len(self.lines)
        oneofs: dict[str, list[str]] = {}
        for field in message.field:
            kind = self.schema.kind(message, field)
            if kind.shape == "oneof":
                oneofs.setdefault(kind.oneof, []).append(field.name)
        # Oneofs of 2+ members count their set members while filling; more than one is an error.
        self.counted = {oneof for oneof, members in oneofs.items() if len(members) > 1}
        for oneof in sorted(self.counted):
            self.emit(f"    _n_{oneof} = 0")
        for field in message.field:
            self.fill_field(name, message, field)
        for oneof in sorted(self.counted):
            members = oneofs[oneof]
            self.emit(f"    if _n_{oneof} > 1:")
            listed = ", ".join(
                f'*(["{m}"] if model.{model_attr(m)} is not None else [])' for m in members
            )
            self.emit(f'        _too_many("{name}.{oneof}", [{listed}])')
        if len(self.lines) == body_start:
            self.emit("    pb.SetInParent()  # no fields")

    def fill_field(
        self,
        name: str,
        message: descriptor_pb2.DescriptorProto,
        field: descriptor_pb2.FieldDescriptorProto,
    ) -> None:
        kind = self.schema.kind(message, field)
        attr = f"model.{model_attr(field.name)}"
        target = pb_get("pb", field.name)
        where = f"{name}.{field.name}"
        if kind.shape == "map":
            if kind.value == "message":
                # A message map's __getitem__ inserts the entry, present even when empty.
                self.emit(f"    entries_{field.name} = {target}")
                self.emit(f"    for key, value in {attr}.items():")
                fill = f"_fill_{snake(short(kind.type_name))}"
                self.emit(f"        {fill}(value, entries_{field.name}[key])")
            elif kind.value == "enum":
                conv = self.to_pb_value("enum", kind.type_name, "value")
                self.emit(f"    for key, value in {attr}.items():")
                self.emit(f"        {target}[key] = {conv}")
            elif kind.value == "wkt":
                setter = f"_set_{snake(short(kind.type_name))}"
                self.emit(f"    for key, value in {attr}.items():")
                self.emit(f'        {setter}({target}[key], value, "{where}[" + repr(key) + "]")')
            else:
                self.emit(f"    {target}.update({attr})")
            return
        if kind.shape == "repeated":
            if kind.value == "message":
                self.emit(f"    add_{field.name} = {target}.add")
                self.emit(f"    for value in {attr}:")
                fill = f"_fill_{snake(short(kind.type_name))}"
                self.emit(f"        {fill}(value, add_{field.name}())")
            elif kind.value == "enum":
                conv = self.to_pb_value("enum", kind.type_name, "value")
                self.emit(f"    {target}.extend([{conv} for value in {attr}])")
            elif kind.value == "wkt":
                setter = f"_set_{snake(short(kind.type_name))}"
                self.emit(f"    for index, value in enumerate({attr}):")
                self.emit(f'        {setter}({target}.add(), value, "{where}[" + str(index) + "]")')
            else:
                self.emit(f"    {target}.extend({attr})")
            return
        present = kind.shape in ("optional", "oneof") or kind.value in ("message", "wkt")
        indent = "    "
        if present:
            self.emit(f"    if {attr} is not None:")
            indent = "        "
            if kind.shape == "oneof" and kind.oneof in self.counted:
                self.emit(f"{indent}_n_{kind.oneof} += 1")
        if kind.value == "message":
            # One attribute read of the sub-message (each read builds a wrapper).
            self.emit(f"{indent}sub_{field.name} = {target}")
            self.emit(f"{indent}sub_{field.name}.SetInParent()")
            self.emit(f"{indent}_fill_{snake(short(kind.type_name))}({attr}, sub_{field.name})")
        elif kind.value == "wkt":
            setter = f"_set_{snake(short(kind.type_name))}"
            self.emit(f'{indent}{setter}({target}, {attr}, "{where}")')
        elif keyword.iskeyword(field.name):
            value = self.to_pb_value(kind.value, kind.type_name, attr)
            self.emit(f'{indent}setattr(pb, "{field.name}", {value})')
        else:
            value = self.to_pb_value(kind.value, kind.type_name, attr)
            self.emit(f"{indent}{target} = {value}")

    def from_pb(self, full: str, message: descriptor_pb2.DescriptorProto) -> None:
        name = message.name
        fn = snake(name)
        const = fn.upper()
        pb_type = self.pb_type(full)
        attrs = [model_attr(field.name) for field in message.field]
        # The model's fields_set is a copy of this (a frozenset copies faster than a dict's
        # keys are collected).
        self.emit("")
        self.emit("")
        listed = ", ".join(f'"{a}"' for a in attrs) + ("," if len(attrs) == 1 else "")
        self.emit(f"_{const}_FIELDS: frozenset[str] = frozenset(({listed}))")
        members: dict[str, list[tuple[descriptor_pb2.FieldDescriptorProto, Kind]]] = {}
        for field in message.field:
            kind = self.schema.kind(message, field)
            if kind.shape == "oneof":
                members.setdefault(kind.oneof, []).append((field, kind))
        if members:
            # Messages with a oneof start from a copy of this (every field None, in declaration
            # order, the order pydantic shows and dumps fields in): one dict copy instead of
            # building a dict of every member, most of them None.
            self.emit(f"_{const}_UNSET: dict[str, Any] = {{")
            self.lines.extend(f'    "{a}": None,' for a in attrs)
            self.emit("}")
        self.emit("")
        self.emit("")
        self.emit(f"def {fn}_from_pb(pb: {pb_type}) -> models.{name}:")
        self.emit(f'    """Build a models.{name} from a {pb_type}, field by field."""')
        before: list[str] = []  # locals the values read
        items: list[tuple[str, str]] = []  # (model attribute, expression) of non-oneof fields
        for field in message.field:
            kind = self.schema.kind(message, field)
            src = pb_get("pb", field.name)
            where = f"{name}.{field.name}"
            if kind.shape == "oneof":
                continue
            if kind.shape == "map":
                conv = self.from_pb_value(kind.value, kind.type_name, "value", where)
                if kind.value == "scalar":
                    expr = f"dict({src})"
                else:
                    # Keys and __getitem__ are C; a protobuf map's items() is the Python
                    # ItemsView mixin (a generator frame per entry).
                    local = f"entries_{field.name}"
                    before.append(f"    {local} = {src}")
                    conv = self.from_pb_value(kind.value, kind.type_name, f"{local}[key]", where)
                    expr = f"{{key: {conv} for key in {local}}}"
            elif kind.shape == "repeated":
                conv = self.from_pb_value(kind.value, kind.type_name, "value", where)
                expr = f"list({src})" if kind.value == "scalar" else f"[{conv} for value in {src}]"
            else:
                conv = self.from_pb_value(kind.value, kind.type_name, src, where)
                if kind.shape == "optional" or kind.value in ("message", "wkt"):
                    expr = f'{conv} if pb.HasField("{field.name}") else None'
                else:
                    expr = conv
            items.append((model_attr(field.name), expr))
        self.lines.extend(before)
        if members:
            self.emit(f"    values = _{const}_UNSET.copy()")
            for attr, expr in items:
                self.emit(f'    values["{attr}"] = {expr}')
        else:
            self.emit("    values: dict[str, Any] = {")
            self.lines.extend(f'        "{attr}": {expr},' for attr, expr in items)
            self.emit("    }")
        for oneof in sorted(members):
            self.emit(f'    {oneof}_case = pb.WhichOneof("{oneof}")')
            for i, (field, kind) in enumerate(members[oneof]):
                where = f"{name}.{field.name}"
                conv = self.from_pb_value(
                    kind.value, kind.type_name, pb_get("pb", field.name), where
                )
                keyword_ = "if" if i == 0 else "elif"
                self.emit(f'    {keyword_} {oneof}_case == "{field.name}":')
                self.emit(f'        values["{model_attr(field.name)}"] = {conv}')
        # What BaseModel.model_construct does, inline and without its per-field bookkeeping:
        # the values come from a typed protobuf message, so they are not validated again.
        self.emit(f"    model = _object_new(models.{name})")
        self.emit("    _set_dict(model, values)")
        self.emit(f"    _set_fields_set(model, set(_{const}_FIELDS))")
        self.emit("    _set_extra(model, None)")
        self.emit("    _set_private(model, None)")
        self.emit("    return model")

    def render(self) -> str:
        self.header()
        self.enum_tables()
        for full, message in self.schema.to_generate():
            self.to_pb(full, message)
            self.from_pb(full, message)
        return "\n".join(self.lines) + "\n"


def generate(request: plugin_pb2.CodeGeneratorRequest) -> plugin_pb2.CodeGeneratorResponse:
    """Answer one protoc request: a single convert.py covering every file to generate."""
    response = plugin_pb2.CodeGeneratorResponse()
    response.supported_features = plugin_pb2.CodeGeneratorResponse.FEATURE_PROTO3_OPTIONAL
    try:
        source = Writer(Schema(request)).render()
    except UnsupportedSchema as error:
        response.error = str(error)
        return response
    out = response.file.add()
    out.name = OUTPUT
    out.content = source
    return response


def main() -> None:
    request = plugin_pb2.CodeGeneratorRequest.FromString(sys.stdin.buffer.read())
    sys.stdout.buffer.write(generate(request).SerializeToString())


if __name__ == "__main__":
    main()
