"""One embedded Redis per data directory, shared by `serve` and every command."""

import threading
import time
from contextlib import ExitStack
from pathlib import Path

import pytest
import redis
from click.testing import CliRunner

from page_tracker.cli import main
from page_tracker.embedded import ADDRESS_FILE, DataDirBusyError, data_dir_server
from page_tracker.services import sites


@pytest.fixture(autouse=True)
def _no_redis_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)


def answers(url: str) -> bool:
    try:
        with redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1) as client:
            return bool(client.ping())
    except redis.ConnectionError:
        return False


def test_a_command_runs_a_server_for_as_long_as_it_needs_one(tmp_path: Path) -> None:
    with data_dir_server(tmp_path) as url:
        assert answers(url)
        assert (tmp_path / ADDRESS_FILE).exists()
    assert not answers(url)
    assert not (tmp_path / ADDRESS_FILE).exists()


def test_a_second_command_uses_the_server_that_runs(tmp_path: Path) -> None:
    with data_dir_server(tmp_path) as first, data_dir_server(tmp_path) as second:
        assert second == first
        with redis.Redis.from_url(first) as one, redis.Redis.from_url(second) as other:
            one.set("seen", "1")
            assert other.get("seen") == b"1"


def test_serve_refuses_a_data_dir_another_serve_uses(tmp_path: Path) -> None:
    with (
        data_dir_server(tmp_path, serving=True),
        pytest.raises(DataDirBusyError, match="already uses"),
        data_dir_server(tmp_path, serving=True),
    ):
        pytest.fail("a second serve got the data directory")


def test_serve_waits_for_a_commands_server_and_then_starts_its_own(tmp_path: Path) -> None:
    got: list[str] = []
    with ExitStack() as command:
        commands_url = command.enter_context(data_dir_server(tmp_path))

        def serve() -> None:
            with data_dir_server(tmp_path, serving=True, wait_s=10) as url:
                got.append(url)

        serving = threading.Thread(target=serve)
        serving.start()
        time.sleep(0.3)
        assert got == []  # still waiting: the command's server runs
    serving.join(10)
    assert len(got) == 1
    assert got[0] != commands_url


def test_the_owner_stops_only_after_the_commands_using_its_server(tmp_path: Path) -> None:
    owner, user = ExitStack(), ExitStack()
    url = owner.enter_context(data_dir_server(tmp_path))
    user.enter_context(data_dir_server(tmp_path))
    stopping = threading.Thread(target=owner.close)
    stopping.start()
    time.sleep(0.3)
    assert stopping.is_alive()
    assert answers(url)  # the user can still finish its work
    user.close()
    stopping.join(10)
    assert not stopping.is_alive()
    assert not answers(url)


def invoke(data_dir: Path, *args: str) -> str:
    result = CliRunner().invoke(main, ["--data-dir", str(data_dir), *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_commands_keep_their_data_in_the_data_dir_without_redis_url(tmp_path: Path) -> None:
    invoke(tmp_path, "site", "add", "shop", "--domain", "shop.test")
    assert "shop\tshop.test\tUTC\t365d" in invoke(tmp_path, "site", "list")
    assert "admin" in invoke(tmp_path, "token", "add", "--scope", "admin")
    assert "\tadmin\t*" in invoke(tmp_path, "token", "list")
    assert not (tmp_path / ADDRESS_FILE).exists()  # no server left running


def test_a_command_writes_to_the_server_that_runs(tmp_path: Path) -> None:
    with (
        data_dir_server(tmp_path, serving=True) as url,
        redis.Redis.from_url(url, decode_responses=True) as client,
    ):
        invoke(tmp_path, "site", "add", "shop", "--domain", "shop.test")
        assert sites.load(client, "shop").domains == ("shop.test",)
