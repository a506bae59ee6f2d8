"""Integration fixtures: the app talking to a real redis-server."""

from collections.abc import Iterator

import pytest
import redis
from flask import Flask

from page_tracker.app import create_app
from page_tracker.embedded import RedisServer
from page_tracker.extensions import REDIS
from test.client import Client, client_of


@pytest.fixture
def app(redis_server: RedisServer, redis_client: redis.Redis) -> Iterator[Flask]:
    app = create_app({"TESTING": True, "REDIS_URL": redis_server.url})
    yield app
    app.extensions[REDIS].close()


@pytest.fixture
def client(app: Flask) -> Client:
    return client_of(app)
