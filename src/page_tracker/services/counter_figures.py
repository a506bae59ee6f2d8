"""What the counter API reads across counters and time: history, server totals, badge figures."""

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from redis import Redis

from page_tracker.services.counters import Policy, read
from page_tracker.store import counters as store
from page_tracker.store.calls import Call


def history(
    redis: Redis, policy: Policy, namespace: str, key: str, days: int, tz: ZoneInfo, now: datetime
) -> list[dict[str, Any]]:
    """Return hits and unique visitors for each of the last `days` days in `tz`, oldest first.

    Hits are kept per UTC hour, so they regroup exactly into the days of any whole-hour zone.
    Unique visitors are kept per UTC day: in another zone a local day's figure is the union
    of the UTC days it overlaps, an upper bound (marked `unique_is_upper_bound`).
    """
    read(redis, namespace, key)
    local_today = now.astimezone(tz).date()
    local_days = [local_today - timedelta(days=offset) for offset in range(days - 1, -1, -1)]
    first = datetime.combine(local_days[0], datetime.min.time(), tz).astimezone(UTC).date()
    utc_days = [first + timedelta(days=n) for n in range((now.date() - first).days + 1)]
    hits = dict.fromkeys(local_days, 0)
    overlapping: dict[date, set[date]] = {day: set() for day in local_days}
    split: set[date] = set()  # UTC days whose hours fall on two local days
    by_day = store.day_hours(redis, namespace, key, utc_days)
    for utc_day, by_hour in zip(utc_days, by_day, strict=True):
        midnight = datetime.combine(utc_day, datetime.min.time(), UTC)
        local_days_of_hours = [
            (midnight + timedelta(hours=hour)).astimezone(tz).date() for hour in range(24)
        ]
        if len(set(local_days_of_hours)) > 1:
            split.add(utc_day)
        for hour, local_day in enumerate(local_days_of_hours):
            if local_day in hits:
                hits[local_day] += by_hour.get(hour, 0)
                overlapping[local_day].add(utc_day)
    groups = [sorted(overlapping[day]) for day in local_days]
    uniques = store.union_counts(redis, namespace, key, groups)
    return [
        {
            "date": day.isoformat(),
            "hits": hits[day],
            "unique": unique,
            "unique_is_upper_bound": not split.isdisjoint(group),
        }
        for day, group, unique in zip(local_days, groups, uniques, strict=True)
    ]


# Server-wide figures walk every key: anyone may ask for them, so they are worked out at most
# once in this many seconds (for every worker and node) and read from Redis meanwhile.
TOTALS_EVERY_S = 60


def server_totals(redis: Redis) -> dict[str, int]:
    """Return server-wide figures, at most TOTALS_EVERY_S old: counters, namespaces, hits."""
    if (kept := store.kept_totals(redis)) is not None:
        return kept
    figures = _count_everything(redis)
    store.keep_totals(redis, figures, TOTALS_EVERY_S)
    return figures


def _count_everything(redis: Redis) -> dict[str, int]:
    namespaces: set[str] = set()
    counters = 0
    for namespace, _ in store.counter_names(redis):
        namespaces.add(namespace)
        counters += 1
    return {
        "counters": counters,
        "namespaces": len(namespaces),
        "hits": store.namespace_hits(redis, sorted(namespaces)),
    }


def figure(namespace: str, key: str, show: str, now: datetime) -> Call[int]:
    """Return the Call that reads what a badge shows: the total, today's hits (UTC) or uniques."""
    if show == "unique":
        return store.uniques(namespace, key)
    if show == "today":
        return store.day_total(namespace, key, now.date())
    return store.value(namespace, key)
