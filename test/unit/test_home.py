import logging

import fakeredis
import pytest

from test.client import Client

APOLOGY = "Sorry, something went wrong \N{PENSIVE FACE}"


def test_each_view_is_counted_in_the_seed_key(
    client: Client, fake_redis: fakeredis.FakeRedis
) -> None:
    first = client.get("/")
    second = client.get("/")
    assert first.status_code == 200
    assert first.text == "This page has been seen 1 times."
    assert second.text == "This page has been seen 2 times."
    assert first.mimetype == "text/plain"
    assert fake_redis.get("page_views") == "2"


def test_count_continues_from_an_existing_seed_deployment(
    client: Client, fake_redis: fakeredis.FakeRedis
) -> None:
    fake_redis.set("page_views", 41)
    assert client.get("/").text == "This page has been seen 42 times."


def test_redis_down_answers_503_with_retry_after_and_logs(
    client: Client, fake_server: fakeredis.FakeServer, caplog: pytest.LogCaptureFixture
) -> None:
    fake_server.connected = False
    with caplog.at_level(logging.ERROR):
        response = client.get("/")
    assert response.status_code == 503
    assert response.text == APOLOGY
    assert response.headers["Retry-After"] == "7"
    assert "Redis error on the home page" in caplog.text
    assert "Traceback" not in response.text


def test_other_redis_errors_answer_500_without_retry_after(
    client: Client, fake_redis: fakeredis.FakeRedis
) -> None:
    fake_redis.set("page_views", "not a number")
    response = client.get("/")
    assert response.status_code == 500
    assert response.text == APOLOGY
    assert "Retry-After" not in response.headers


def test_recovers_when_redis_comes_back(client: Client, fake_server: fakeredis.FakeServer) -> None:
    assert client.get("/").text.endswith(" 1 times.")
    fake_server.connected = False
    assert client.get("/").status_code == 503
    fake_server.connected = True
    assert client.get("/").text == "This page has been seen 2 times."
