"""`page-tracker serve` with its embedded Redis: persistence and a clean shutdown."""

import signal
from pathlib import Path

import psutil
import pytest
import requests

from test.e2e.serving import Serve, ServeProcess, environment_without_redis_url

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _local_only(outside_deployment: bool) -> None:
    if outside_deployment:
        pytest.skip("starts its own server; not for an outside deployment")


def start(start_server: Serve, data_dir: Path) -> ServeProcess:
    return start_server(
        ["--data-dir", str(data_dir), "--workers", "2"], environment_without_redis_url()
    )


def views(server: ServeProcess) -> str:
    return requests.get(f"{server.url}/", timeout=5).text


def running(processes: list[psutil.Process]) -> list[psutil.Process]:
    return [p for p in processes if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT])
def test_count_survives_a_restart_and_no_process_is_left(
    tmp_path: Path, how: signal.Signals, start_server: Serve
) -> None:
    first = start(start_server, tmp_path)
    assert [views(first) for _ in range(3)][-1] == "This page has been seen 3 times."
    started = first.descendants()
    assert any("server" in p.name() for p in started), "no embedded redis-server was started"
    assert first.stop(how) == 0
    assert running(started) == []

    second = start(start_server, tmp_path)
    assert views(second) == "This page has been seen 4 times."
    assert second.stop(how) == 0


def test_a_killed_serve_takes_its_redis_and_workers_with_it(
    tmp_path: Path, start_server: Serve
) -> None:
    server = start(start_server, tmp_path)
    started = server.descendants()
    assert sum("server" in p.name() for p in started) == 1
    assert len(started) == 3  # the embedded Redis and two workers
    server.stop(signal.SIGKILL)
    psutil.wait_procs(started, timeout=10)
    assert running(started) == []
