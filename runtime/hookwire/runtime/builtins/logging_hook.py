"""Logging: one structured log line per call through the standard `logging` module.

The message is `hookwire.call ` followed by a JSON object (sorted keys) with the point,
correlation id, component, operation type/id, error code (at error points), the data's keys
(or the data itself with `include_data=True`) and the clock's wall time; the same dict is
attached to the record as `record.hookwire` for structured handlers. The hook always returns
CONTINUE, and costs one `isEnabledFor` check when its level is off.

Example:
    >>> import logging, sys
    >>> from hookwire.runtime.clock import VirtualClock
    >>> log = logging.getLogger("doc.example"); log.propagate = False
    >>> handler = logging.StreamHandler(sys.stdout); log.addHandler(handler)
    >>> hook = LoggingHook(VirtualClock(start_unix_ns=0), logger=log, level=logging.WARNING)
    >>> hook(HookContext("custom:x", {"q": 1}, correlation_id="c1"))
    hookwire.call {"correlation_id":"c1","data_keys":["q"],"point":"custom:x","time_ns":0}
"""

from __future__ import annotations

import json
import logging
from typing import Any

from hookwire.runtime.clock import Clock
from hookwire.runtime.context import HookContext
from hookwire.runtime.errors import InvalidArgument

__all__ = ["LoggingHook"]


class LoggingHook:
    """Logs each call at `level` on `logger` (a Logger or a logger name)."""

    __slots__ = ("_clock", "include_data", "level", "logger")

    def __init__(
        self,
        clock: Clock,
        *,
        logger: logging.Logger | str = "hookwire.calls",
        level: int = logging.INFO,
        include_data: bool = False,
    ) -> None:
        if isinstance(level, bool) or not isinstance(level, int) or level < 0:
            raise InvalidArgument("level", f"must be a logging level (int >= 0), got {level!r}")
        if isinstance(logger, str):
            logger = logging.getLogger(logger)
        elif not isinstance(logger, logging.Logger):
            raise InvalidArgument("logger", f"must be a Logger or a name, got {logger!r}")
        self._clock = clock
        self.logger = logger
        self.level = level
        self.include_data = include_data

    def record(self, ctx: HookContext) -> dict[str, Any]:
        """The structured fields logged for `ctx`."""
        rec: dict[str, Any] = {"point": ctx.point, "time_ns": self._clock.time_ns()}
        if ctx.correlation_id:
            rec["correlation_id"] = ctx.correlation_id
        if ctx.component is not None:
            rec["component"] = {"id": ctx.component.id, "type": ctx.component.type}
        op = ctx.operation
        if op is not None:
            rec["operation"] = {"type": op.type, "id": op.id}
            if op.error is not None:
                rec["error"] = {"code": op.error.code, "message": op.error.message}
        if self.include_data:
            rec["data"] = ctx.data
        else:
            rec["data_keys"] = sorted(ctx.data)
        return rec

    def __call__(self, ctx: HookContext) -> None:
        if not self.logger.isEnabledFor(self.level):
            return
        rec = self.record(ctx)
        text = json.dumps(rec, sort_keys=True, separators=(",", ":"), default=str)
        self.logger.log(self.level, "hookwire.call %s", text, extra={"hookwire": rec})
