import fakeredis
from flask.testing import FlaskClient


def test_healthz_answers_without_redis(
    client: FlaskClient, fake_server: fakeredis.FakeServer
) -> None:
    fake_server.connected = False
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_readyz_is_ready_when_redis_answers(client: FlaskClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json == {"status": "ready", "checks": {"redis": "ok", "inbox": "ok"}}


def test_readyz_says_what_failed_when_redis_is_down(
    client: FlaskClient, fake_server: fakeredis.FakeServer
) -> None:
    fake_server.connected = False
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "7"
    assert response.json is not None
    assert response.json["status"] == "unavailable"
    assert response.json["checks"]["redis"].startswith("ConnectionError")
