"""Page views of sites in Redis: write plans applied by one script, and reads over days."""

import secrets
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import cast

from redis import Redis
from redis.client import PubSub

from page_tracker.store import budgets, calls, keys, scripts
from page_tracker.store.budgets import Charge, Spent
from page_tracker.store.calls import Call


@dataclass
class Plan:
    """What a batch of page views adds to one site's keys, each key with the time it expires."""

    counts: dict[str, tuple[str, int, Counter[str]]] = field(default_factory=dict)
    sketches: dict[str, tuple[int, set[str]]] = field(default_factory=dict)
    # A channel to publish `message` on once applied, for live dashboards ("" for none).
    channel: str = ""
    message: str = ""
    # When the views come from a site's inbox: (site, lock holder, number of records taken).
    taken: tuple[str, str, int] | None = None
    # The day's ranking sets this plan adds to, by name: (day, kind) of each.
    day_rankings: dict[str, tuple[date, str]] = field(default_factory=dict)

    def count(self, kind: str, key: str, member: str, expire_at: int, amount: int = 1) -> None:
        """Add `amount` to `member` of hash (kind 'h') or sorted set (kind 'z') `key`."""
        entry = self.counts.get(key)
        if entry is None:
            entry = self.counts[key] = (kind, expire_at, Counter())
        entry[2][member] += amount

    def add(self, key: str, elements: Iterable[str], expire_at: int) -> None:
        """Add `elements` to HyperLogLog `key`."""
        entry = self.sketches.get(key)
        if entry is None:
            entry = self.sketches[key] = (expire_at, set())
        entry[1].update(elements)

    def arguments(self, now: int) -> tuple[list[str], list[str | int]]:
        """Return the KEYS and ARGV of ingest.lua for this plan, applied at unix time `now`."""
        names: list[str] = []
        args: list[str | int] = [self.channel, self.message, "", 0]
        if self.taken is not None:
            site, holder, count = self.taken
            names += (keys.inbox(site), keys.inbox_lock(site))
            args[2:] = (holder, count)
        for key, (kind, expire_at, increments) in self.counts.items():
            names.append(key)
            args += (kind, expire_at - now, 2 * len(increments))
            for member, amount in increments.items():
                args += (member, amount)
        for key, (expire_at, elements) in self.sketches.items():
            names.append(key)
            args += ("p", expire_at - now, len(elements), *elements)
        return names, args


def apply(
    redis: Redis, plans: Sequence[Plan], now: int, remember: tuple[str, str, int] | None = None
) -> bool:
    """Apply each site's plan atomically, all in one round trip, at unix time `now`.

    Keys get lifetimes relative to `now` rather than absolute expiry times, so they last as
    planned even when Redis's clock and this host's disagree.  `remember` (key, value, TTL)
    is set in the same transaction: a request's answer, stored if and only if it counted.
    Return False if a plan of inbox records was not applied: its drain lock was lost.
    """
    if len(plans) == 1 and remember is None:
        return int(scripts.run(redis, "ingest", *plans[0].arguments(now))) >= 0
    # A pipeline cannot load a script halfway through: make sure Redis has it first.
    scripts.load(redis, "ingest")
    pipe = redis.pipeline(transaction=True)
    for plan in plans:
        names, args = plan.arguments(now)
        pipe.evalsha(scripts.SHAS["ingest"], len(names), *names, *args)
    if remember is not None:
        name, value, ttl = remember
        pipe.set(name, value, ex=ttl)
    written = pipe.execute()
    return all(int(count) >= 0 for count in written[: len(plans)])


# A drainer that dies holding the lock delays its site's inbox this long, and loses nothing.
DRAIN_LOCK_MS = 10_000


def queue(site: str, record: str, charge: Charge | None = None) -> Call[Spent | None]:
    """Return the Call that appends a page view, encoded, to the site's inbox, spending `charge`.

    It reads as what was spent: a view over budget is not queued.
    """
    names, args = budgets.arguments(charge)
    return calls.script(
        "queue",
        [keys.inbox(site), *names],
        [record, *args],
        lambda reply: budgets.spent(reply, charge),
    )


def queued(redis: Redis, sites: Sequence[str]) -> list[int]:
    """Return how many records wait in each site's inbox, in one round trip."""
    pipe = redis.pipeline(transaction=False)
    for site in sites:
        pipe.llen(keys.inbox(site))
    return [int(count) for count in pipe.execute()]


def backlog(redis: Redis, sites: Sequence[str]) -> list[tuple[int, str | None]]:
    """Return each site's inbox length and first (oldest) record, in one round trip."""
    pipe = redis.pipeline(transaction=False)
    for site in sites:
        pipe.llen(keys.inbox(site))
        pipe.lindex(keys.inbox(site), 0)
    replies = pipe.execute()
    return [(int(count), first) for count, first in zip(replies[::2], replies[1::2], strict=True)]


