"""Fixtures shared by every layer: command-line options, a real redis-server, and backends."""

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import fakeredis
import pytest
import redis
from flask import Flask

from page_tracker import app as factory
from page_tracker.app import create_app
from page_tracker.embedded import RedisServer
from page_tracker.extensions import REDIS
from page_tracker.services.ingest.inbox import Drainer
from test.ports import free_port

# The Redis a backend test's app talks to: `-m fake` or `-m real` picks one.
BACKENDS = [
    pytest.param("fake", marks=pytest.mark.fake),
    pytest.param("real", marks=pytest.mark.real),
]
MakeApp = Callable[[Mapping[str, Any]], Flask]


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


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Name the Redis under test: fakeredis in memory, or the session's real redis-server."""
    return str(request.param)


@pytest.fixture
def backend_redis(backend: str, request: pytest.FixtureRequest) -> Iterator[redis.Redis]:
    """Give a backend test an empty database on its backend."""
    if backend == "real":
        yield request.getfixturevalue("redis_client")
        return
    with fakeredis.FakeRedis(server=fakeredis.FakeServer(), decode_responses=True) as client:
        yield client


@pytest.fixture
def make_app(
    backend: str, backend_redis: redis.Redis, request: pytest.FixtureRequest
) -> Iterator[MakeApp]:
    """Return a factory of apps with `config` on the backend; their clients close at teardown."""
    made: list[Flask] = []

    def make(config: Mapping[str, Any]) -> Flask:
        if backend == "real":
            server: RedisServer = request.getfixturevalue("redis_server")
            app = create_app({**config, "REDIS_URL": server.url})
        else:
            app = create_app(config)  # its client is swapped for the fake
            app.extensions[REDIS].close()
            app.extensions[REDIS] = backend_redis
        made.append(app)
        return app

    yield make
    for app in made:
        app.extensions[REDIS].close()


@pytest.fixture(autouse=True)
def _drainers_end_with_their_test(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Stop the drainer of every app a test built, when the test ends.

    A drainer sweeps every site's inbox; one left running would count a later test's views by
    its own test's clock (and expire them by it).
    """
    made: list[Drainer] = []

    class Stopped(Drainer):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(factory, "Drainer", Stopped)
    yield
    for drainer in made:
        drainer.stop()
