"""The Python SDK is a client of the server, not a part of it: it imports only public modules
(hookwire.runtime.wire for what travels in metadata and messages), never the server's internals."""

from __future__ import annotations

import subprocess
import sys

_PROBE = """
import sys
import hookwire.sdk, hookwire.sdk.client, hookwire.sdk.commands, hookwire.sdk.worker
print("\\n".join(sorted(m for m in sys.modules if m.startswith("hookwire.runtime.server"))))
"""


def test_the_sdk_imports_nothing_under_the_server_package() -> None:
    # A fresh interpreter: in this one, other tests have imported the server already.
    out = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.split() == [], f"the SDK pulls in server modules: {out.stdout.split()}"


def test_client_and_server_share_one_definition_of_the_metadata_keys() -> None:
    from hookwire.runtime.server.auth import TokenAuthInterceptor
    from hookwire.runtime.wire.metadata import bearer_metadata, read_metadata, to_metadata

    assert TokenAuthInterceptor("s3cret").accepts(bearer_metadata("s3cret"))
    assert not TokenAuthInterceptor("s3cret").accepts(bearer_metadata("other"))
    sent = to_metadata(
        correlation_id="run-7", traceparent="00-" + "1" * 32 + "-" + "2" * 16 + "-01"
    )
    got = read_metadata(sent)
    assert (got.correlation_id, got.traceparent[:3]) == ("run-7", "00-")
