"""The counter API's operations: hit, create, read, change by admin key, history, stats."""

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from redis import Redis, ResponseError

from page_tracker.services.budgets import paid
from page_tracker.store import counters as store
from page_tracker.store.budgets import Charge, Spent

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
# What a namespace or key may be; nothing in it can break the key schema's separators.
NAME = re.compile(r"[A-Za-z0-9_.-]{3,64}")
# ASCII digits only: int() would also take "١٢", "1_0" and thousands of digits.
INTEGER = re.compile(r"[+-]?[0-9]{1,20}")


def parse_integer(text: str) -> int | None:
    """Return `text` as an integer if it is one in plain decimal digits, else None."""
    text = text.strip()
    return int(text) if INTEGER.fullmatch(text) else None


class CounterError(Exception):
    """A counter operation the caller asked for cannot be done."""


class NotFoundError(CounterError):
    """There is no such counter."""


class ExistsError(CounterError):
    """The counter already exists."""


class NoAdminKeyError(CounterError):
    """The counter was created without an admin key, so no admin call can change it."""


class WrongAdminKeyError(CounterError):
    """The admin key given is missing or not this counter's."""


class ValueOverflowError(CounterError):
    """The result would not fit in a signed 64-bit integer."""


@dataclass(frozen=True)
class Policy:
    """How long counters and their daily history are kept."""

    retention_days: int
    history_days: int

    @property
    def lifetimes(self) -> tuple[int, int]:
        """Return (retention, history) in seconds."""
        return self.retention_days * store.DAY_S, self.history_days * store.DAY_S


def hash_admin_key(admin_key: str) -> str:
    """Return the stored form of an admin key (it has 192 random bits, so SHA-256 suffices)."""
    return hashlib.sha256(admin_key.encode()).hexdigest()


def hit(
    redis: Redis,
    policy: Policy,
    namespace: str,
    key: str,
    now: datetime,
    visitor: str,
    charge: Charge | None = None,
) -> tuple[int, Spent | None]:
    """Count one hit (creating the counter on its first), spending `charge` in the same step.

    Return the new value and what was spent; raise OverBudgetError (counting nothing) if the
    client's budget is spent.
    """
    try:
        value, spent = store.hit(redis, namespace, key, now, visitor, policy.lifetimes, charge)
    except ResponseError as error:
        if "overflow" in str(error):
            raise ValueOverflowError("the counter is at the largest signed 64-bit value") from error
        raise
    paid(charge, spent)  # over budget: the script counted nothing, and this raises
    return cast(int, value), spent


def create(
    redis: Redis, policy: Policy, namespace: str, key: str, value: int, now: datetime
) -> str:
    """Create a counter at `value` and return its new admin key (shown only this once)."""
    admin_key = secrets.token_urlsafe(24)
    retention_s, _ = policy.lifetimes
    if not store.create(redis, namespace, key, value, now, hash_admin_key(admin_key), retention_s):
        raise ExistsError(f"counter {namespace}/{key} already exists")
    return admin_key


def read(redis: Redis, namespace: str, key: str) -> store.CounterRecord:
    """Return the counter or raise NotFoundError."""
    record = store.read(redis, namespace, key)
    if record is None:
        raise NotFoundError(f"no counter {namespace}/{key}")
    return record


def info(redis: Redis, namespace: str, key: str) -> dict[str, Any]:
    """Return the counter's metadata."""
    record = read(redis, namespace, key)
    return {
        "namespace": namespace,
        "key": key,
        "value": record.value,
        "created": _iso(record.created),
        "updated": _iso(record.updated),
        "expires_in": record.expires_in,
        "has_admin_key": bool(record.admin_hash),
        "unique_visitors": store.all_time_uniques(redis, namespace, key),
    }


def names(redis: Redis, limit: int) -> list[tuple[str, str]]:
    """Return up to `limit` counters as (namespace, key), sorted."""
    found = []
    for name in store.counter_names(redis):
        found.append(name)
        if len(found) >= limit:
            break
    return sorted(found)


def totals(redis: Redis, limit: int) -> list[tuple[str, str, int]]:
    """Return up to `limit` counters as (namespace, key, value), sorted by name."""
    found = names(redis, limit)
    valued = zip(found, store.values(redis, found), strict=True)
    return [(namespace, key, value) for (namespace, key), value in valued if value is not None]


def _authorize(record: store.CounterRecord, admin_key: str | None) -> None:
    if not record.admin_hash:
        raise NoAdminKeyError("this counter was created without an admin key")
    given = hash_admin_key(admin_key or "")
    if admin_key is None or not hmac.compare_digest(given, record.admin_hash):
        raise WrongAdminKeyError("a valid admin key is required")


def change(
    redis: Redis,
    policy: Policy,
    namespace: str,
    key: str,
    admin_key: str | None,
    operation: str,
    operand: int,
    now: datetime,
    *,
    owner: bool = False,
) -> tuple[int, int]:
    """Set, add to, reset or delete a counter; return (old, new) values.

    It takes the counter's admin key, unless the caller is its `owner` (the server admin).
    """
    record = read(redis, namespace, key)
    if not owner:
        _authorize(record, admin_key)
    if operation == "add" and not INT64_MIN <= record.value + operand <= INT64_MAX:
        raise ValueOverflowError("the result would not fit in a signed 64-bit integer")
    owned = store.history_days(now.date(), policy.history_days + 1)
    retention_s, _ = policy.lifetimes
    try:
        return store.change(
            redis,
            namespace,
            key,
            record.admin_hash,
            operation,
            operand,
            now,
            retention_s,
            owned if operation == "delete" else (),
        )
    except store.CounterChangedError as error:
        raise NotFoundError(f"counter {namespace}/{key} changed; try again") from error


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
STATS_EVERY_S = 60


def stats(redis: Redis) -> dict[str, int]:
    """Return server-wide figures, at most STATS_EVERY_S old: counters, namespaces, hits."""
    if (kept := store.kept_stats(redis)) is not None:
        return kept
    figures = _count_everything(redis)
    store.keep_stats(redis, figures, STATS_EVERY_S)
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


def _iso(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat()


def figure(redis: Redis, namespace: str, key: str, show: str, now: datetime) -> int:
    """Return what a badge shows: the total, today's hits (UTC) or all-time unique visitors."""
    if show == "unique":
        return store.all_time_uniques(redis, namespace, key)
    if show == "today":
        (by_hour,) = store.day_hours(redis, namespace, key, [now.date()])
        return sum(by_hour.values())
    record = store.read(redis, namespace, key)
    return record.value if record else 0
