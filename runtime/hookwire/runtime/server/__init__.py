"""hookwire.runtime.server: the gRPC executor and event-bus service (docs/server.md).

Example:
    >>> from hookwire.runtime.server import ServerConfig
    >>> ServerConfig(port=0).port
    0
"""

from hookwire.runtime.server.config import ServerConfig
from hookwire.runtime.server.server import HookwireServer, ServerThread

__all__ = ["HookwireServer", "ServerConfig", "ServerThread"]
