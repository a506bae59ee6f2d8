"""Inboxes against a real Redis: beacons wait there, drainers count each exactly once."""

import gc
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import cast

import pytest
import redis
from flask import Flask
from prometheus_client import CollectorRegistry

from page_tracker.app import create_app
from page_tracker.embedded import RedisServer
from page_tracker.extensions import CLOCK, REDIS
from page_tracker.metrics import Metrics, Unmeasured
from page_tracker.services import sites
from page_tracker.services.ingest import events, inbox, plans, records, visits
from page_tracker.store import analytics as store
from page_tracker.store import calls, keys
from test import clock
from test.client import client_of
from test.scrape import scrape, value

pytestmark = pytest.mark.dates

CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
WHEN = clock.now()
SITE = sites.make_site("shop", ["shop.test"], created=0)
DAY = keys.day_counts("shop", WHEN.date())


@pytest.fixture(autouse=True)
def registered(redis_client: redis.Redis) -> Iterator[None]:
    sites.add(redis_client, SITE)
    yield
    redis_client.delete(*redis_client.keys("pt:{shop}:*"), keys.site("shop"))
    redis_client.srem(keys.SITES, "shop")


def visit(client: redis.Redis, page: str, ip: str, when: datetime = WHEN) -> visits.Visit:
    view = events.parse_event({"site": "shop", "url": f"https://shop.test{page}",
                                  "referrer": "https://news.example.org/x"})  # fmt: skip
    return visits.visit(client, {}, SITE, view, when, ip, CHROME)


def views(client: redis.Redis) -> int:
    return int(client.hget(DAY, "views") or 0)


def test_a_record_holds_what_counting_needs_and_nothing_identifying(
    redis_client: redis.Redis,
) -> None:
    seen = visit(redis_client, "/cart", "203.0.113.9")
    calls.run(redis_client, inbox.queue(seen))
    (record,) = cast(list[str], redis_client.lrange(keys.inbox("shop"), 0, -1))
    assert "203.0.113.9" not in record
    assert "Mozilla" not in record
    assert records.decode("shop", record) == seen
    assert redis_client.hget(DAY, "views") is None  # not counted until drained
    assert inbox.drain(redis_client, SITE, WHEN)
    assert views(redis_client) == 1
    assert redis_client.exists(keys.inbox("shop"), keys.inbox_lock("shop")) == 0


def test_concurrent_drains_count_every_view_exactly_once(redis_client: redis.Redis) -> None:
    total = 5 * inbox.BATCH + 17
    pipe = redis_client.pipeline(transaction=False)
    for n in range(total):
        pipe.rpush(
            keys.inbox("shop"),
            records.encode(visit(redis_client, f"/p{n % 300}", f"10.0.{n % 50}.1")),
        )
    pipe.execute()
    results: list[bool] = []
    drainers = [
        threading.Thread(
            target=lambda: results.append(inbox.drain(redis_client, SITE, WHEN, wait_s=30))
        )
        for _ in range(4)
    ]
    for drainer in drainers:
        drainer.start()
    for drainer in drainers:
        drainer.join()
    assert results == [True] * 4
    assert views(redis_client) == total
    assert redis_client.llen(keys.inbox("shop")) == 0
    pages = cast(
        list[tuple[str, float]],
        redis_client.zrange(keys.day_ranking("shop", WHEN.date(), "pages"), 0, -1, withscores=True),
    )
    assert sum(score for _, score in pages) == total
    assert len(pages) == 300


def test_a_drainer_that_lost_its_lock_applies_nothing(redis_client: redis.Redis) -> None:
    calls.run(redis_client, inbox.queue(visit(redis_client, "/a", "10.0.0.1")))
    taken = store.take(redis_client, "shop", "slow", inbox.BATCH)
    assert taken is not None
    assert store.take(redis_client, "shop", "other", inbox.BATCH) is None  # locked
    # The slow drainer's lock expires and another drainer takes the inbox over.
    redis_client.set(keys.inbox_lock("shop"), "other")
    late = plans.plan(SITE, [records.decode("shop", record) for record in taken])
    late.taken = ("shop", "slow", len(taken))
    assert store.apply(redis_client, [late], int(WHEN.timestamp())) is False
    assert views(redis_client) == 0
    assert redis_client.llen(keys.inbox("shop")) == 1
    redis_client.delete(keys.inbox_lock("shop"))
    assert inbox.drain(redis_client, SITE, WHEN)
    assert views(redis_client) == 1


