"""The bounded retention log: the last N accepted events, for resuming from a sequence.

A run of events published together (hookwire.runtime.bus.event_run.EventRun) is kept as one
object in as many slots as it has events, so the log counts and evicts events exactly as if
they had been appended one by one, and builds them only when a resume reads them.

Example:
    >>> from hookwire.runtime.bus.event import Event
    >>> log = RetentionLog(2)
    >>> for seq in (1, 2, 3):
    ...     log.append(Event("a", sequence=seq))
    >>> [e.sequence for e in log.since(2, next_sequence=4)]
    [2, 3]
    >>> try:
    ...     log.since(1, next_sequence=4)
    ... except OutOfRange as e:
    ...     print(e.reason)
    sequence 1 is no longer retained; the oldest available is 2
"""

from __future__ import annotations

from collections import deque
from itertools import islice

from hookwire.runtime.bus.event import Event
from hookwire.runtime.bus.event_run import EventRun
from hookwire.runtime.errors import InvalidArgument, OutOfRange

__all__ = ["DEFAULT_RETENTION", "RetentionLog"]

DEFAULT_RETENTION = 10_000


class RetentionLog:
    """Holds the last `capacity` events in sequence order (capacity 0 keeps nothing)."""

    __slots__ = ("_extend", "_log", "append", "capacity")

    def __init__(self, capacity: int = DEFAULT_RETENTION) -> None:
        if type(capacity) is not int or capacity < 0:
            raise InvalidArgument("retention", f"must be an int >= 0, got {capacity!r}")
        self.capacity = capacity
        # One slot per event; a run's slots all hold the run (slot k is sequence oldest + k).
        self._log: deque[Event | EventRun] = deque(maxlen=capacity)
        # Bound once: appending is on the publish hot path.
        self.append = self._log.append
        self._extend = self._log.extend

    def append_run(self, run: EventRun) -> None:
        """Keep a sequenced run (one slot per event, the oldest evicted as for `append`)."""
        self._extend((run,) * run.n)

    def __len__(self) -> int:
        return len(self._log)

    def oldest(self, next_sequence: int) -> int:
        """The oldest sequence a resume may ask for (next_sequence when nothing is held)."""
        log = self._log
        if not log:
            return next_sequence
        first = log[0]
        if type(first) is not EventRun:
            return first.sequence
        # The run's first events may be evicted already: count its slots still held.
        held = 0
        for item in islice(log, first.n):
            if item is not first:
                break
            held += 1
        return first.sequence + first.n - held

    def since(self, from_sequence: int, next_sequence: int) -> list[Event]:
        """Every retained event with sequence >= from_sequence, in order.

        OutOfRange (naming the oldest available) if from_sequence was evicted or is beyond
        next_sequence; from_sequence == next_sequence gives [].
        """
        if type(from_sequence) is not int or from_sequence < 1:
            raise InvalidArgument("from_sequence", f"must be an int >= 1, got {from_sequence!r}")
        oldest = self.oldest(next_sequence)
        if from_sequence < oldest:
            raise OutOfRange(
                "from_sequence",
                f"sequence {from_sequence} is no longer retained; the oldest available is {oldest}",
            )
        if from_sequence > next_sequence:
            raise OutOfRange(
                "from_sequence",
                f"sequence {from_sequence} is beyond the next sequence {next_sequence}; the "
                f"oldest available is {oldest}",
            )
        # Sequences in the log are consecutive, so the position is a subtraction.
        out: list[Event] = []
        append = out.append
        seq = from_sequence
        for item in islice(self._log, from_sequence - oldest, None):
            if type(item) is EventRun:
                append(item.event_at(seq))
            else:
                append(item)  # type: ignore[arg-type]  # not a run: an Event
            seq += 1
        return out
