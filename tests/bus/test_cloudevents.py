"""UniversalEvent <-> CloudEvents, both formats, lossless; the cloudevents SDK as an independent
reader and writer."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent as SdkEvent
from hookwire.cloudevents.v1 import cloudevents_pb2
from hookwire.runtime.bus import NO_DATA, Event
from hookwire.runtime.errors import InvalidArgument
from hookwire.runtime.wire import cloudevents as ce
from hookwire.runtime.wire.event import event_to_proto
from hypothesis import given, settings
from hypothesis import strategies as st

FULL = Event(
    "tool.invoked",
    {
        "big": 2**70,
        "neg": -(2**63),
        "dec": Decimal("1.10"),
        "f": 0.1,
        "s": 'é\u2603"\n',
        "l": [None, True, {}],
    },
    id="evt-1",
    time_ns=1_700_000_000_123_456_789,
    sequence=2**64 - 1,
    ttl_ns=1_500_000_001,
    source="hookwire://executor/main",
    source_language="lua",
    correlation_id="run-7",
    causation_id="evt-0",
    metadata={"tenant": "acme", "empty": ""},
    traceparent="00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    tracestate="rojo=00f067aa0ba902b7,congo=t61rcWkgMzE",
)


def test_json_format_attributes_and_names() -> None:
    d = json.loads(ce.to_json(FULL))
    assert d == {
        "specversion": "1.0",
        "id": "evt-1",
        "source": "hookwire://executor/main",
        "type": "tool.invoked",
        "time": "2023-11-14T22:13:20.123456789Z",
        "sequence": "18446744073709551615",
        "sourcelanguage": "lua",
        "correlationid": "run-7",
        "causationid": "evt-0",
        "ttl": "1.500000001s",
        "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "tracestate": "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE",
        "metadata": '{"empty":"","tenant":"acme"}',
        "datacontenttype": "application/json",
        "data": {
            "big": 2**70,
            "neg": -(2**63),
            "dec": 1.1,  # the stdlib reader gives a float; ours keeps Decimal("1.10")
            "f": 0.1,
            "s": 'é\u2603"\n',
            "l": [None, True, {}],
        },
    }
    assert '"dec":1.10' in ce.to_json(FULL)
    assert (
        json.loads(ce.to_json(Event("a", id="x", sequence=5)))["sequence"] == "00000000000000000005"
    )


@pytest.mark.parametrize(
    "event",
    [
        FULL,
        Event("a", id="x"),  # no data, no time, no sequence
        Event("a", None, id="x"),  # explicit JSON null
        Event("a", "", id="x", ttl_ns=0, time_ns=0),
        Event("a", [], id="x", time_ns=-1),  # before 1970, 1 ns
        Event("a", 1, id="x", source=""),
    ],
)
def test_lossless_both_formats(event: Event) -> None:
    assert ce.from_json(ce.to_json(event)) == event
    wire = ce.to_proto(event).SerializeToString()
    back = cloudevents_pb2.CloudEvent.FromString(wire)
    assert ce.from_proto(back) == event
    again = ce.from_proto(back)
    assert type(again.payload) is type(event.payload)
    # UniversalEvent in, UniversalEvent out
    read = ce.from_json(ce.to_json(event_to_proto(event)))
    assert event_to_proto(read) == event_to_proto(event)


def test_null_versus_no_data() -> None:
    null = json.loads(ce.to_json(Event("a", None, id="x")))
    nothing = json.loads(ce.to_json(Event("a", id="x")))
    assert "data" in null and null["data"] is None and null["datacontenttype"] == "application/json"
    assert "data" not in nothing and "datacontenttype" not in nothing
    assert ce.to_proto(Event("a", None, id="x")).text_data == "null"
    assert ce.to_proto(Event("a", id="x")).WhichOneof("data") is None
    assert (
        ce.from_json('{"specversion":"1.0","id":"x","source":"s","type":"a","data":null}').payload
        is None
    )
    assert ce.from_json('{"specversion":"1.0","id":"x","source":"s","type":"a"}').payload is NO_DATA


FOREIGN_JSON = {
    "specversion": "1.0",
    "id": "A234-1234-1234",
    "source": "https://github.com/cloudevents/spec/pull",
    "type": "com.github.pull_request.opened",
    "subject": "123",
    "time": "2018-04-05T17:31:00+02:00",
    "dataschema": "https://example.com/schema",
    "comexampleextension1": "value",
    "comexampleothervalue": 5,
    "flag": True,
    "sequence": "not-a-number",  # ours by name, but not our form: kept as it is
    "datacontenttype": "text/xml",
    "data": '<much wow="xml"/>',
}


def test_foreign_json_event_is_kept_whole() -> None:
    ev = ce.from_json(json.dumps(FOREIGN_JSON))
    assert ev.sequence == 0
    assert ev.payload == '<much wow="xml"/>'
    assert ev.time_ns == 1522942260 * 10**9  # 15:31 UTC
    out = json.loads(ce.to_json(ev))
    expected = dict(FOREIGN_JSON, time="2018-04-05T15:31:00Z")  # offsets are folded into UTC
    assert out == expected


def test_foreign_binary_json_event() -> None:
    d = {"specversion": "1.0", "id": "1", "source": "/s", "type": "t", "data_base64": "AAEC/w=="}
    ev = ce.from_json(json.dumps(d))
    assert json.loads(ce.to_json(ev)) == d
    assert ce.to_proto(ev).binary_data == b"\x00\x01\x02\xff"


def test_foreign_proto_event_is_kept_whole() -> None:
    pb = cloudevents_pb2.CloudEvent(id="1", source="/s", spec_version="1.0", type="t")
    pb.attributes["b"].ce_boolean = False
    pb.attributes["i"].ce_integer = -(2**31)
    pb.attributes["s"].ce_string = "x"
    pb.attributes["by"].ce_bytes = b"\x00\xff"
    pb.attributes["u"].ce_uri = "https://x/y"
    pb.attributes["ur"].ce_uri_ref = "/y"
    pb.attributes["ts"].ce_timestamp.FromNanoseconds(1_000_000_000_000_000_001)
    pb.attributes["time"].ce_timestamp.FromNanoseconds(7)
    pb.proto_data.type_url = "type.googleapis.com/google.protobuf.Duration"
    pb.proto_data.value = b"\x08\x01"
    ev = ce.from_proto(pb)
    assert ev.time_ns == 7
    assert ce.to_proto(ev) == pb
    text_pb = cloudevents_pb2.CloudEvent(
        id="1", source="/s", spec_version="1.0", type="t", text_data="{}"
    )
    assert ce.to_proto(ce.from_proto(text_pb)) == text_pb  # JSON text without a content type


def test_cross_format() -> None:
    ev = ce.from_json(json.dumps(FOREIGN_JSON))
    via_proto = ce.from_proto(
        cloudevents_pb2.CloudEvent.FromString(ce.to_proto(ev).SerializeToString())
    )
    assert via_proto == ev
    assert json.loads(ce.to_json(via_proto)) == dict(FOREIGN_JSON, time="2018-04-05T15:31:00Z")


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        ({"id": "1", "source": "/s", "type": "t"}, "specversion"),
        ({"specversion": "0.3", "id": "1", "source": "/s", "type": "t"}, "specversion"),
        ({"specversion": "1.0", "source": "/s", "type": "t"}, "id"),
        ({"specversion": "1.0", "id": "1", "source": "", "type": "t"}, "source"),
        (
            {"specversion": "1.0", "id": "1", "source": "/s", "type": "t", "time": "yesterday"},
            "time",
        ),
        (
            {
                "specversion": "1.0",
                "id": "1",
                "source": "/s",
                "type": "t",
                "time": "2020-02-30T00:00:00Z",
            },
            "time",
        ),
        ({"specversion": "1.0", "id": "1", "source": "/s", "type": "t", "x": [1]}, "x"),
    ],
)
def test_bad_cloudevents(doc: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        ce.from_json(json.dumps(doc))
    assert info.value.field == field
    with pytest.raises(InvalidArgument) as info:
        ce.from_json("{not json")
    assert info.value.field == "cloudevent"


def test_unpublished_event_has_no_id() -> None:
    with pytest.raises(InvalidArgument) as info:
        ce.to_json(Event("a", 1))
    assert info.value.field == "id"


# -- the cloudevents SDK (2.2.0) as an independent reader and writer ----------------------------


def test_sdk_reads_what_we_write() -> None:
    sdk = JSONFormat().read(None, ce.to_json(FULL).encode())
    assert sdk.get_id() == "evt-1"
    assert sdk.get_source() == "hookwire://executor/main"
    assert sdk.get_type() == "tool.invoked"
    attrs = sdk.get_attributes()
    assert attrs["sequence"] == "18446744073709551615"
    assert attrs["correlationid"] == "run-7"
    assert attrs["traceparent"] == FULL.traceparent
    data = sdk.get_data()
    assert isinstance(data, dict) and data["big"] == 2**70
    # SDK loss 1: time is a datetime, so nanoseconds are cut to microseconds.
    assert sdk.get_time() == datetime(2023, 11, 14, 22, 13, 20, 123456, tzinfo=UTC)
    back = ce.from_json(JSONFormat().write(sdk))
    assert back.time_ns == 1_700_000_000_123_456_000
    # SDK loss 2: numbers go through float, so Decimal("1.10") comes back as 1.1.
    assert back.payload["dec"] == 1.1 and isinstance(back.payload["dec"], float)
    # Everything else survives the SDK.
    assert back.replace(time_ns=FULL.time_ns, payload=FULL.payload) == FULL


def test_sdk_loses_explicit_null_data() -> None:
    sdk = JSONFormat().read(None, ce.to_json(Event("a", None, id="x", source="/s")).encode())
    # SDK loss 3: `"data": null` and no data both read as None, and are written as no data.
    assert sdk.get_data() is None
    assert ce.from_json(JSONFormat().write(sdk)).payload is NO_DATA


def test_we_read_what_the_sdk_writes_and_give_it_back() -> None:
    sdk = SdkEvent(
        {
            "id": "sdk-1",
            "source": "https://example.com/x",
            "type": "com.example.thing.happened",
            "time": datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
            "subject": "subj",
            "datacontenttype": "application/json",
            "myext": "v",
            "count": 3,
            "ok": True,
        },
        {"a": [1, 2.5, None]},
    )
    text = JSONFormat().write(sdk)
    ev = ce.from_json(text)
    assert ev.payload == {"a": [1, 2.5, None]}
    assert ev.time_ns == 1704164645678901000
    reread = JSONFormat().read(None, ce.to_json(ev).encode())
    assert reread.get_attributes() == sdk.get_attributes()
    assert reread.get_data() == sdk.get_data()


# -- property: any event survives both formats ------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.decimals(allow_nan=False, allow_infinity=False, places=3)
    | st.text(),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=10,
)


def canonical(value: Any) -> Any:
    """JSON has one kind of number: a Decimal whose text a double reproduces reads back as that
    double (docs/cloudevents.md); everything else must come back exactly."""
    if isinstance(value, Decimal) and repr(float(value)) == str(value):
        return float(value)
    if isinstance(value, list):
        return [canonical(v) for v in value]
    if isinstance(value, dict):
        return {k: canonical(v) for k, v in value.items()}
    return value


@settings(max_examples=150, deadline=None)
@given(
    payload=st.one_of(st.just(NO_DATA), json_values),
    time_ns=st.one_of(st.none(), st.integers(min_value=-(10**18), max_value=253402300799 * 10**9)),
    ttl_ns=st.one_of(st.none(), st.integers(min_value=0, max_value=10**15)),
    sequence=st.integers(min_value=0, max_value=2**64 - 1),
    metadata=st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3),
    language=st.sampled_from(["", "python", "lua", "javascript", "native"]),
    text=st.text(max_size=8),
)
def test_any_event_round_trips(
    payload: Any,
    time_ns: int | None,
    ttl_ns: int | None,
    sequence: int,
    metadata: dict[str, str],
    language: str,
    text: str,
) -> None:
    metadata = {k: v for k, v in metadata.items() if not k.startswith("cloudevents.")}
    ev = Event(
        "a.b",
        payload,
        id="id" + text,
        time_ns=time_ns,
        ttl_ns=ttl_ns,
        sequence=sequence,
        source=text,
        source_language=language,
        correlation_id=text,
        causation_id=text,
        metadata=metadata,
        traceparent=text,
        tracestate=text,
    )
    ev = ev.replace(payload=canonical(payload))
    assert ce.from_json(ce.to_json(ev)) == ev
    wire = ce.to_proto(ev).SerializeToString()
    assert ce.from_proto(cloudevents_pb2.CloudEvent.FromString(wire)) == ev
    assert ce.to_json(ce.from_json(ce.to_json(ev))) == ce.to_json(ev)


def test_sdk_invents_a_time_for_an_event_without_one() -> None:
    ev = Event("a", 1, id="x", source="/s")
    sdk = JSONFormat().read(None, ce.to_json(ev).encode())
    # SDK loss 4: reading an event that has no time gives it one (the reader's "now").
    assert "time" in sdk.get_attributes()
    assert ce.from_json(JSONFormat().write(sdk)).time_ns is not None


def _ld(field: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field, encoded by hand (tag, varint length < 128, bytes)."""
    assert len(payload) < 128
    return bytes([field << 3 | 2, len(payload)]) + payload


