"""Each answer carries a request id: a trusted proxy's, or one made for it."""

import fakeredis
import pytest
from flask import Flask

from page_tracker.app import create_app
from page_tracker.extensions import REDIS
from test.client import Client, client_of


def request_id(client: Client, path: str = "/healthz", **headers: str) -> str:
    answer = client.get(path, headers=headers, buffered=True)
    return answer.headers["X-Request-ID"]


def test_every_answer_has_a_new_id(client: Client) -> None:
    # Flask's answers, the fast app's, and errors of both.
    paths = ["/healthz", "/hit/some-ns/some-key", "/hit/x/y", "/no/such/page"]
    ids = [request_id(client, path) for path in paths * 2]
    assert len(set(ids)) == len(ids)
    assert all(len(found) == 16 and int(found, 16) >= 0 for found in ids)


def test_a_client_cannot_choose_its_id_without_a_trusted_proxy(client: Client) -> None:
    assert request_id(client, **{"X-Request-ID": "chosen-by-client"}) != "chosen-by-client"


@pytest.fixture
def proxied(fake_redis: fakeredis.FakeRedis) -> Flask:
    app = create_app({"PROXY_COUNT": 1})
    app.extensions[REDIS].close()
    app.extensions[REDIS] = fake_redis
    return app


@pytest.mark.parametrize("sent", ["req-1234", "0f9a.b:c_d-e", "a" * 128])
def test_a_trusted_proxys_id_is_kept(proxied: Flask, sent: str) -> None:
    assert request_id(client_of(proxied), **{"X-Request-ID": sent}) == sent


@pytest.mark.parametrize("sent", ["", "a" * 129, "has space", 'quote"d', "{json}", "ünï"])
def test_an_unsound_id_from_the_proxy_is_replaced(proxied: Flask, sent: str) -> None:
    found = request_id(client_of(proxied), **{"X-Request-ID": sent})
    assert found != sent
    assert len(found) == 16
