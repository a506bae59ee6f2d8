import re
import time

import fakeredis

from page_tracker.services import sites
from page_tracker.store import keys
from test.client import Client


def test_healthz_answers_without_redis(client: Client, fake_server: fakeredis.FakeServer) -> None:
    fake_server.connected = False
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_readyz_is_ready_when_redis_answers(client: Client) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json == {"status": "ready", "checks": {"redis": "ok", "inbox": "ok"}}


def test_readyz_says_what_failed_when_redis_is_down(
    client: Client, fake_server: fakeredis.FakeServer
) -> None:
    fake_server.connected = False
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "7"
    assert response.json is not None
    assert response.json["status"] == "unavailable"
    assert response.json["checks"]["redis"].startswith("ConnectionError")


def test_readyz_is_degraded_while_views_wait_too_long(
    client: Client, fake_redis: fakeredis.FakeRedis
) -> None:
    sites.add(fake_redis, sites.make_site("blog", ["example.com"], created=0))
    came_in = time.time() - 150  # the limit is 60 s
    fake_redis.rpush(keys.inbox("blog"), f"2 {came_in!r} - []", f"2 {time.time()!r} - []")
    response = client.get("/readyz")
    # Still ready: the lag is the whole service's, and taking this node out would not help.
    assert response.status_code == 200
    assert response.json is not None
    assert response.json["status"] == "degraded"
    inbox = response.json["checks"]["inbox"]
    assert "of 2 views" in inbox
    assert re.search(r"came in 1[45]\d s ago, more than the limit of 60 s", inbox), inbox
    fake_redis.lpop(keys.inbox("blog"))  # the old one is counted: ready again
    assert client.get("/readyz").json == {
        "status": "ready",
        "checks": {"redis": "ok", "inbox": "ok"},
    }
