import stat
from pathlib import Path

import pytest

from page_tracker.embedded import BINARY_ENV, EmbeddedRedisError, RedisServer, find_binary


def test_bundled_server_is_found_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(BINARY_ENV, raising=False)
    binary = find_binary()
    assert binary.name in {"valkey-server", "redis-server"}
    assert binary.is_file()


def test_explicit_binary_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    binary = tmp_path / "my-redis"
    binary.write_text("#!/bin/sh\n")
    binary.chmod(binary.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv(BINARY_ENV, str(binary))
    assert find_binary() == binary


def test_explicit_binary_must_be_executable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(BINARY_ENV, str(tmp_path / "missing"))
    with pytest.raises(EmbeddedRedisError, match="is not an executable file"):
        find_binary()


def test_server_on_a_port_listens_on_loopback(tmp_path: Path) -> None:
    assert RedisServer(tmp_path, port=7777).url == "redis://127.0.0.1:7777"


def test_server_without_a_port_uses_a_private_unix_socket(tmp_path: Path) -> None:
    server = RedisServer(tmp_path)
    assert server.url.startswith("unix:///")
    assert server.url.endswith("/redis.sock")
    assert server.log_file == tmp_path / "redis.log"
