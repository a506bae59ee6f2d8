"""Redis memory under hostile beacons: distinct long paths and referrers on one site and day.

Run with `python -m bench.hostile_memory`.  Past the day's limit of distinct pages, referrers
and sources, more such views must cost next to nothing.
"""

import tempfile
from datetime import UTC, datetime
from pathlib import Path

import redis
from test.ports import free_port

from page_tracker.embedded import RedisServer
from page_tracker.services import sites
from page_tracker.services.ingest import agents, events, plans, visits
from page_tracker.store import analytics as store

AGENT = agents.Agent(bot=False, browser="Firefox", os="Linux", device="desktop")
STEPS = (1_000, 5_000, 20_000, 100_000)
BATCH = 1000


def hostile(number: int) -> events.PageView:
    """Return a view of a page and from a referrer nobody has seen before."""
    return events.parse_event({
        "site": "victim", "url": f"https://victim.test/{number:06d}" + "x" * 1900,
        "referrer": f"https://spam{number}.test/",
    })  # fmt: skip


def main() -> None:
    """Print the memory the views take after each step of STEPS."""
    with (
        tempfile.TemporaryDirectory() as data,
        RedisServer(Path(data), port=free_port(), persist=False) as server,
        redis.Redis.from_url(server.url, decode_responses=True) as client,
    ):
        site = sites.make_site("victim", ["victim.test"])
        sites.add(client, site)
        now = datetime.now(UTC)
        before = int(client.info("memory")["used_memory"])
        sent = 0
        for total in STEPS:
            while sent < total:
                visits = [
                    visits.Visit(hostile(n), now, AGENT, f"{n:016x}")
                    for n in range(sent, min(sent + BATCH, total))
                ]
                plan = plans.admitted_plan(client, site, visits)
                store.apply(client, [plan], int(now.timestamp()))
                sent += len(visits)
            used = int(client.info("memory")["used_memory"]) - before
            print(
                f"{total:>7,} hostile views: {used / 2**20:5.1f} MiB, {used / total:6,.0f} B a view"
            )


if __name__ == "__main__":
    main()