def sizes(redis: Redis, names: Sequence[str]) -> list[int]:
    """Return how many members each sorted set of `names` has, in one round trip."""
    pipe = redis.pipeline(transaction=False)
    for name in names:
        pipe.zcard(name)
    return [int(count) for count in pipe.execute()]


def held(redis: Redis, checks: Sequence[tuple[str, Sequence[str]]]) -> list[list[bool]]:
    """Return, for each (sorted set, members), which of the members it holds already."""
    pipe = redis.pipeline(transaction=False)
    for name, members in checks:
        pipe.zmscore(name, list(members))
    return [[score is not None for score in scores] for scores in pipe.execute()]


def claim(redis: Redis, name: str, marker: str, hold_s: int) -> str | None:
    """Set `name` to `marker` for `hold_s` unless it is set; else return what it holds."""
    if redis.set(name, marker, nx=True, ex=hold_s):
        return None
    # It may have lapsed since: then it holds nothing, and the caller is told it is taken.
    return cast(str | None, redis.get(name)) or marker


def set_aside(redis: Redis, site: str, records: Sequence[str]) -> None:
    """Keep records nobody can count in the site's bounded list of rejects."""
    name = keys.inbox_rejects(site)
    pipe = redis.pipeline(transaction=True)
    pipe.rpush(name, *records)
    pipe.ltrim(name, -keys.REJECTS_KEPT, -1)
    pipe.expire(name, keys.REJECTS_TTL_S)
    pipe.execute()


def take(redis: Redis, site: str, holder: str, count: int) -> list[str] | None:
    """Lock the site's inbox for `holder` and return its first `count` records.

    [] if none wait (the lock is not taken), None if another drainer holds the lock.  Apply
    the records with a Plan whose `taken` names the holder: that removes them from the inbox
    and releases the lock in the same atomic step.
    """
    names = [keys.inbox(site), keys.inbox_lock(site)]
    records = scripts.run(redis, "take", names, [holder, DRAIN_LOCK_MS, count])
    return None if records is None else cast(list[str], records)


@dataclass(frozen=True)
class Day:
    """One day of a site as stored: its counts and its number of visitors."""

    day: date
    counts: dict[str, int]
    visitors: int


def days(redis: Redis, site: str, dates: Sequence[date]) -> list[Day]:
    """Return the counts and visitors of each of `dates`, in one round trip."""
    pipe = redis.pipeline(transaction=False)
    for day in dates:
        pipe.hgetall(keys.day_counts(site, day))
        pipe.pfcount(keys.day_visitors(site, day))
    replies = pipe.execute()
    return [
        Day(day, {name: int(value) for name, value in counts.items()}, int(visitors))
        for day, counts, visitors in zip(dates, replies[::2], replies[1::2], strict=True)
    ]


def live(redis: Redis, channel: str) -> PubSub:
    """Return a subscription to `channel`, where applied plans announce their views."""
    subscription: PubSub = redis.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
    subscription.subscribe(channel)
    return subscription


def visitors(redis: Redis, names: Sequence[str]) -> int:
    """Return the number of distinct visitors across the sketches `names`."""
    return int(redis.pfcount(*names)) if names else 0


def hour_visitors(redis: Redis, site: str, dates: Sequence[date]) -> list[int]:
    """Return the visitors of every hour of `dates`, in order, in one round trip."""
    pipe = redis.pipeline(transaction=False)
    for day in dates:
        for hour in range(24):
            pipe.pfcount(keys.hour_visitors(site, day, hour))
    return [int(count) for count in pipe.execute()]


def top(redis: Redis, site: str, names: Sequence[str], limit: int) -> list[tuple[str, int]]:
    """Return the `limit` highest (member, total) of sorted sets `names` summed."""
    if not names:
        return []
    if len(names) == 1:
        ranked = redis.zrevrange(names[0], 0, limit - 1, withscores=True)
    else:
        # Summing on the server sends back only the top: thousands of pages stay in Redis.
        scratch = keys.top_scratch(site, secrets.token_hex(8))
        pipe = redis.pipeline(transaction=True)
        pipe.zunionstore(scratch, names)
        pipe.expire(scratch, 10)
        pipe.zrevrange(scratch, 0, limit - 1, withscores=True)
        pipe.delete(scratch)
        ranked = pipe.execute()[2]
    return [(str(member), int(score)) for member, score in cast(list[tuple[str, float]], ranked)]


def page_visitors(
    redis: Redis, site: str, pages: Iterable[str], dates: Sequence[date]
) -> list[int]:
    """Return the distinct visitors of each of `pages` over `dates`, in one round trip."""
    pipe = redis.pipeline(transaction=False)
    for page in pages:
        pipe.pfcount(*(keys.page_visitors(site, day, page) for day in dates))
    return [int(count) for count in pipe.execute()]
