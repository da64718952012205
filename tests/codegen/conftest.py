"""Shared fixtures: repository paths, vector files, and hypothesis strategies for any message."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hookwire.codegen.vectors
import pytest
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.descriptor_pool import Default
from google.protobuf.message import Message
from hookwire.codegen.decode import message_class
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]
VECTORS = ROOT / "conformance" / "vectors"
MAX_DEPTH = 3

FD = FieldDescriptor
INT_RANGES = {
    FD.TYPE_INT32: (-(2**31), 2**31 - 1),
    FD.TYPE_SINT32: (-(2**31), 2**31 - 1),
    FD.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    FD.TYPE_INT64: (-(2**63), 2**63 - 1),
    FD.TYPE_SINT64: (-(2**63), 2**63 - 1),
    FD.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    FD.TYPE_UINT32: (0, 2**32 - 1),
    FD.TYPE_FIXED32: (0, 2**32 - 1),
    FD.TYPE_UINT64: (0, 2**64 - 1),
    FD.TYPE_FIXED64: (0, 2**64 - 1),
}
TEXT = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=6)
# Well-known types: only values their proto3 JSON form can hold.
WKT_RANGES = {
    "google.protobuf.Timestamp": (-62_135_596_800, 253_402_300_799),
    "google.protobuf.Duration": (-315_576_000_000, 315_576_000_000),
}


def _extreme_ints(low: int, high: int) -> st.SearchStrategy[int]:
    return st.one_of(st.integers(low, high), st.sampled_from([low, high, 0, -1 if low else 1]))


def _scalar(field: FieldDescriptor) -> st.SearchStrategy[Any]:
    if field.type in INT_RANGES:
        return _extreme_ints(*INT_RANGES[field.type])
    if field.type == FD.TYPE_BOOL:
        return st.booleans()
    if field.type in (FD.TYPE_DOUBLE, FD.TYPE_FLOAT):
        return st.floats(allow_nan=False, width=64 if field.type == FD.TYPE_DOUBLE else 32)
    if field.type == FD.TYPE_STRING:
        return TEXT
    if field.type == FD.TYPE_BYTES:
        return st.binary(max_size=6)
    if field.type == FD.TYPE_ENUM:
        assert field.enum_type is not None
        return st.sampled_from([v.number for v in field.enum_type.values])
    raise AssertionError(f"no strategy for {field.full_name}")


@st.composite
def _wkt(draw: st.DrawFn, descriptor: Descriptor) -> Message:
    low, high = WKT_RANGES[descriptor.full_name]
    seconds = draw(st.integers(low, high))
    nanos = draw(st.integers(0, 999_999_999))
    if descriptor.full_name == "google.protobuf.Duration" and seconds < 0:
        nanos = -nanos  # a Duration's seconds and nanos share one sign
    out = message_class(descriptor.full_name)()
    out.seconds = seconds  # type: ignore[attr-defined]
    out.nanos = nanos  # type: ignore[attr-defined]
    return out


def _value(field: FieldDescriptor, depth: int) -> st.SearchStrategy[Any]:
    if field.type == FD.TYPE_MESSAGE:
        assert field.message_type is not None
        return messages(field.message_type, depth + 1)
    return _scalar(field)


@st.composite
def messages(draw: st.DrawFn, descriptor: Descriptor, depth: int = 0) -> Message:
    """A random valid message of ``descriptor``: any subset of fields, at most one per oneof."""
    if descriptor.full_name in WKT_RANGES:
        return draw(_wkt(descriptor))
    out = message_class(descriptor.full_name)()
    deep = depth >= MAX_DEPTH
    # At most one member per oneof ("" = none); proto3 optional fields are one-member oneofs.
    chosen_oneof = {
        oneof.name: draw(st.sampled_from(["", *(f.name for f in oneof.fields)]))
        for oneof in descriptor.oneofs
    }
    for field in descriptor.fields:
        oneof = field.containing_oneof
        if oneof is not None and oneof.name in chosen_oneof:
            if chosen_oneof[oneof.name] != field.name:
                continue
        elif not draw(st.booleans()):
            continue
        entry = field.message_type
        if deep and entry is not None and entry.full_name not in WKT_RANGES:
            continue  # depth limit: no further nested/recursive messages, maps or lists of them
        target = getattr(out, field.name)
        if entry is not None and entry.GetOptions().map_entry:
            value_field = entry.fields_by_name["value"]
            members = draw(st.dictionaries(TEXT, _value(value_field, depth), max_size=3))
            for key, item in members.items():
                if value_field.type == FD.TYPE_MESSAGE:
                    target[key].CopyFrom(item)
                else:
                    target[key] = item
        elif field.is_repeated:
            elements = draw(st.lists(_value(field, depth), max_size=3))
            if field.type == FD.TYPE_MESSAGE:
                for element in elements:
                    target.add().CopyFrom(element)
            else:
                target.extend(elements)
        elif field.type == FD.TYPE_MESSAGE:
            target.CopyFrom(draw(_value(field, depth)))
        else:
            setattr(out, field.name, draw(_scalar(field)))
    return out


def all_message_names() -> list[str]:
    """Full names of every message in the hookwire.v1 proto files."""
    names: set[str] = set()
    for module in hookwire.codegen.vectors.PB2_MODULES:
        names.update(d.full_name for d in module.DESCRIPTOR.message_types_by_name.values())
    return sorted(names)


def load_vectors() -> list[dict[str, Any]]:
    """Every committed golden vector file, parsed, in name order."""
    paths = sorted(VECTORS.glob("*.json"))
    return [json.loads(path.read_text(encoding="utf-8")) for path in paths]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests taking ``message_name`` run per message; ``vector`` per golden vector file."""
    if "message_name" in metafunc.fixturenames:
        metafunc.parametrize("message_name", all_message_names())
    if "vector" in metafunc.fixturenames:
        vectors = load_vectors()
        metafunc.parametrize("vector", vectors, ids=[v["name"] for v in vectors])


@pytest.fixture(scope="session")
def message_strategy() -> Callable[[str], st.SearchStrategy[Message]]:
    """``message_strategy("hookwire.v1.HookContext")`` -> a strategy of random valid messages."""

    def build(full_name: str) -> st.SearchStrategy[Message]:
        return messages(Default().FindMessageTypeByName(full_name))

    return build
