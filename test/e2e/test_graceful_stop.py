"""`page-tracker serve` stopped under beacon load counts every view it answered, then exits."""

import os
import signal
import threading
import time
from datetime import UTC, datetime

import pytest
import redis
import requests

from page_tracker.embedded import RedisServer
from page_tracker.store import keys
from test.e2e.serving import Serve

pytestmark = pytest.mark.slow
TOKEN = "graceful-admin-token"  # noqa: S105
SENDERS = 4
LOAD_S = 1.5


@pytest.fixture(autouse=True)
def _local_only(outside_deployment: bool) -> None:
    if outside_deployment:
        pytest.skip("starts its own server; not for an outside deployment")


def send_until_stopped(url: str, answered: list[int], stop: threading.Event) -> None:
    beacon = '{"site": "stopping", "url": "https://stopping.test/"}'
    headers = {"Content-Type": "text/plain", "User-Agent": "Mozilla/5.0 Firefox/120.0"}
    deadline = time.monotonic() + LOAD_S + 5  # bounded, whatever happens to the server
    with requests.Session() as session:
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                status = session.post(url, data=beacon, headers=headers, timeout=5).status_code
            except requests.ConnectionError:
                return  # the server has stopped listening
            if status == 202:
                answered.append(1)


def test_sigterm_under_load_counts_every_answered_view_before_exit(
    redis_server: RedisServer, start_server: Serve
) -> None:
    with redis.Redis.from_url(redis_server.url, decode_responses=True) as client:
        client.flushall()
        server = start_server([], {**os.environ, "REDIS_URL": redis_server.url,
                                   "PAGE_TRACKER_ADMIN_TOKEN": TOKEN,
                                   "PAGE_TRACKER_VIEW_RATE_LIMIT": ""})  # fmt: skip
        site = {"name": "stopping", "domains": ["stopping.test"]}
        requests.post(f"{server.url}/api/sites", json=site, timeout=5,
                      headers={"Authorization": f"Bearer {TOKEN}"}).raise_for_status()  # fmt: skip
        answered: list[int] = []
        stop = threading.Event()
        senders = [
            threading.Thread(target=send_until_stopped,
                             args=(f"{server.url}/api/event", answered, stop))
            for _ in range(SENDERS)
        ]  # fmt: skip
        for sender in senders:
            sender.start()
        time.sleep(LOAD_S)
        assert server.stop(signal.SIGTERM) == 0
        stop.set()
        for sender in senders:
            sender.join()
        # Read at once: no other worker is left to drain, and no sweep has run.
        day = keys.day_counts("stopping", datetime.now(UTC).date())
        assert client.llen(keys.inbox("stopping")) == 0
        assert len(answered) > 100
        assert int(client.hget(day, "views") or 0) == len(answered)
