import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from page_tracker import cli
from page_tracker.cli import main
from page_tracker.embedded import BINARY_ENV


def test_serve_refuses_an_invalid_setting_before_serving(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1")
    monkeypatch.setenv("PAGE_TRACKER_REDIS_TIMEOUT", "never")
    result = CliRunner().invoke(main, ["serve"])
    assert result.exit_code == 1
    assert "PAGE_TRACKER_REDIS_TIMEOUT must be a positive number" in result.output


def test_serve_explains_a_missing_redis_binary(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setenv(BINARY_ENV, str(tmp_path / "no-such-binary"))
    result = CliRunner().invoke(main, ["serve", "--data-dir", str(tmp_path / "data")])
    assert result.exit_code == 1
    assert "is not an executable file" in result.output


def test_serve_rejects_zero_workers() -> None:
    result = CliRunner().invoke(main, ["serve", "--workers", "0"])
    assert result.exit_code == 2
    assert "--workers" in result.output


EVERY_INTERFACE = "0.0.0.0"  # noqa: S104 - a value compared, not bound here


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_loopback_gets_a_sign_in_link_unasked(host: str) -> None:
    assert cli._local(host)


@pytest.mark.parametrize("host", [EVERY_INTERFACE, "::", "192.0.2.7", "tracker.example"])
def test_other_addresses_get_a_sign_in_link_only_when_asked(host: str) -> None:
    assert not cli._local(host)


def test_a_link_names_the_host_a_browser_can_reach() -> None:
    assert cli._shown("127.0.0.1") == "127.0.0.1"
    assert cli._shown("::1") == "[::1]"
    assert cli._shown(EVERY_INTERFACE) == socket.gethostname()
