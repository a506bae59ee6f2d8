"""A month of made-up page views for a demo site: something to look at before real traffic."""

import itertools
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from redis import Redis

from page_tracker.services import sites
from page_tracker.services.ingest.agents import classify
from page_tracker.services.ingest.events import PageView
from page_tracker.services.ingest.plans import admitted_plan, record
from page_tracker.services.ingest.visits import Visit

DAYS = 30
PAGES = [
    "/", "/pricing", "/blog/", "/docs/", "/docs/install", "/blog/redis-cluster-in-practice",
    "/about", "/docs/api", "/blog/privacy-without-cookies", "/changelog", "/docs/badges",
    "/contact", "/blog/self-hosting-on-a-raspberry-pi", "/docs/import", "/careers", "/legal",
]  # fmt: skip
# Where visitors come from, and how often (None: typed in, or a bookmark).
REFERRERS = [
    (None, 45), ("www.google.com", 25), ("news.ycombinator.com", 8), ("duckduckgo.com", 6),
    ("github.com", 5), ("www.reddit.com", 4), ("www.bing.com", 3), ("lobste.rs", 2),
    ("mastodon.social", 2),
]  # fmt: skip
SOURCES = [(None, 90), ("newsletter", 6), ("mastodon", 4)]
AGENTS = [
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/131.0.0.0 Safari/537.36", 34),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
     "Gecko) Version/18.1 Mobile/15E148 Safari/604.1", 20),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/18.1 Safari/605.1.15", 12),
    ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/131.0.0.0 Mobile Safari/537.36", 14),
    ("Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", 8),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0", 7),
    ("Mozilla/5.0 (iPad; CPU OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/18.1 Mobile/15E148 Safari/604.1", 3),
    ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", 2),
]  # fmt: skip
# Weekdays busier than weekends (Monday first), and the afternoon busier than the night.
WEEKDAY = [1.0, 1.05, 1.0, 0.95, 0.85, 0.5, 0.45]
HOURS = [0.2, 0.15, 0.1, 0.1, 0.1, 0.15, 0.3, 0.5, 0.8, 1.0, 1.05, 1.1, 1.0, 1.1, 1.15, 1.1,
         1.0, 0.9, 0.8, 0.75, 0.7, 0.6, 0.45, 0.3]  # fmt: skip
BATCH = 1000


def _pick(chooser: random.Random, weighted: list[tuple[str | None, int]]) -> str | None:
    return chooser.choices([value for value, _ in weighted], [w for _, w in weighted])[0]


def views(site: sites.Site, count: int, now: datetime, seed: int = 1) -> Iterator[Visit]:
    """Yield `count` made-up views of `site` over the DAYS days before `now`, oldest first.

    Pages are Zipf-like (the first page most), visitors return, and there are fewer views at
    weekends and at night.  The same seed gives the same views.
    """
    chooser = random.Random(seed)  # noqa: S311  # nosec B311 - made-up views, not secrets
    start = now - timedelta(days=DAYS)
    hours = [start + timedelta(hours=n) for n in range(DAYS * 24)]
    local = [hour.astimezone(site.zone) for hour in hours]
    weights = [WEEKDAY[at.weekday()] * HOURS[at.hour] for at in local]
    pages = list(itertools.accumulate(1 / rank for rank in range(1, len(PAGES) + 1)))
    user_agents, shares = zip(*AGENTS, strict=True)
    visitors = [f"{chooser.getrandbits(64):016x}" for _ in range(max(count // 3, 1))]
    regulars = visitors[: max(count // 100, 1)]
    host = site.domains[0]
    stamps = sorted(
        hour + timedelta(seconds=chooser.randrange(3600))
        for hour in chooser.choices(hours, weights, k=count)
    )
    for when in stamps:
        page = chooser.choices(PAGES, cum_weights=pages)[0]
        user_agent = chooser.choices(user_agents, shares)[0]
        view = PageView(site.name, host, page, _pick(chooser, REFERRERS), _pick(chooser, SOURCES))
        # A fifth of the views are by regulars, the rest by anyone of the month's visitors.
        visitor = chooser.choice(regulars if chooser.random() < 0.2 else visitors)
        agent = classify(user_agent)
        yield Visit(view, when.astimezone(UTC), agent, None if agent.bot else visitor)


def fill(redis: Redis, site: sites.Site, count: int, now: datetime, seed: int = 1) -> None:
    """Count `count` made-up views of `site` (see `views`), in batches."""
    batch: list[Visit] = []
    for visit in views(site, count, now, seed):
        batch.append(visit)
        if len(batch) == BATCH:
            record(redis, [admitted_plan(redis, site, batch)], now)
            batch = []
    if batch:
        record(redis, [admitted_plan(redis, site, batch)], now)
