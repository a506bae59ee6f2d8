"""Budgets on a real `serve` with two workers: shared through Redis, and in the request's script."""

import threading
import time
from collections import Counter
from collections.abc import Callable

import pytest
import redis
import requests

from page_tracker.embedded import RedisServer
from page_tracker.store import keys, scripts
from test.e2e.serving import Serve, ServeProcess, environment

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("local_only")]
TOKEN = "budgets-admin-token-01"  # noqa: S105
BUDGET = 20
BEACON = '{"site": "budgets", "url": "https://budgets.test/"}'
BROWSER = {"Content-Type": "text/plain", "User-Agent": "Mozilla/5.0 Firefox/120.0"}


@pytest.fixture
def server(redis_server: RedisServer, start_server: Serve) -> ServeProcess:
    with redis.Redis.from_url(redis_server.url) as client:
        client.flushall()
    env = environment(
        redis_server.url,
        ADMIN_TOKEN=TOKEN,
        PROXY_COUNT="1",
        RATE_LIMIT=f"{BUDGET}/minute",
        VIEW_RATE_LIMIT=f"{BUDGET}/minute",
    )
    served = start_server(["--workers", "2"], env)
    site = {"name": "budgets", "domains": ["budgets.test"]}
    admin = {"Authorization": f"Bearer {TOKEN}"}
    requests.post(f"{served.url}/api/sites", json=site, headers=admin, timeout=5).raise_for_status()
    return served


def from_address(address: str) -> dict[str, str]:
    # A new connection each time, so that both workers take their share.
    return {"X-Forwarded-For": address, "Connection": "close"}


def test_a_burst_of_budget_plus_one_gets_exactly_one_429_across_two_workers(
    server: ServeProcess,
) -> None:
    statuses: list[int] = []

    def hit() -> None:
        sent = requests.get(
            f"{server.url}/hit/budgets/page", headers=from_address("198.51.100.7"), timeout=10
        )
        statuses.append(sent.status_code)

    threads = [threading.Thread(target=hit) for _ in range(BUDGET + 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Counter(statuses) == {200: BUDGET, 429: 1}
    # Another address has a budget of its own.
    other = requests.get(
        f"{server.url}/hit/budgets/page", headers=from_address("198.51.100.8"), timeout=5
    )
    assert other.status_code == 200


@pytest.fixture
def monitored(redis_server: RedisServer) -> Callable[[Callable[[], None]], list[str]]:
    """Return a function that runs `send` and returns the commands clients sent Redis meanwhile.

    Commands that scripts run are left out, and so is a drainer's round (from its take to its
    ingest): it counts views in batches, apart from the requests that queued them.
    """
    take, ingest = scripts.SHAS["take"], scripts.SHAS["ingest"]

    def watch(send: Callable[[], None]) -> list[str]:
        with (
            redis.Redis.from_url(redis_server.url, decode_responses=True) as client,
            redis.Redis.from_url(redis_server.url) as marker,
        ):
            while marker.llen(keys.inbox("budgets")):  # the drainer idle before we start
                time.sleep(0.05)
            time.sleep(0.3)
            monitor = client.monitor()
            with monitor:
                send()
                marker.echo("done watching")
                seen, draining = [], False
                while (command := monitor.next_command())["command"] != "ECHO done watching":
                    words = command["command"].split()
                    if command.get("client_type") == "lua":
                        continue
                    if words[0] == "EVALSHA" and words[1] in (take, ingest):
                        draining = words[1] == take
                    elif not draining:
                        seen.append(" ".join(words[:3]))
                return seen

    return watch


def test_a_hit_and_a_beacon_are_each_one_command_with_budgets_on(
    server: ServeProcess, monitored: Callable[[Callable[[], None]], list[str]]
) -> None:
    with requests.Session() as session:

        def hit() -> None:
            answer = session.get(
                f"{server.url}/hit/budgets/page", headers={"X-Forwarded-For": "198.51.100.9"}
            )
            assert answer.status_code == 200
            assert answer.headers["RateLimit-Limit"] == str(BUDGET)

        def beacon() -> None:
            headers = {**BROWSER, "X-Forwarded-For": "198.51.100.9"}
            answer = session.post(f"{server.url}/api/event", data=BEACON, headers=headers)
            assert answer.status_code == 202
            assert answer.headers["RateLimit-Limit"] == str(BUDGET)

        for send in (hit, beacon):  # each worker fetches the day's visitor secret once
            for _ in range(4):
                send()
        assert monitored(hit) == [f"EVALSHA {scripts.SHAS['hit']} 6"]
        assert monitored(beacon) == [f"EVALSHA {scripts.SHAS['queue']} 2"]
