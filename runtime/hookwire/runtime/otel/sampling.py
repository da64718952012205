"""The OpenTelemetry SDK's standard samplers, decided without starting a span.

The SDK decides whether a span is sampled inside `Tracer.start_span`: a dropped root span costs
about 3 us there (`should_sample` alone about 1 us), several times a whole untraced execution.
`Sampling.of(tracer)` recognises the standard samplers and decides as they do, from the trace id
alone (`HookTracer` decides a dropped execution in about 0.1 us); for any other sampler it
returns None and `HookTracer` asks the SDK (correct, slower).

Recognised, by their public type, `should_sample` method and `get_description()`, then confirmed
by asking the sampler itself (`should_sample` must agree on probe trace ids around each bound,
for a root and for each kind of parent, and return no attributes and the parent's trace state):
- `ALWAYS_ON`, `ALWAYS_OFF`;
- `TraceIdRatioBased(rate)`: sampled when the trace id's low 64 bits are below its `bound`;
- `ParentBased(root, ...)` whose root and delegates are among these (the defaults: a parent's
  sampled flag decides), e.g. `ParentBasedTraceIdRatio`, what
  `OTEL_TRACES_SAMPLER=parentbased_traceidratio` makes.

Root trace ids: with the SDK's `RandomIdGenerator` the low 64 bits are drawn first and the high
64 bits only when the root is sampled. Drawn in that order, `random.getrandbits(64)` twice
gives the very bits `getrandbits(128)` gives (low word first): a sampled root gets the id the
SDK would have drawn. Any other id generator's `generate_trace_id()` is called.

Example:
    >>> from opentelemetry.sdk.trace import TracerProvider
    >>> from opentelemetry.sdk.trace.sampling import ParentBasedTraceIdRatio
    >>> tracer = TracerProvider(sampler=ParentBasedTraceIdRatio(0.25)).get_tracer("hookwire")
    >>> sampling = Sampling.of(tracer)
    >>> sampling.sampled(0x0AF7651916CD43DD_0000000000000001, None)
    True
    >>> sampling.sampled(0x0AF7651916CD43DD_F000000000000000, None)
    False
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.sdk.trace.sampling import (
    Decision,
    ParentBased,
    Sampler,
    StaticSampler,
    TraceIdRatioBased,
)
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, TraceState

__all__ = ["Sampling"]

_MASK = (1 << 64) - 1
# A bound every trace id's low 64 bits are under: always sampled.
_ALL = 1 << 64

# ParentBased's description names its root and its four delegates, in this order.
_PARENT_BASED = re.compile(
    r"ParentBased\{root:(.*),remoteParentSampled:(.*),remoteParentNotSampled:(.*),"
    r"localParentSampled:(.*),localParentNotSampled:(.*)\}"
)
_RATIO = re.compile(r"TraceIdRatioBased\{(.*)\}")


def _bound_of_description(description: str) -> int | None:
    """The bound of the standard sampler `description` names (None: not one)."""
    if description == "AlwaysOnSampler":
        return _ALL
    if description == "AlwaysOffSampler":
        return 0
    match = _RATIO.fullmatch(description)
    if match is None:
        return None
    try:
        rate = float(match.group(1))
        return TraceIdRatioBased(rate).bound if 0.0 <= rate <= 1.0 else None
    except ValueError:
        return None


def _own(sampler: Sampler, cls: type[Sampler]) -> bool:
    """`sampler` is a `cls` deciding with `cls`'s own `should_sample`."""
    return isinstance(sampler, cls) and type(sampler).should_sample is cls.should_sample


def _bounds(sampler: Sampler) -> tuple[int, int, int, int, int] | None:
    """(root, remote sampled, remote not sampled, local sampled, local not sampled) bounds."""
    if _own(sampler, ParentBased):
        match = _PARENT_BASED.fullmatch(sampler.get_description())
        if match is None:
            return None
        got = [_bound_of_description(d) for d in match.groups()]
        if None in got:
            return None
        root, rs, rn, ls, ln = (b for b in got if b is not None)
        return root, rs, rn, ls, ln
    if _own(sampler, StaticSampler) or _own(sampler, TraceIdRatioBased):
        bound = _bound_of_description(sampler.get_description())
        if bound is None:
            return None
        return bound, bound, bound, bound, bound
    return None


