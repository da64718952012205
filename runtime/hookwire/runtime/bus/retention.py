"""The bounded retention log: the last N accepted events, for resuming from a sequence.

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
from hookwire.runtime.errors import InvalidArgument, OutOfRange

__all__ = ["DEFAULT_RETENTION", "RetentionLog"]

DEFAULT_RETENTION = 10_000


class RetentionLog:
    """Holds the last `capacity` events in sequence order (capacity 0 keeps nothing)."""

    __slots__ = ("_log", "append", "capacity")

    def __init__(self, capacity: int = DEFAULT_RETENTION) -> None:
        if type(capacity) is not int or capacity < 0:
            raise InvalidArgument("retention", f"must be an int >= 0, got {capacity!r}")
        self.capacity = capacity
        self._log: deque[Event] = deque(maxlen=capacity)
        # Bound once: appending is on the publish hot path.
        self.append = self._log.append

    def __len__(self) -> int:
        return len(self._log)

    def oldest(self, next_sequence: int) -> int:
        """The oldest sequence a resume may ask for (next_sequence when nothing is held)."""
        return self._log[0].sequence if self._log else next_sequence

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
        return list(islice(self._log, from_sequence - oldest, None))
