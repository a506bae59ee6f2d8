"""Redis memory per 1 million page views over 10,000 pages and 30 days (`INFO memory`)."""

import itertools
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import redis
from test.ports import free_port

from page_tracker.embedded import RedisServer
from page_tracker.services import sites
from page_tracker.services.ingest import agents, events, plans
from page_tracker.services.ingest.visits import Visit
from page_tracker.store import analytics as store

VIEWS = 1_000_000
PAGES = 10_000
DAYS = 30
VISITORS = 100_000
BATCH = 1000
AGENTS = [
    agents.Agent(False, browser, system, device)
    for browser, system, device in (
        ("Chrome", "Windows", "desktop"), ("Safari", "Mac OS X", "desktop"),
        ("Mobile Safari", "iOS", "mobile"), ("Chrome Mobile", "Android", "mobile"),
        ("Firefox", "Linux", "desktop"), ("Edge", "Windows", "desktop"),
        ("Mobile Safari", "iOS", "tablet"),
    )
]  # fmt: skip


def fill(
    client: redis.Redis, site: sites.Site, start: datetime, seed: int = 1, *,
    views: int = VIEWS, days: int = DAYS,
) -> None:  # fmt: skip
    """Write `views` page views of PAGES pages (Zipf-like popularity) over `days` days."""
    rng = random.Random(seed)  # noqa: S311 (made-up traffic, not secrets)
    pages = [f"/articles/{n:05d}" for n in range(PAGES)]
    cumulative = list(itertools.accumulate(1 / (rank + 1) for rank in range(PAGES)))
    referrers = [None] * 5 + [f"ref{n}.example" for n in range(200)]
    for first in range(0, views, BATCH):
        visits = []
        for number in range(first, first + BATCH):
            when = start + timedelta(seconds=number * days * 86_400 // views)
            view = events.PageView(
                site.name, "memory.test", rng.choices(pages, cum_weights=cumulative)[0],
                rng.choice(referrers), None,
            )  # fmt: skip
            visitor = f"{rng.randrange(VISITORS):016x}"
            visits.append(Visit(view, when, rng.choice(AGENTS), visitor))
        store.apply(client, [plans.plan(site, visits)], int(time.time()))


def report() -> str:
    """Return the memory one million page views take, measured in a fresh Redis."""
    with (
        tempfile.TemporaryDirectory() as data,
        RedisServer(Path(data), port=free_port(), persist=False) as server,
        redis.Redis.from_url(server.url, decode_responses=True) as client,
    ):
        start = datetime.now(UTC).replace(hour=0, minute=0, second=0) - timedelta(days=DAYS)
        site = sites.make_site("memory", ["memory.test"], retention_days=400)
        before = int(client.info("memory")["used_memory"])
        began = time.perf_counter()
        fill(client, site, start)
        seconds = time.perf_counter() - began
        used = int(client.info("memory")["used_memory"]) - before
        keys = client.dbsize()
    per_million = used * 1_000_000 / VIEWS
    return (
        f"memory: {VIEWS:,} views of {PAGES:,} pages by {VISITORS:,} visitors over {DAYS} days "
        f"use {per_million / 2**20:.1f} MiB of Redis ({keys:,} keys; written in {seconds:.0f} s "
        f"in-process, {VIEWS / seconds:,.0f} views/s)"
    )


if __name__ == "__main__":
    print(report())
