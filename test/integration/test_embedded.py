"""The embedded launcher with a real redis-server binary."""

import stat
from pathlib import Path

import pytest
import redis

from page_tracker.embedded import BINARY_ENV, EmbeddedRedisError, RedisServer


def test_unix_socket_server_keeps_data_across_restarts(tmp_path: Path) -> None:
    with RedisServer(tmp_path) as server, redis.Redis.from_url(server.url) as client:
        client.set("kept", "yes")
    assert (tmp_path / "appendonlydir").is_dir()
    with RedisServer(tmp_path) as server, redis.Redis.from_url(server.url) as client:
        assert client.get("kept") == b"yes"


def test_stop_ends_the_process(tmp_path: Path) -> None:
    server = RedisServer(tmp_path).start()
    process = server.process
    assert process is not None
    server.stop()
    assert process.returncode is not None
    assert server.process is None


def test_a_server_that_exits_at_once_is_reported(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    crashing = tmp_path / "crashing-redis"
    crashing.write_text("#!/bin/sh\nexit 3\n")
    crashing.chmod(crashing.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv(BINARY_ENV, str(crashing))
    with pytest.raises(EmbeddedRedisError, match="redis-server exited"):
        RedisServer(tmp_path).start()
