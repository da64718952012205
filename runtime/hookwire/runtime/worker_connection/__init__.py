"""The executor's side of the worker protocol: one worker connection, two transports.

- `connection.WorkerConnection`: the protocol itself, whatever carries the bytes (calls in
  flight by id, answers, cancels, a dead peer failing its calls, the hook's result from the
  worker's answer, virtual time, published events);
- `stream.StreamConnection`: over a gRPC Connect stream (JS and Python workers; bounded
  outbox, batching, one deadline timer on the event loop);
- `pipe.PipeConnection`: over a child process's stdin/stdout (the Lua worker; frames, a reader
  thread, futures a caller may block on).

The hook adapters are thin: `server.remote_adapter.RemoteHookAdapter` and
`lua_process.LuaProcessHookAdapter` call a hook through a connection.

Example:
    >>> from hookwire.runtime.clock import SystemClock
    >>> isinstance(StreamConnection("c1", "w1", "javascript", clock=SystemClock()),
    ...            WorkerConnection)
    True
"""

from hookwire.runtime.worker_connection.connection import (
    TIMEOUT_ERROR_TYPE,
    WorkerConnection,
    WorkerGone,
    publish_events,
)
from hookwire.runtime.worker_connection.pipe import PipeConnection
from hookwire.runtime.worker_connection.stream import (
    DEFAULT_MAX_QUEUED_BYTES,
    DEFAULT_MAX_QUEUED_MESSAGES,
    StreamConnection,
)

__all__ = [
    "DEFAULT_MAX_QUEUED_BYTES",
    "DEFAULT_MAX_QUEUED_MESSAGES",
    "TIMEOUT_ERROR_TYPE",
    "PipeConnection",
    "StreamConnection",
    "WorkerConnection",
    "WorkerGone",
    "publish_events",
]
