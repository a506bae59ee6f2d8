"""The hot path answers plain hits and badges without Flask, exactly as the Flask views would."""

from collections.abc import Iterator

import fakeredis
import pytest
from flask import Flask, request, request_started
from flask.testing import FlaskClient

from page_tracker.services import counters


@pytest.fixture
def through_flask(app: Flask) -> Iterator[list[str]]:
    """Return the paths of the requests Flask itself dispatched, filled in as they come."""
    seen: list[str] = []

    def started(sender: Flask, **_: object) -> None:
        seen.append(request.full_path.rstrip("?"))

    request_started.connect(started, app)
    yield seen
    request_started.disconnect(started, app)


@pytest.mark.parametrize(
    "path", ["/hit/site.one/home", "/hit/home", "/badge/site.one/home.svg", "/badge/home.svg",
             "/badge/site.one/home.svg?style=plastic&label=readers", "/hit/a/home"],
)  # fmt: skip
def test_plain_hits_and_badges_skip_flask(
    client: FlaskClient, through_flask: list[str], path: str
) -> None:
    response = client.get(path)
    assert response.status_code in (200, 400)  # /hit/a/home: a name too short
    assert int(response.headers["Content-Length"]) == len(response.data) > 0
    assert through_flask == []


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/hit/site.one/home?callback=cb"), ("HEAD", "/badge/site.one/home.svg"),
     ("OPTIONS", "/hit/site.one/home"), ("GET", "/hit/a/b/c"), ("GET", "/hit/site.one/home/"),
     ("GET", "/badge/site.one/home.png"), ("DELETE", "/hit/site.one/home")],
)  # fmt: skip
def test_every_other_shape_goes_to_flask(
    client: FlaskClient, through_flask: list[str], method: str, path: str
) -> None:
    client.open(path, method=method)
    assert through_flask == [path]


def test_a_hit_answers_the_same_both_ways(client: FlaskClient, through_flask: list[str]) -> None:
    hot = client.get("/hit/site.one/home")
    cold = client.get("/hit/site.one/home?callback=cb")
    assert through_flask == ["/hit/site.one/home?callback=cb"]
    assert hot.json == {"value": 1}
    assert cold.text == '/**/cb({"value":2});'
    for response in (hot, cold):
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        assert response.headers["RateLimit-Limit"] == "600"
    assert int(cold.headers["RateLimit-Remaining"]) == int(hot.headers["RateLimit-Remaining"]) - 1


@pytest.mark.parametrize(
    ("path", "reason"),
    [("/hit/site.one/x", "3 to 64 characters"), ("/badge/x.svg", "3 to 64 characters"),
     ("/badge/site.one/home.svg?color=notacolour", "color must be a hex colour")],
)  # fmt: skip
def test_a_bad_name_or_option_is_a_json_400_before_counting(
    client: FlaskClient, fake_redis: fakeredis.FakeRedis, path: str, reason: str
) -> None:
    response = client.get(path)
    assert response.status_code == 400
    assert response.json is not None
    assert reason in response.json["message"]
    assert fake_redis.keys("pt:*") == []


def test_an_outage_is_a_json_503_with_retry_after(
    client: FlaskClient, fake_server: fakeredis.FakeServer
) -> None:
    fake_server.connected = False
    for path in ("/hit/site.one/home", "/badge/site.one/home.svg"):
        response = client.get(path)
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "7"
        assert response.json is not None
        assert response.json["error"] == "Service Unavailable"


def test_an_overflow_is_a_json_400(client: FlaskClient, fake_redis: fakeredis.FakeRedis) -> None:
    fake_redis.hset("pt:{site.one}:c:home", mapping={"value": 2**63 - 1, "created": 1})
    response = client.get("/hit/site.one/home")
    assert response.status_code == 400
    assert response.json is not None
    assert "largest signed 64-bit" in response.json["message"]


def test_an_unexpected_failure_is_a_json_500(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
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
    [{"RATE_LIMIT": "1/minute", "RATE_LIMIT_STORAGE": "memory://", "PROXY_COUNT": 1}],
)
def test_behind_a_proxy_the_hot_path_limits_the_client_not_the_proxy(
    client: FlaskClient,
) -> None:
    def hit(client_ip: str) -> int:
        headers = {"X-Forwarded-For": client_ip}
        return client.get("/hit/site.one/home", headers=headers).status_code

    assert [hit("198.51.100.1"), hit("198.51.100.2"), hit("198.51.100.1")] == [200, 200, 429]
    # A value that is no address counts as the peer's own: it cannot dodge the limit.
    assert [hit("x" * 5000), hit("not-an-ip")] == [200, 429]


@pytest.mark.parametrize(
    "app_config", [{"RATE_LIMIT": "1/minute", "RATE_LIMIT_STORAGE": "redis://127.0.0.1:1"}]
)
def test_an_unreachable_rate_limit_store_lets_writes_through(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    # Port 1 refuses at once: the limit cannot be counted, and a write is not refused for it.
    answers = [client.get("/hit/site.one/home"), client.get("/hit/site.one/home"),
               client.get("/create/site.one/other")]  # fmt: skip
    assert [answer.status_code for answer in answers] == [200, 200, 201]
    assert all("RateLimit-Limit" not in answer.headers for answer in answers)
    assert "rate limit not checked" in caplog.text
