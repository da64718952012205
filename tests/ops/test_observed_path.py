"""The compiled chain that appends its own execution records (an executor with a monitor or an
event sink) observes like the executor's general path: the same monitor figures, the same
events with the same times, on random chains run many times."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from unittest import mock

from hookwire.runtime.bus import EventBus
from hookwire.runtime.clock import VirtualClock
from hookwire.runtime.context import HookContext
from hookwire.runtime.executor import Executor
from hookwire.runtime.monitor import PerformanceMonitor
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.ops.test_fast_path import CHAINS, P, register_chain


def _ticking(hook: Any, clock: VirtualClock) -> Any:
    """`hook`, taking 1 us more (so that every execution moves the clock)."""

    def ticking(ctx: HookContext) -> Any:
        clock.advance(1000)
        return hook(ctx)

    return ticking


class _Acting:
    """A call wrapper acting around every other execution, logging what it is told."""

    def __init__(self, log: list[Any]) -> None:
        self.log = log

    def begin(self, point: str, ctx: HookContext) -> object | None:
        return ctx.data["n"] if ctx.data["n"] % 2 else None

    def wrap(self, entry: Any, call: Any) -> Any:
        def wrapped(ctx: HookContext) -> Any:
            self.log.append(("call", entry.name))
            return call(ctx)

        return wrapped

    def end(self, token: Any, point: str, execution: Any, started: int, ended: int) -> None:
        self.log.append(("end", token, execution.result, ended - started))

    def abort(self, token: Any, exc: BaseException) -> None:
        self.log.append(("abort", token))


class _Told:
    """A plain observer."""

    def __init__(self, log: list[Any]) -> None:
        self.log = log

    def executed(self, point: str, execution: Any, started: int, ended: int) -> None:
        self.log.append(("executed", execution.result, ended - started))


OBSERVERS: dict[str, Callable[[list[Any]], list[Any]]] = {
    "none": lambda log: [],
    "one wrapper": lambda log: [_Acting(log)],
    "two wrappers": lambda log: [_Acting(log), _Acting(log)],
    "plain observer": lambda log: [_Told(log)],
    "wrapper and observer": lambda log: [_Acting(log), _Told(log)],
}


def _observe(chain: list[tuple[list[str], bool]], times: int, observers: str = "none") -> list[Any]:
    from hookwire.runtime.registry import Registry

    clock = VirtualClock()
    reg = Registry(clock=clock)
    register_chain(reg, chain, clock, lambda hook: _ticking(hook, clock))
    monitor = PerformanceMonitor(clock)
    bus = EventBus(clock=clock)
    log: list[Any] = []
    ex = Executor(
        reg, clock=clock, monitor=monitor, events=bus, observers=OBSERVERS[observers](log)
    )
    for n in range(times):
        ex.execute(P, HookContext(P, {"n": n}))
        clock.advance(100_000_000)
    snap = monitor.snapshot()
    events = [(e.sequence, e.type, e.payload, e.time_ns) for e in bus.retained(1)]
    return [snap.hooks, snap.executions, snap.overhead_total_ns, events, log]


@settings(max_examples=300, deadline=None)
@given(chain=CHAINS, times=st.integers(1, 12), observers=st.sampled_from(sorted(OBSERVERS)))
def test_the_recording_compiled_chain_observes_like_the_general_path(
    chain: list[tuple[list[str], bool]], times: int, observers: str
) -> None:
    """Each hook cycles through its behaviours (slow and late ones move the clock)."""
    with mock.patch("hookwire.runtime.executor.compile_fast_path", return_value=None):
        general = _observe(chain, times, observers)
    assert _observe(chain, times, observers) == general


def test_the_compiled_chain_records_each_execution_itself() -> None:
    """The comparison above is between two paths only if the compiled one records."""
    from hookwire.runtime import executor as executor_module
    from hookwire.runtime.fast_path import compile_fast_path as real

    recording: list[bool] = []

    def spy(*args: Any, **kwargs: Any) -> Any:
        recording.append(kwargs.get("records") is not None)
        return real(*args, **kwargs)

    with mock.patch.object(executor_module, "compile_fast_path", spy):
        _observe([(["none"], False)] * 2, 3)
    assert True in recording


class _Bulk:
    """An observer that consumes the executor's records in bulk, never told each execution."""

    def __init__(self) -> None:
        self.records: list[Any] = []
        self.sources: list[Any] = []

    def add_source(self, records: Any) -> None:
        records.add_consumer(self.records.extend)
        self.sources.append(records)

    def executed(self, *args: Any) -> None:
        raise AssertionError("a bulk observer is not told each execution")

    def read(self) -> list[Any]:
        for source in self.sources:
            source.drain()
        return self.records


def test_an_observer_with_add_source_gets_each_execution_record_in_bulk() -> None:
    from hookwire.runtime.registry import Registry

    clock = VirtualClock()
    reg = Registry(clock=clock)
    reg.register(_ticking(lambda ctx: None, clock), name="a", point=P)
    bulk = _Bulk()
    monitor = PerformanceMonitor(clock)
    ex = Executor(reg, clock=clock, observers=[bulk, monitor])
    for n in range(3):
        ex.execute(P, HookContext(P, {"n": n}))
    got = bulk.read()
    assert [(len(entries), raw, ended - started) for entries, raw, started, ended in got] == [
        (1, [1000], 1000)
    ] * 3
    assert monitor.stats("a").count == 3  # a monitor among the observers is one too
