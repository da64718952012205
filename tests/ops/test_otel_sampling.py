"""hookwire's sampling decision is the SDK sampler's: recognised standard samplers decide as
their `should_sample` does, anything else is not recognised (the SDK then decides)."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest
from hookwire.runtime.otel.sampling import Sampling
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.id_generator import IdGenerator, RandomIdGenerator
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    ALWAYS_ON,
    DEFAULT_OFF,
    DEFAULT_ON,
    Decision,
    ParentBased,
    ParentBasedTraceIdRatio,
    Sampler,
    SamplingResult,
    TraceIdRatioBased,
)
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, TraceState

SAMPLED = Decision.RECORD_AND_SAMPLE
STATE = TraceState([("vendor", "x")])
PARENTS: list[SpanContext | None] = [
    None,
    SpanContext(0, 0, False),  # invalid: a root
    SpanContext(7, 9, True, TraceFlags(TraceFlags.SAMPLED), STATE),
    SpanContext(7, 9, True, TraceFlags(TraceFlags.DEFAULT), STATE),
    SpanContext(7, 9, False, TraceFlags(TraceFlags.SAMPLED), STATE),
    SpanContext(7, 9, False, TraceFlags(TraceFlags.DEFAULT)),
]

STANDARD: list[Sampler] = [
    ALWAYS_ON,
    ALWAYS_OFF,
    DEFAULT_ON,
    DEFAULT_OFF,
    *(TraceIdRatioBased(r) for r in (0.0, 0.01, 0.25, 1 / 3, 1.0)),
    *(ParentBasedTraceIdRatio(r) for r in (0.0, 0.01, 0.5)),
    ParentBased(TraceIdRatioBased(0.2), remote_parent_not_sampled=ALWAYS_ON),
    ParentBased(
        ALWAYS_OFF,
        remote_parent_sampled=TraceIdRatioBased(0.5),
        local_parent_sampled=ALWAYS_OFF,
        local_parent_not_sampled=TraceIdRatioBased(0.75),
    ),
]


def _tracer(sampler: Sampler, ids: IdGenerator | None = None) -> Any:
    return TracerProvider(sampler=sampler, id_generator=ids).get_tracer("hookwire")


def _context(parent: SpanContext | None) -> Any:
    return None if parent is None else trace.set_span_in_context(NonRecordingSpan(parent))


@pytest.mark.parametrize("sampler", STANDARD, ids=lambda s: s.get_description())
def test_each_standard_sampler_decides_as_its_should_sample(sampler: Sampler) -> None:
    sampling = Sampling.of(_tracer(sampler))
    assert sampling is not None
    rng = random.Random(13)
    for parent in PARENTS:
        context = _context(parent)
        decisions = set()
        for _ in range(3000):
            trace_id = rng.getrandbits(128) or 1
            expected = sampler.should_sample(context, trace_id, "x").decision is SAMPLED
            assert sampling.sampled(trace_id, parent) is expected, (parent, hex(trace_id))
            decisions.add(expected)
        # Trace ids right at the bound decide as the sampler does too.
        bound = sampling.bound(parent)
        for low in (bound - 1, bound, bound + 1):
            if 0 <= low < 1 << 64:
                trace_id = 5 << 64 | low
                expected = sampler.should_sample(context, trace_id, "x").decision is SAMPLED
                assert sampling.sampled(trace_id, parent) is expected


def test_a_sampled_root_gets_the_trace_id_the_sdk_would_draw() -> None:
    sampling = Sampling.of(_tracer(TraceIdRatioBased(0.3)))
    assert sampling is not None
    sampled = 0
    for seed in range(2000):
        random.seed(seed)
        ours = sampling.new_root()
        random.seed(seed)
        sdk = RandomIdGenerator().generate_trace_id()
        expected = (
            sdk if TraceIdRatioBased(0.3).should_sample(None, sdk, "x").decision is SAMPLED else 0
        )
        assert ours == expected
        sampled += ours != 0
    assert 500 < sampled < 700  # about 30%


def test_flags_are_the_sdks() -> None:
    sampling = Sampling.of(_tracer(ALWAYS_ON))
    assert sampling is not None
    sdk = _tracer(ALWAYS_ON)
    root = sdk.start_span("root")
    assert sampling.flags(None) == root.get_span_context().trace_flags == 0x03
    for parent in PARENTS[2:]:
        assert parent is not None
        child = sdk.start_span("child", context=_context(parent))
        if child.get_span_context().trace_flags.sampled:
            assert sampling.flags(parent) == child.get_span_context().trace_flags


def test_another_id_generator_is_asked_for_each_root(
    counting_ids: Callable[[], IdGenerator],
) -> None:
    sampling = Sampling.of(_tracer(TraceIdRatioBased(0.5), counting_ids()))
    assert sampling is not None
    assert [sampling.new_root() for _ in range(3)] == [1, 2, 3]
    assert sampling.flags(None) == TraceFlags.SAMPLED  # not random: no random-trace-id flag


def _claiming(name: str, description: str, decision: Decision) -> Sampler:
    """A sampler named `name` that says it is `description` and decides `decision` always."""

    def should_sample(self: Sampler, *a: Any, **k: Any) -> SamplingResult:
        return SamplingResult(decision)

    def get_description(self: Sampler) -> str:
        return description

    methods = {"should_sample": should_sample, "get_description": get_description}
    return type(name, (Sampler,), methods)()  # type: ignore[no-any-return]


MIMIC = _claiming("Mimic", "TraceIdRatioBased{0.5}", Decision.DROP)  # drops everything
LOOKS_ON = _claiming("LooksOn", "AlwaysOnSampler", Decision.RECORD_ONLY)  # records unsampled


class _Overridden(TraceIdRatioBased):
    def should_sample(self, *a: Any, **k: Any) -> SamplingResult:
        return SamplingResult(Decision.RECORD_AND_SAMPLE)


class _Tagging(ParentBased):
    """A ParentBased that also adds an attribute."""

    def should_sample(self, *a: Any, **k: Any) -> SamplingResult:
        got = super().should_sample(*a, **k)
        return SamplingResult(got.decision, {"tag": 1}, got.trace_state)


@pytest.mark.parametrize(
    "sampler",
    [
        MIMIC,
        _Overridden(0.5),
        ParentBased(MIMIC),
        ParentBased(LOOKS_ON),
        ParentBased(ALWAYS_ON, remote_parent_sampled=MIMIC),
        _Tagging(ALWAYS_ON),
    ],
    ids=lambda s: type(s).__name__,
)
def test_any_other_sampler_is_left_to_the_sdk(sampler: Sampler) -> None:
    assert Sampling.of(_tracer(sampler)) is None


def test_something_that_is_no_sdk_tracer_is_not_recognised() -> None:
    assert Sampling.of(trace.NoOpTracer()) is None


@pytest.mark.parametrize(
    ("name", "arg", "root"),
    [
        ("parentbased_traceidratio", "0.01", TraceIdRatioBased(0.01).bound),
        ("traceidratio", "0.5", TraceIdRatioBased(0.5).bound),
        ("always_off", "", 0),
        ("parentbased_always_on", "", 1 << 64),
    ],
)
def test_the_samplers_otel_traces_sampler_names_are_recognised(
    name: str, arg: str, root: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", name)
    monkeypatch.setenv("OTEL_TRACES_SAMPLER_ARG", arg)
    sampling = Sampling.of(TracerProvider().get_tracer("hookwire"))
    assert sampling is not None and sampling.root == root


def test_children_follow_a_sampled_span_under_the_usual_samplers() -> None:
    for sampler in (DEFAULT_ON, ParentBasedTraceIdRatio(0.01), TraceIdRatioBased(0.3), ALWAYS_OFF):
        sampling = Sampling.of(_tracer(sampler))
        assert sampling is not None and sampling.children_follow()
    odd = Sampling.of(_tracer(ParentBased(ALWAYS_ON, local_parent_sampled=ALWAYS_OFF)))
    assert odd is not None and not odd.children_follow()


def test_doctest() -> None:
    import doctest

    from hookwire.runtime.otel import sampling

    result = doctest.testmod(sampling)
    assert result.attempted > 0 and result.failed == 0
