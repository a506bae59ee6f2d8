"""The fast app serves hits, badges and beacons in every shape without Flask; Flask the rest."""

from collections.abc import Iterator

import fakeredis
import pytest
from flask import Flask, request, request_started

from page_tracker.services import counters
from test.client import Client


@pytest.fixture
def through_flask(app: Flask) -> Iterator[list[str]]:
    """Return the paths of the requests Flask itself dispatched, filled in as they come."""
    seen: list[str] = []

    def started(sender: Flask, **_: object) -> None:
        seen.append(request.full_path.rstrip("?"))

    request_started.connect(started, app)
    yield seen
    request_started.disconnect(started, app)


BEACON = '{"site": "blog", "url": "https://blog.test/"}'


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/hit/site.one/home"),
        ("POST", "/hit/site.one/home"),
        ("GET", "/hit/home"),
        ("GET", "/hit/site.one/home?callback=cb"),
        ("HEAD", "/hit/site.one/home"),
        ("OPTIONS", "/hit/site.one/home"),
        ("DELETE", "/hit/site.one/home"),
        ("GET", "/hit/a/home"),  # a name too short: 400
        ("GET", "/badge/site.one/home.svg"),
        ("GET", "/badge/home.svg?style=plastic&label=readers"),
        ("HEAD", "/badge/site.one/home.svg"),
        ("OPTIONS", "/badge/home.svg"),
        ("POST", "/api/event"),
        ("OPTIONS", "/api/event"),
        ("GET", "/api/event"),
    ],
)
def test_every_shape_of_a_hit_a_badge_or_a_beacon_skips_flask(
    client: Client, through_flask: list[str], method: str, path: str
) -> None:
    response = client.open(path, method=method, data=BEACON if method == "POST" else None)
    assert response.status_code in (200, 202, 400, 404, 405)
    assert through_flask == []


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/hit/a/b/c"),
        ("GET", "/hit/site.one/home/"),
        ("GET", "/badge/site.one/home.png"),
        ("GET", "/get/site.one/home"),
        ("POST", "/api/events"),
        ("OPTIONS", "/api/events"),
    ],
)
def test_every_other_request_goes_to_flask(
    client: Client, through_flask: list[str], method: str, path: str
) -> None:
    client.open(path, method=method)
    assert through_flask == [path]


def test_a_jsonp_hit_counts_with_the_same_headers(client: Client) -> None:
    plain = client.get("/hit/site.one/home")
    wrapped = client.get("/hit/site.one/home?callback=cb")
    assert plain.json == {"value": 1}
    assert wrapped.text == '/**/cb({"value":2});'
    assert wrapped.mimetype == "application/javascript"
    for response in (plain, wrapped):
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        assert response.headers["RateLimit-Limit"] == "600"
    assert (
        int(wrapped.headers["RateLimit-Remaining"]) == int(plain.headers["RateLimit-Remaining"]) - 1
    )


def test_a_bad_callback_is_refused_before_counting(
    client: Client, fake_redis: fakeredis.FakeRedis
) -> None:
    response = client.get("/hit/site.one/home?callback=alert(1)")
    assert response.status_code == 400
    assert "callback" in response.json["message"]
    assert fake_redis.keys("pt:*") == []


def test_head_answers_the_headers_of_get_without_a_body(client: Client) -> None:
    got = client.get("/badge/site.one/home.svg?count=false")
    head = client.head("/badge/site.one/home.svg?count=false")
    assert head.status_code == 200
    assert head.data == b""
    assert head.headers["Content-Length"] == got.headers["Content-Length"]
    assert head.headers["Content-Type"] == got.headers["Content-Type"]


def test_options_says_what_is_allowed_and_a_beacon_may_be_preflighted(
    client: Client,
) -> None:
    hit = client.options("/hit/site.one/home")
    assert set(hit.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS", "POST"}
    beacon = client.options("/api/event")
    assert beacon.status_code == 200
    assert beacon.headers["Allow"] == "OPTIONS, POST"
    assert beacon.headers["Access-Control-Allow-Headers"] == "Content-Type"
    refused = client.delete("/hit/site.one/home")
    assert refused.status_code == 405
    assert refused.json["error"] == "Method Not Allowed"
    assert "DELETE" not in refused.headers["Allow"]


@pytest.mark.parametrize(
    ("path", "reason"),
    [("/hit/site.one/x", "3 to 64 characters"), ("/badge/x.svg", "3 to 64 characters"),
     ("/badge/site.one/home.svg?color=notacolour", "color must be a hex colour")],
)  # fmt: skip
def test_a_bad_name_or_option_is_a_json_400_before_counting(
    client: Client, fake_redis: fakeredis.FakeRedis, path: str, reason: str
) -> None:
    response = client.get(path)
    assert response.status_code == 400
    assert response.json is not None
    assert reason in response.json["message"]
    assert fake_redis.keys("pt:*") == []


def test_an_outage_is_a_json_503_with_retry_after(
    client: Client, fake_server: fakeredis.FakeServer
) -> None:
    fake_server.connected = False
    for path in ("/hit/site.one/home", "/badge/site.one/home.svg"):
        response = client.get(path)
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "7"
        assert response.json is not None
        assert response.json["error"] == "Service Unavailable"


def test_an_overflow_is_a_json_400(client: Client, fake_redis: fakeredis.FakeRedis) -> None:
    fake_redis.hset("pt:{site.one}:c:home", mapping={"value": 2**63 - 1, "created": 1})
    response = client.get("/hit/site.one/home")
    assert response.status_code == 400
    assert response.json is not None
    assert "largest signed 64-bit" in response.json["message"]


def test_an_unexpected_failure_is_a_json_500(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object) -> int:
        raise RuntimeError("a bug")

    monkeypatch.setattr(counters, "hit", broken)
    response = client.get("/hit/site.one/home")
    assert response.status_code == 500
    assert response.json == {
        "error": "Internal Server Error",
        "message": "Something went wrong on our side.",
    }


@pytest.mark.parametrize(
    "app_config",
    [{"RATE_LIMIT": "1/minute", "PROXY_COUNT": 1}],
)
def test_behind_a_proxy_the_fast_app_limits_the_client_not_the_proxy(
    client: Client,
) -> None:
    def hit(client_ip: str) -> int:
        headers = {"X-Forwarded-For": client_ip}
        return client.get("/hit/site.one/home", headers=headers).status_code

    assert [hit("198.51.100.1"), hit("198.51.100.2"), hit("198.51.100.1")] == [200, 200, 429]
    # A value that is no address counts as the peer's own: it cannot dodge the limit.
    assert [hit("x" * 5000), hit("not-an-ip")] == [200, 429]
