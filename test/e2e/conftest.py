"""End-to-end fixtures: a real `page-tracker serve` over HTTP, or a deployment named by options."""

import os
from collections.abc import Iterator

import pytest
import redis

from page_tracker.embedded import RedisServer
from test.e2e.serving import Serve, serve, serving, wait_until_ready


@pytest.fixture
def start_server() -> Iterator[Serve]:
    """Start `page-tracker serve` processes that are stopped when the test ends, however it ends."""
    with serving() as start:
        yield start


@pytest.fixture(scope="session")
def outside_deployment(pytestconfig: pytest.Config) -> bool:
    """Say whether --flask-url aims the tests at a deployment this session did not start."""
    return pytestconfig.getoption("flask_url") is not None


@pytest.fixture
def local_only(outside_deployment: bool) -> None:
    """Skip a test that starts servers of its own when the tests aim at an outside deployment."""
    if outside_deployment:
        pytest.skip("starts its own servers; not for an outside deployment")


@pytest.fixture(scope="session")
def e2e_redis_url(pytestconfig: pytest.Config, request: pytest.FixtureRequest) -> str:
    """Return the Redis the deployment under test uses: --redis-url, or the test server."""
    given: str | None = pytestconfig.getoption("redis_url")
    if given:
        return given
    server: RedisServer = request.getfixturevalue("redis_server")
    return server.url


@pytest.fixture(scope="session")
def flask_url(pytestconfig: pytest.Config, e2e_redis_url: str) -> Iterator[str]:
    """Return the base URL under test: --flask-url, or a `page-tracker serve` started here."""
    given: str | None = pytestconfig.getoption("flask_url")
    if given:
        # The deployment may still be starting (compose without healthchecks): wait for it.
        wait_until_ready(given.rstrip("/"))
        yield given.rstrip("/")
        return
    server = serve([], {**os.environ, "REDIS_URL": e2e_redis_url})
    yield server.url
    server.stop()


@pytest.fixture
def e2e_redis(e2e_redis_url: str) -> Iterator[redis.Redis]:
    """Connect to the deployment's Redis; never flush it: it may hold someone's real counts."""
    with redis.Redis.from_url(e2e_redis_url, decode_responses=True) as client:
        yield client
