"""`page-tracker serve` with its embedded Redis: persistence and a clean shutdown."""

import re
import signal
import subprocess
import sys
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


def page_tracker(*args: str) -> subprocess.CompletedProcess[str]:
    command = Path(sys.executable).with_name("page-tracker")
    return subprocess.run(
        [str(command), *args],
        env=environment_without_redis_url(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_command_beside_serve_uses_its_redis(tmp_path: Path, start_server: Serve) -> None:
    server = start(start_server, tmp_path)
    added = page_tracker(
        "--data-dir", str(tmp_path), "site", "add", "shop", "--domain", "shop.test"
    )
    assert added.returncode == 0, added.stderr
    beacon = requests.post(
        f"{server.url}/api/event",
        data='{"site": "shop", "url": "https://shop.test/"}',
        headers={"Content-Type": "text/plain", "User-Agent": "Mozilla/5.0 (X11; Linux x86_64)"},
        timeout=5,
    )
    assert beacon.status_code == 202, beacon.text  # serve knows the site the command added
    assert sum("server" in p.name() for p in server.descendants()) == 1


def test_a_second_serve_on_one_data_dir_is_refused(tmp_path: Path, start_server: Serve) -> None:
    first = start(start_server, tmp_path)
    second = page_tracker("serve", "--data-dir", str(tmp_path), "--port", "1")
    assert second.returncode == 1
    assert f"page-tracker serve (pid {first.process.pid}) already uses" in second.stderr
    assert views(first) == "This page has been seen 1 times."


LINK = re.compile(r"(http://\S+/dashboard/sign-in/\S+)")


def test_a_first_run_prints_a_sign_in_link_that_works(tmp_path: Path, start_server: Serve) -> None:
    environment = environment_without_redis_url()
    environment.pop("PAGE_TRACKER_ADMIN_TOKEN", None)
    server = start_server(["--data-dir", str(tmp_path)], environment)
    link = LINK.search(server.logged())
    assert link is not None, server.logged()
    assert link.group(1).startswith(server.url)
    browser = requests.Session()
    page = browser.get(link.group(1), timeout=5)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf is not None, page.text
    signed_in = browser.post(link.group(1), data={"csrf_token": csrf.group(1)}, timeout=5)
    assert signed_in.url == f"{server.url}/dashboard/"
    assert "Create an admin token" in signed_in.text


def test_no_link_is_printed_when_asked_not_to_or_with_an_admin_token(
    tmp_path: Path, start_server: Serve
) -> None:
    environment = environment_without_redis_url()
    environment.pop("PAGE_TRACKER_ADMIN_TOKEN", None)
    refused = start_server(["--data-dir", str(tmp_path), "--no-sign-in-link"], environment)
    assert LINK.search(refused.logged()) is None
    refused.stop()
    configured = start_server(
        ["--data-dir", str(tmp_path)],
        {**environment, "PAGE_TRACKER_ADMIN_TOKEN": "an-admin-token-of-24-chars"},
    )
    assert LINK.search(configured.logged()) is None
