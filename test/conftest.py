"""Fixtures shared by every layer: command-line options and a real redis-server."""

from collections.abc import Iterator

import pytest
import redis

from page_tracker.embedded import RedisServer, free_port


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("page-tracker")
    group.addoption("--flask-url", help="run e2e tests against this running page-tracker")
    group.addoption("--redis-url", help="the Redis that deployment uses (for e2e checks)")
    group.addoption("--compose", help="the compose command of the stack under test (container)")
    group.addoption("--image", help="the image under test (container)")


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """Start one throwaway redis-server on a free loopback port for the whole session."""
    server = RedisServer(tmp_path_factory.mktemp("redis"), port=free_port(), persist=False)
    with server:
        yield server


@pytest.fixture
def redis_client(redis_server: RedisServer) -> Iterator[redis.Redis]:
    """Give each test an empty database on the session's redis-server."""
    with redis.Redis.from_url(redis_server.url, decode_responses=True) as client:
        client.flushall()
        yield client
