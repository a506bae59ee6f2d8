"""Redis going away, getting stuck and coming back while the app keeps running."""

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from page_tracker.app import create_app
from page_tracker.embedded import RedisServer
from page_tracker.extensions import REDIS
from test.client import Client, client_of
from test.ports import free_port

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
def client(own_server: RedisServer) -> Iterator[Client]:
    app = create_app({"REDIS_URL": own_server.url, "REDIS_TIMEOUT": TIMEOUT})
    yield client_of(app)
    app.extensions[REDIS].close()


def timed_get(client: Client, path: str) -> tuple[int, str, float]:
    started = time.monotonic()
    response = client.get(path)
    return response.status_code, response.text, time.monotonic() - started


def test_redis_stopping_mid_run_gives_fast_503s_then_recovers_without_restart(
    client: Client, own_server: RedisServer
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
    client: Client, own_server: RedisServer
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
    client = client_of(app)
    assert client.get("/healthz").status_code == 200
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json is not None
    assert "ConnectionError" in response.json["checks"]["redis"]
    app.extensions[REDIS].close()


def test_analytics_and_the_dashboard_answer_503_in_an_outage_and_lose_nothing(
    own_server: RedisServer,
) -> None:
    app = create_app({"REDIS_URL": own_server.url, "REDIS_TIMEOUT": TIMEOUT,
                      "ADMIN_TOKEN": "s3rver-admin-token", "RATE_LIMIT": ""})  # fmt: skip
    client = client_of(app)
    admin = {"Authorization": "Bearer s3rver-admin-token"}
    client.post("/api/sites", json={"name": "blog", "domains": ["example.com"]}, headers=admin)
    page = client.get("/dashboard/login").text
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    client.post("/dashboard/login", data={"token": "s3rver-admin-token", "csrf_token": token})
    beacon = {"site": "blog", "url": "https://example.com/"}
    assert client.post("/api/event", json=beacon).status_code == 202

    own_server.stop()
    started = time.monotonic()
    answers = [
        client.post("/api/event", json=beacon),
        client.post("/api/events", json=[beacon], headers=admin),
        client.get("/api/sites/blog/stats", headers=admin),
        client.get("/dashboard/sites/blog"),
    ]
    assert [answer.status_code for answer in answers] == [503] * 4
    assert all("Retry-After" in answer.headers for answer in answers)
    assert "The database is unavailable" in answers[-1].text  # a page, not JSON, for people
    assert time.monotonic() - started < 4 * BOUND

    own_server.start()
    assert client.post("/api/event", json=beacon).status_code == 202
    # Two views were accepted, one before and one after the outage: both counted, once.
    assert client.get("/api/sites/blog/stats", headers=admin).json["totals"]["views"] == 2
    app.extensions[REDIS].close()
