"""Redis going away, getting stuck and coming back while the app keeps running."""

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from page_tracker.app import create_app
from page_tracker.embedded import RedisServer, free_port
from page_tracker.extensions import REDIS

TIMEOUT = 0.3
# "Within about a second": a refused or stuck Redis must never hold a request much longer than
# the configured timeout.  This bounds a hang; it is not a speed target.
BOUND = 1.5


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[RedisServer]:
    """Start a redis-server this test may stop, freeze and restart, with persistence on."""
    with RedisServer(tmp_path, port=free_port(), persist=True) as server:
        yield server


@pytest.fixture
def client(own_server: RedisServer) -> Iterator[FlaskClient]:
    app = create_app({"REDIS_URL": own_server.url, "REDIS_TIMEOUT": TIMEOUT})
    yield app.test_client()
    app.extensions[REDIS].close()


def timed_get(client: FlaskClient, path: str) -> tuple[int, str, float]:
    started = time.monotonic()
    response = client.get(path)
    return response.status_code, response.text, time.monotonic() - started


def test_redis_stopping_mid_run_gives_fast_503s_then_recovers_without_restart(
    client: FlaskClient, own_server: RedisServer
) -> None:
    assert client.get("/").text == "This page has been seen 1 times."
    assert client.get("/").text == "This page has been seen 2 times."

    own_server.stop()
    for path in ("/", "/readyz"):
        status, _, elapsed = timed_get(client, path)
        assert status == 503
        assert elapsed < BOUND

    own_server.start()
    assert client.get("/readyz").status_code == 200
    # The two views before the outage survived it (append-only file); none was counted twice.
    assert client.get("/").text == "This page has been seen 3 times."


def test_a_stuck_redis_gives_503_within_the_timeout_then_recovers(
    client: FlaskClient, own_server: RedisServer
) -> None:
    assert client.get("/").status_code == 200
    assert own_server.process is not None
    pid = own_server.process.pid
    os.kill(pid, signal.SIGSTOP)
    try:
        status, text, elapsed = timed_get(client, "/")
        ready_status, _, ready_elapsed = timed_get(client, "/readyz")
    finally:
        os.kill(pid, signal.SIGCONT)
    assert (status, text) == (503, "Sorry, something went wrong \N{PENSIVE FACE}")
    assert elapsed < BOUND
    assert ready_status == 503
    assert ready_elapsed < BOUND
    assert client.get("/").status_code == 200


def test_unreachable_redis_at_startup_does_not_stop_the_app(tmp_path: Path) -> None:
    app = create_app({"REDIS_URL": f"redis://127.0.0.1:{free_port()}", "REDIS_TIMEOUT": TIMEOUT})
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json is not None
    assert "ConnectionError" in response.json["checks"]["redis"]
    app.extensions[REDIS].close()
