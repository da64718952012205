"""`bus.transport = "nats"` in hookwire.toml: the bus on JetStream, from the file alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hookwire.runtime.bus import EventBus
from hookwire.runtime.bus.jetstream import JetStreamTransport
from hookwire.runtime.clock import SystemClock
from hookwire.runtime.config import load_config
from hookwire.runtime.errors import InvalidArgument


def _config(tmp_path: Path, table: str) -> Path:
    p = tmp_path / "hookwire.toml"
    p.write_text('[bus]\ntransport = "nats"\n[bus.nats]\n' + table)
    return p


def test_the_file_puts_the_bus_on_the_named_stream(
    nats_server: Any, closing: Any, tmp_path: Path
) -> None:
    config = load_config(
        _config(tmp_path, f'servers = ["{nats_server.url}"]\nstream = "FROMFILE"\n')
    )
    transport = config.transport(SystemClock())
    assert isinstance(transport, JetStreamTransport)
    bus = closing(EventBus(transport=transport))
    assert bus.publish("cfg.made", {"n": 1}) == 1
    assert nats_server.jsz()["streams"] == 1
    # A second bus reading the same stream sees the event: it really went through NATS.
    reader = closing(EventBus(transport=load_config(config.path).transport(SystemClock())))
    assert [ev.payload for ev in reader.retained(1)] == [{"n": 1}]


def test_a_secret_named_but_not_set_is_refused_naming_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HW_TEST_NATS_TOKEN", raising=False)
    config = load_config(
        _config(tmp_path, 'servers = ["nats://127.0.0.1:1"]\ntoken_env = "HW_TEST_NATS_TOKEN"\n')
    )
    with pytest.raises(InvalidArgument) as info:
        config.transport(SystemClock())
    assert info.value.field == "bus.nats.token_env"
    assert "HW_TEST_NATS_TOKEN" in str(info.value)


def test_a_credentials_file_is_found_beside_the_config_file(tmp_path: Path) -> None:
    config = load_config(_config(tmp_path, 'creds = "nats.creds"\n'))
    assert config.bus.nats["creds"] == str(tmp_path.resolve() / "nats.creds")
