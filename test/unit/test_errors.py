import fakeredis
import pytest
from flask import Blueprint, Flask

from page_tracker.extensions import redis_client
from test.client import Client


@pytest.fixture
def failing_routes(app: Flask) -> Flask:
    """Add routes that fail the ways a JSON endpoint can, to check the app-wide handlers."""
    routes = Blueprint("failing", __name__)

    @routes.get("/boom")
    def boom() -> str:
        raise RuntimeError("a bug")

    @routes.get("/uses-redis")
    def uses_redis() -> str:
        redis_client().ping()
        return "pong"

    app.register_blueprint(routes)
    return app


def test_unknown_route_is_a_json_404(client: Client) -> None:
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert response.is_json
    assert response.json is not None
    assert response.json["error"] == "Not Found"


def test_wrong_method_is_a_json_405_that_lists_allowed_methods(client: Client) -> None:
    response = client.delete("/")
    assert response.status_code == 405
    assert response.is_json
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}


@pytest.mark.usefixtures("failing_routes")
def test_unexpected_error_is_a_json_500_without_traceback(client: Client) -> None:
    response = client.get("/boom")
    assert response.status_code == 500
    assert response.json == {
        "error": "Internal Server Error",
        "message": "Something went wrong on our side.",
    }


@pytest.mark.usefixtures("failing_routes")
def test_redis_outage_on_a_json_endpoint_is_a_json_503(
    client: Client, fake_server: fakeredis.FakeServer
) -> None:
    fake_server.connected = False
    response = client.get("/uses-redis")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "7"
    assert response.json is not None
    assert response.json["error"] == "Service Unavailable"