def test_a_drainer_whose_round_failed_takes_its_own_lock_back(redis_client: redis.Redis) -> None:
    calls.run(redis_client, inbox.queue(visit(redis_client, "/a", "10.0.0.1")))
    # Redis went away after the take: the lock stays behind, with its lifetime.
    assert store.take(redis_client, "shop", "drainer-1", inbox.BATCH) is not None
    assert not inbox.drain(redis_client, SITE, WHEN)  # another drainer waits for the lock
    assert inbox.drain(redis_client, SITE, WHEN, holder="drainer-1")  # its holder does not
    assert views(redis_client) == 1
    assert redis_client.llen(keys.inbox("shop")) == 0
    assert not redis_client.exists(keys.inbox_lock("shop"))


def test_a_record_nothing_can_read_is_dropped_and_the_rest_counted(
    redis_client: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    unreadable = ["not json", json.dumps([99, 1]), "2 inf - []", "2 1.5 - [1]", "2 1.5 a,b []"]
    redis_client.rpush(keys.inbox("shop"), *unreadable)
    calls.run(redis_client, inbox.queue(visit(redis_client, "/a", "10.0.0.1")))
    with caplog.at_level(logging.ERROR):
        assert inbox.drain(redis_client, SITE, WHEN)
    assert views(redis_client) == 1
    assert redis_client.llen(keys.inbox("shop")) == 0
    set_aside = [r for r in caplog.records if "set aside an inbox record" in r.message]
    assert len(set_aside) == len(unreadable)
    assert redis_client.lrange(keys.inbox_rejects("shop"), 0, -1) == unreadable


def test_a_record_that_cannot_be_stored_is_set_aside_and_the_inbox_goes_on(
    redis_client: redis.Redis,
) -> None:
    # A lone surrogate decodes, but no Redis command can carry it: before, the drainer failed
    # on it at every round and every later view of the site waited uncounted.
    version, when, visitor, what = records.encode(visit(redis_client, "/a", "10.0.0.1")).split(
        " ", 3
    )
    fields = json.loads(what)
    fields[0] = "/\ud800x"
    # The surrogate escaped: the record itself is ASCII.
    bad = " ".join((version, when, visitor, json.dumps(fields)))
    redis_client.rpush(keys.inbox("shop"), bad)
    calls.run(redis_client, inbox.queue(visit(redis_client, "/b", "10.0.0.2")))
    assert inbox.drain(redis_client, SITE, WHEN)
    assert views(redis_client) == 1
    assert redis_client.llen(keys.inbox("shop")) == 0
    assert redis_client.lrange(keys.inbox_rejects("shop"), 0, -1) == [bad]
    assert 0 < redis_client.ttl(keys.inbox_rejects("shop")) <= keys.REJECTS_TTL_S


@pytest.fixture
def app(redis_server: RedisServer) -> Iterator[Flask]:
    app = create_app({"REDIS_URL": redis_server.url, "RATE_LIMIT": ""})
    app.extensions[CLOCK] = clock.Clock(WHEN)
    yield app
    app.extensions[REDIS].close()


def test_the_background_drainer_counts_beacons_without_a_read(
    app: Flask, redis_client: redis.Redis
) -> None:
    beacon = json.dumps({"site": "shop", "url": "https://shop.test/"})
    client = client_of(app)
    for _ in range(3):
        sent = client.post("/api/event", data=beacon, content_type="text/plain",
                           headers={"User-Agent": CHROME})  # fmt: skip
        assert sent.status_code == 202
    deadline = time.monotonic() + 5
    while redis_client.hget(DAY, "views") != "3" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert redis_client.hget(DAY, "views") == "3"
    assert redis_client.llen(keys.inbox("shop")) == 0


def test_a_drainer_round_retries_a_busy_inbox(redis_client: redis.Redis) -> None:
    calls.run(redis_client, inbox.queue(visit(redis_client, "/a", "10.0.0.1")))
    redis_client.set(keys.inbox_lock("shop"), "a worker that died", px=300)
    assert not inbox.drain(redis_client, SITE, WHEN)  # busy: the drainer keeps the site for later
    assert inbox.drain(redis_client, SITE, WHEN, wait_s=2)  # the dead worker's lock expires
    assert views(redis_client) == 1


def test_a_record_of_an_unknown_version_is_dropped(
    redis_client: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    _, rest = records.encode(visit(redis_client, "/a", "10.0.0.1")).split(" ", 1)
    redis_client.rpush(keys.inbox("shop"), f"{int(records.VERSION) + 1} {rest}")
    with caplog.at_level(logging.ERROR):
        assert inbox.drain(redis_client, SITE, WHEN)
    assert views(redis_client) == 0
    assert "unknown version" in caplog.text


def test_a_record_an_older_worker_left_is_counted(redis_client: redis.Redis) -> None:
    # Version 1 was one JSON array: views answered before an upgrade still count after it.
    seen = visit(redis_client, "/old", "10.0.0.1")
    view, agent = seen.view, seen.agent
    when = seen.when.timestamp()
    old = [1, when, view.page, view.host, view.referrer, view.source, *agent, seen.visitor]
    assert records.decode("shop", json.dumps(old, separators=(",", ":"))) == seen
    redis_client.rpush(keys.inbox("shop"), json.dumps(old, separators=(",", ":")))
    assert inbox.drain(redis_client, SITE, WHEN)
    assert views(redis_client) == 1
    assert redis_client.zscore(keys.day_ranking("shop", WHEN.date(), "pages"), "/old") == 1


def wait_for(condition: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + 5
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    return condition()


def test_the_drainer_waits_out_an_outage_then_counts(
    redis_client: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    calls.run(redis_client, inbox.queue(visit(redis_client, "/a", "10.0.0.1")))
    attempts: list[int] = []

    def flaky() -> redis.Redis:
        attempts.append(1)
        if len(attempts) <= 2:
            raise redis.ConnectionError("Redis is down")
        return redis_client

    registry = CollectorRegistry()
    drainer = inbox.Drainer(
        flaky, clock.now, lambda _, name: SITE, lambda _: ["shop"], Metrics(registry)
    )
    with caplog.at_level(logging.WARNING):
        drainer.filled("shop")
        assert wait_for(lambda: views(redis_client) == 1)
    drainer.stop()
    messages = [record.message for record in caplog.records]
    # One line when the outage starts and one when it ends, not one per attempt.
    assert messages == [
        "inboxes not drained, trying again: Redis is down",
        "inboxes drained again",
    ]
    # The metrics tell the same: two failed rounds, then one batch of one record.
    samples = scrape(registry)
    assert value(samples, "page_tracker_inbox_drain_failures_total") == 2
    assert value(samples, "page_tracker_inbox_drain_batches_total") == 1
    assert value(samples, "page_tracker_inbox_drained_records_total") == 1


def test_the_sweep_counts_views_a_dead_worker_left(
    redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(inbox, "SWEEP_S", 0)
    calls.run(redis_client, inbox.queue(visit(redis_client, "/a", "10.0.0.1")))  # nobody noted it
    book = sites.SiteBook()
    drainer = inbox.Drainer(lambda: redis_client, clock.now, book.get, sites.names, Unmeasured())
    # This worker fills another inbox, of a site that has since gone: it is dropped, loudly.
    with caplog.at_level(logging.ERROR):
        drainer.filled("gone")
        assert wait_for(lambda: views(redis_client) == 1)
        assert wait_for(lambda: "inbox of gone, which is not a registered site" in caplog.text)
    drainer.stop()


def test_the_drainer_thread_ends_with_its_app(redis_server: RedisServer) -> None:
    before = set(threading.enumerate())
    app = create_app({"REDIS_URL": redis_server.url, "RATE_LIMIT": ""})
    beacon = json.dumps({"site": "shop", "url": "https://shop.test/"})
    answer = client_of(app).post("/api/event", data=beacon, content_type="text/plain")
    # A failed answer would keep the app alive in the log's traceback, and the drainer with it.
    assert answer.status_code == 202, answer.text
    del answer
    (drainer,) = set(threading.enumerate()) - before
    del app
    gc.collect()
    drainer.join(timeout=5)
    assert not drainer.is_alive()


def test_the_backlog_is_what_waits_and_how_long_the_oldest_has(redis_client: redis.Redis) -> None:
    now = clock.now()
    other = sites.make_site("other", ["other.test"], created=0)
    sites.add(redis_client, other)
    try:
        assert inbox.backlog(redis_client, ["shop", "other"], now) == (0, 0.0)
        earlier = now - timedelta(seconds=30)
        calls.run(redis_client, inbox.queue(visit(redis_client, "/a", "10.0.0.1", when=earlier)))
        calls.run(redis_client, inbox.queue(visit(redis_client, "/b", "10.0.0.1", when=now)))
        # A record of version 1, left by an older worker, tells its time too.
        old = json.dumps([1, (now - timedelta(seconds=90)).timestamp(), "/c"])
        redis_client.rpush(keys.inbox("other"), old)
        assert inbox.backlog(redis_client, ["shop", "other"], now) == (3, 90.0)
        # A first record that tells no time is waiting all the same, of no known age.
        redis_client.lset(keys.inbox("other"), 0, "garbage")
        assert inbox.backlog(redis_client, ["shop", "other"], now) == (3, 30.0)
    finally:
        redis_client.delete(keys.inbox("other"), keys.site("other"))
        redis_client.srem(keys.SITES, "other")
