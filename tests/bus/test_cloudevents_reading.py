"""Reading CloudEvents is as strict as writing: attribute names, base64 data, 32-bit integers
are checked with typed errors naming the attribute; protobuf JSON text_data round-trips as a
value (canonical text byte for byte)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hookwire.cloudevents.v1 import cloudevents_pb2
from hookwire.runtime.bus import Event
from hookwire.runtime.errors import InvalidArgument
from hookwire.runtime.wire import cloudevents as ce

BASE: dict[str, Any] = {"specversion": "1.0", "id": "1", "source": "/s", "type": "t"}


def _proto(**attrs: Any) -> cloudevents_pb2.CloudEvent:
    pb = cloudevents_pb2.CloudEvent(id="1", source="/s", spec_version="1.0", type="t")
    for name, value in attrs.items():
        if isinstance(value, int):
            pb.attributes[name].ce_integer = value
        else:
            pb.attributes[name].ce_string = value
    return pb


@pytest.mark.parametrize("name", ["Tenant", "myExt", "x-y", "a_b", "é"])
def test_attribute_names_that_are_not_lower_case_letters_and_digits_are_refused(
    name: str,
) -> None:
    with pytest.raises(InvalidArgument) as info:
        ce.from_json(json.dumps({**BASE, name: "v"}))
    assert info.value.field == name
    assert "lower-case letters" in info.value.reason
    with pytest.raises(InvalidArgument) as info:
        ce.from_proto(_proto(**{name: "v"}))
    assert info.value.field == f"attributes[{name}]"


@pytest.mark.parametrize("text", ["!!notbase64", "AAE", "AA==AA==", "AAEC\n/w=="])
def test_invalid_data_base64_is_refused_at_reading(text: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        ce.from_json(json.dumps({**BASE, "data_base64": text}))
    assert (info.value.field, info.value.reason) == ("data_base64", "is not valid base64")


@pytest.mark.parametrize("value", [2**31, -(2**31) - 1, 2**63])
def test_integer_attributes_outside_32_bits_are_refused_at_reading(value: int) -> None:
    with pytest.raises(InvalidArgument) as info:
        ce.from_json(json.dumps({**BASE, "count": value}))
    assert info.value.field == "count"
    assert "32-bit" in info.value.reason


@pytest.mark.parametrize("value", [2**31 - 1, -(2**31), 0])
def test_integer_attributes_inside_32_bits_round_trip_in_both_formats(value: int) -> None:
    ev = ce.from_json(json.dumps({**BASE, "count": value}))
    assert json.loads(ce.to_json(ev))["count"] == value
    assert ce.to_proto(ev).attributes["count"].ce_integer == value


def test_kept_attributes_written_back_are_checked_with_typed_errors() -> None:
    for kept, reason in [
        ("integer:2147483648", "32-bit"),
        ("integer:12x", "is not an integer"),
        ("binary:!!", "is not valid base64"),
        ("boolean:yes", "'true' or 'false'"),
    ]:
        ev = Event("t", None, id="1", metadata={"cloudevents.attr.x": kept})
        with pytest.raises(InvalidArgument) as info:
            ce.to_proto(ev)
        assert info.value.field == "metadata[cloudevents.attr.x]", kept
        assert reason in info.value.reason, kept
    bad_name = Event("t", None, id="1", metadata={"cloudevents.attr.Upper": "string:v"})
    with pytest.raises(InvalidArgument) as info:
        ce.to_json(bad_name)
    assert info.value.field == "metadata[cloudevents.attr.Upper]"


def test_proto_json_text_data_round_trips_its_value_in_canonical_text() -> None:
    """The documented contract: the JSON value survives; the text is written in our compact
    canonical form, so text already in that form comes back byte for byte."""
    spaced = _proto(datacontenttype="application/json")
    spaced.text_data = '{"a": 1, "b": [-0, 2.50]}'
    ev = ce.from_proto(spaced)
    assert json.loads(json.dumps(ev.payload, default=str)) == {"a": 1, "b": [0, "2.50"]}
    again = ce.to_proto(ev)
    assert again.text_data == '{"a":1,"b":[0,2.50]}'
    assert ce.from_proto(again) == ev
    assert ce.to_proto(ce.from_proto(again)) == again  # canonical text: byte for byte
