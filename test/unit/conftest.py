"""Unit fixtures: the app with an in-memory fake Redis swapped in at the injection point."""

from collections.abc import Iterator

import fakeredis
import pytest
from flask import Flask

from page_tracker.app import create_app
from page_tracker.extensions import REDIS
from test.client import Client, client_of


@pytest.fixture
def fake_server() -> fakeredis.FakeServer:
    """Return an in-memory server; set `.connected = False` to take it down."""
    return fakeredis.FakeServer()


@pytest.fixture
def fake_redis(fake_server: fakeredis.FakeServer) -> fakeredis.FakeRedis:
    return fakeredis.FakeRedis(server=fake_server, decode_responses=True)


@pytest.fixture
def app_config() -> dict[str, object]:
    """Return the settings of the app under test; a module may override this fixture."""
    return {"TESTING": True, "RETRY_AFTER": 7}


@pytest.fixture
def app(fake_redis: fakeredis.FakeRedis, app_config: dict[str, object]) -> Iterator[Flask]:
    app = create_app(app_config)
    app.extensions[REDIS].close()
    app.extensions[REDIS] = fake_redis
    yield app
    fake_redis.close()


@pytest.fixture
def client(app: Flask) -> Client:
    return client_of(app)