def test_protobuf_format_wire_bytes_follow_the_spec_field_numbers() -> None:
    # io.cloudevents.v1.CloudEvent: id=1, source=2, spec_version=3, type=4, attributes=5,
    # text_data=7; CloudEventAttributeValue.ce_string=3 (the CloudEvents protobuf format).
    expected = (
        _ld(1, b"x")
        + _ld(2, b"urn:hookwire:no-source")
        + _ld(3, b"1.0")
        + _ld(4, b"a")
        + _ld(5, _ld(1, b"datacontenttype") + _ld(2, _ld(3, b"application/json")))
        + _ld(7, b"null")
    )
    assert ce.to_proto(Event("a", None, id="x")).SerializeToString() == expected
    assert ce.from_proto(cloudevents_pb2.CloudEvent.FromString(expected)) == Event(
        "a", None, id="x"
    )


def test_json_data_without_a_content_type_is_written_back_without_one() -> None:
    doc = {"specversion": "1.0", "id": "1", "source": "/s", "type": "t", "data": {"a": [1, 2.5]}}
    ev = ce.from_json(json.dumps(doc))
    assert ev.payload == {"a": [1, 2.5]}
    assert json.loads(ce.to_json(ev)) == doc
    pb = ce.to_proto(ev)
    assert "datacontenttype" not in pb.attributes
    assert pb.text_data == '{"a":[1,2.5]}'
    assert ce.from_proto(cloudevents_pb2.CloudEvent.FromString(pb.SerializeToString())) == ev


@pytest.mark.parametrize(
    ("text", "content_type"),
    [("{ }", None), ("not json", None), ("{bad", "application/json"), ("<x/>", "text/xml")],
)
def test_proto_text_data_is_kept_exactly(text: str, content_type: str | None) -> None:
    pb = cloudevents_pb2.CloudEvent(
        id="1", source="/s", spec_version="1.0", type="t", text_data=text
    )
    if content_type is not None:
        pb.attributes["datacontenttype"].ce_string = content_type
    ev = ce.from_proto(pb)
    assert ev.payload == text
    assert ce.to_proto(ev) == pb
