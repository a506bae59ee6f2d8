"""Service fixtures: a real redis-server, emptied for each test, and what services take."""

from collections.abc import Iterator

import pytest
import redis

from page_tracker.metrics import Unmeasured
from page_tracker.services import sites
from page_tracker.services.counters import Policy
from page_tracker.services.ingest.inbox import Drainer
from page_tracker.services.ingest.intake import Intake
from page_tracker.store.calls import Blocking
from test.clock import Clock


@pytest.fixture
def clock() -> Clock:
    """Return a clock at the real current time, which the test may move."""
    return Clock()


@pytest.fixture
def policy() -> Policy:
    """Return the shipped lifetimes: a year of retention and of history."""
    return Policy(retention_days=365, history_days=365)


@pytest.fixture
def ingest(redis_client: redis.Redis, clock: Clock) -> Iterator[Intake]:
    """Yield what taking page views in needs; its drainer runs as a worker's does, then stops."""
    drainer = Drainer(lambda: redis_client, clock, sites.load, sites.names, Unmeasured())
    yield Intake(redis_client, {}, sites.SiteBook(), drainer, Blocking(redis_client))
    drainer.flush()


@pytest.fixture
def blog(redis_client: redis.Redis, clock: Clock) -> sites.Site:
    """Register the site `blog` of example.com, in Paris time, and return it."""
    site = sites.make_site(
        "blog", ["example.com"], "Europe/Paris", created=int(clock.now.timestamp())
    )
    sites.add(redis_client, site)
    return site