class Sampling:
    """A recognised standard sampler's decision (see the module docstring)."""

    __slots__ = (
        "local_not_sampled",
        "local_sampled",
        "new_trace_id",
        "random_ids",
        "remote_not_sampled",
        "remote_sampled",
        "root",
    )

    def __init__(
        self,
        bounds: tuple[int, int, int, int, int],
        new_trace_id: Callable[[], int] | None = None,
        random_ids: bool = True,
    ) -> None:
        """`bounds`: a trace id is sampled when its low 64 bits are below the bound for its
        parent (root, remote sampled, remote not sampled, local sampled, local not sampled);
        `new_trace_id`: a root's trace ids (None: random, drawn low half first);
        `random_ids`: the roots' trace ids are random (their flags say so, as the SDK's do)."""
        (
            self.root,
            self.remote_sampled,
            self.remote_not_sampled,
            self.local_sampled,
            self.local_not_sampled,
        ) = bounds
        self.new_trace_id = new_trace_id
        self.random_ids = random_ids

    @classmethod
    def of(cls, tracer: Any) -> Sampling | None:
        """How `tracer` (an SDK Tracer: its public `sampler` and `id_generator`) decides, or
        None when its sampler is not a recognised standard one."""
        sampler = getattr(tracer, "sampler", None)
        ids = getattr(tracer, "id_generator", None)
        if not isinstance(sampler, Sampler) or ids is None:
            return None
        bounds = _bounds(sampler)
        if bounds is None:
            return None
        random_ids = bool(ids.is_trace_id_random()) if hasattr(ids, "is_trace_id_random") else False
        got = cls(
            bounds, None if type(ids) is RandomIdGenerator else ids.generate_trace_id, random_ids
        )
        return got if got._agrees_with(sampler) else None

    def bound(self, parent: SpanContext | None) -> int:
        """The bound a trace id's low 64 bits must be under to be sampled, for a span whose
        parent is `parent` (None or invalid: a root)."""
        if parent is None or not parent.is_valid:
            return self.root
        if parent.is_remote:
            return self.remote_sampled if parent.trace_flags.sampled else self.remote_not_sampled
        return self.local_sampled if parent.trace_flags.sampled else self.local_not_sampled

    def sampled(self, trace_id: int, parent: SpanContext | None) -> bool:
        """Would the sampler sample a span of `trace_id` under `parent`?"""
        return trace_id & _MASK < self.bound(parent)

    def children_follow(self) -> bool:
        """Is every child of a sampled local span sampled too (the default delegates, or one
        ratio for all)? A sampled span's trace id is below the bound it was decided by."""
        return self.local_sampled >= max(
            self.root, self.remote_sampled, self.remote_not_sampled, self.local_not_sampled
        )

    def new_root(self) -> int:
        """A new root's trace id if the root is sampled, else 0."""
        bound = self.root
        if bound == 0:
            return 0
        new = self.new_trace_id
        if new is not None:
            trace_id = new()
            return trace_id if trace_id & _MASK < bound else 0
        draw = random.getrandbits
        while True:
            low = draw(64)
            if low >= bound:
                return 0
            trace_id = draw(64) << 64 | low
            if trace_id:  # the SDK draws again for the invalid id 0
                return trace_id

    def flags(self, parent: SpanContext | None) -> TraceFlags:
        """The trace flags of a sampled span under `parent`, as the SDK sets them."""
        random_id = self.random_ids if parent is None else parent.trace_flags.random_trace_id
        return TraceFlags(TraceFlags.SAMPLED | (TraceFlags.RANDOM_TRACE_ID if random_id else 0))

    def _agrees_with(self, sampler: Sampler) -> bool:
        """`sampler.should_sample` decides as this does on probe trace ids around each bound,
        for a root and each kind of parent, with no attributes and the parent's trace state."""
        state = TraceState([("hw", "probe")])
        parents: list[SpanContext | None] = [None]
        for remote in (True, False):
            for flags in (TraceFlags.SAMPLED, TraceFlags.DEFAULT):
                parents.append(SpanContext(1, 1, remote, TraceFlags(flags), state))
        rng = random.Random(0x5EED)
        for parent in parents:
            bound = self.bound(parent)
            lows = {0, _MASK, *(rng.getrandbits(64) for _ in range(16))}
            lows.update(b for b in (bound - 1, bound, bound + 1) if 0 <= b <= _MASK)
            context = (
                None if parent is None else trace.set_span_in_context(NonRecordingSpan(parent))
            )
            for low in lows:
                trace_id = rng.getrandbits(64) << 64 | low or 1
                got = sampler.should_sample(context, trace_id, "hookwire.probe")
                if got.decision not in (Decision.DROP, Decision.RECORD_AND_SAMPLE):
                    return False
                if (got.decision is Decision.RECORD_AND_SAMPLE) != self.sampled(trace_id, parent):
                    return False
                if (got.decision is Decision.RECORD_AND_SAMPLE) and got.attributes:
                    return False
                expected = None if parent is None else parent.trace_state
                if got.trace_state != expected:
                    return False
        return True
