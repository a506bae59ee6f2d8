"""Counters in Redis: reads and writes by key, each write one round trip."""

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast

from redis import Redis, ResponseError

from page_tracker.store import budgets, calls, keys, scripts
from page_tracker.store.budgets import Charge, Spent
from page_tracker.store.calls import Call
from page_tracker.store.keys import CounterField as Field

DAY_S = 86_400


@dataclass(frozen=True)
class CounterRecord:
    """A counter as stored."""

    value: int
    created: int
    updated: int
    admin_hash: str
    expires_in: int


def hit(
    namespace: str,
    key: str,
    now: datetime,
    visitor: str,
    lifetimes: tuple[int, int],
    charge: Charge | None = None,
) -> Call[tuple[int | None, Spent | None]]:
    """Return the Call that counts one hit by `visitor` at `now` (UTC), spending `charge` first.

    It reads as the new value (None if over budget: nothing counted) and what was spent.
    """
    retention_s, history_s = lifetimes
    day = now.date()
    budget_keys, budget_args = budgets.arguments(charge)

    def read(reply: list[Any]) -> tuple[int | None, Spent | None]:
        return (int(reply[4]) if len(reply) > 4 else None), budgets.spent(reply, charge)

    return calls.script(
        "hit",
        [
            keys.counter(namespace, key),
            keys.hours(namespace, key, day),
            keys.day_uniques(namespace, key, day),
            keys.all_uniques(namespace, key),
            keys.namespace_totals(namespace),
            *budget_keys,
        ],
        [int(now.timestamp()), now.hour, visitor, retention_s, history_s, *budget_args],
        read,
    )


def value(namespace: str, key: str) -> Call[int]:
    """Return the Call that reads a counter's value (0 if there is no such counter)."""
    return calls.command(
        lambda found: int(found or 0), "HGET", keys.counter(namespace, key), Field.VALUE
    )


def day_total(namespace: str, key: str, day: date) -> Call[int]:
    """Return the Call that reads a counter's hits on a UTC day."""
    return calls.command(
        lambda hours: sum(map(int, hours)), "HVALS", keys.hours(namespace, key, day)
    )


def uniques(namespace: str, key: str) -> Call[int]:
    """Return the Call that reads a counter's distinct visitors since it was created."""
    return calls.command(int, "PFCOUNT", keys.all_uniques(namespace, key))


def create(
    redis: Redis,
    namespace: str,
    key: str,
    value: int,
    now: datetime,
    admin_hash: str,
    retention_s: int,
) -> bool:
    """Create a counter; return False if it already exists."""
    created = scripts.run(
        redis,
        "create",
        [keys.counter(namespace, key)],
        [value, int(now.timestamp()), admin_hash, retention_s],
    )
    return bool(created)


def values(redis: Redis, names: Sequence[tuple[str, str]]) -> list[int | None]:
    """Return the value of each (namespace, key), None for one that is gone, in one round trip."""
    pipe = redis.pipeline(transaction=False)
    for namespace, key in names:
        pipe.hget(keys.counter(namespace, key), keys.CounterField.VALUE)
    return [None if value is None else int(value) for value in pipe.execute()]


def read(redis: Redis, namespace: str, key: str) -> CounterRecord | None:
    """Return the counter, or None if there is none."""
    name = keys.counter(namespace, key)
    pipe = redis.pipeline(transaction=False)
    pipe.hgetall(name)
    pipe.ttl(name)
    fields, ttl = pipe.execute()
    if not fields:
        return None
    return CounterRecord(
        value=int(fields[Field.VALUE]),
        created=int(fields[Field.CREATED]),
        updated=int(fields.get(Field.UPDATED, fields[Field.CREATED])),
        admin_hash=fields.get(Field.ADMIN, ""),
        expires_in=max(int(ttl), 0),
    )


class CounterChangedError(Exception):
    """The counter's admin key changed between the check and the write."""


def change(
    redis: Redis,
    namespace: str,
    key: str,
    expected_admin_hash: str,
    operation: str,
    operand: int,
    now: datetime,
    retention_s: int,
    owned_days: Sequence[date] = (),
) -> tuple[int, int]:
    """Apply set, add or delete if the admin hash is unchanged; return (old, new) values."""
    owned = [
        name
        for day in owned_days
        for name in (keys.hours(namespace, key, day), keys.day_uniques(namespace, key, day))
    ]
    if operation == "delete":
        owned.append(keys.all_uniques(namespace, key))
    try:
        old, new = scripts.run(
            redis,
            "admin",
            [keys.counter(namespace, key), *owned],
            [expected_admin_hash, operation, operand, int(now.timestamp()), retention_s],
        )
    except ResponseError as error:
        if str(error).startswith("CHANGED"):
            raise CounterChangedError from error
        raise
    return int(old), int(new)


def day_hours(redis: Redis, namespace: str, key: str, days: Sequence[date]) -> list[dict[int, int]]:
    """Return, for each UTC day, its hits by hour."""
    pipe = redis.pipeline(transaction=False)
    for day in days:
        pipe.hgetall(keys.hours(namespace, key, day))
    return [{int(hour): int(count) for hour, count in hours.items()} for hours in pipe.execute()]


def all_time_uniques(redis: Redis, namespace: str, key: str) -> int:
    """Return the counter's distinct visitors since it was created."""
    return calls.run(redis, uniques(namespace, key))


def counter_names(redis: Redis) -> Iterator[tuple[str, str]]:
    """Yield (namespace, key) of every counter."""
    for name in redis.scan_iter(match=keys.COUNTER_PATTERN, count=1000):
        yield keys.parse_counter(name)


def namespace_hits(redis: Redis, namespaces: Sequence[str]) -> int:
    """Return the hits counted in `namespaces`, added up."""
    pipe = redis.pipeline(transaction=False)
    for namespace in namespaces:
        pipe.hget(keys.namespace_totals(namespace), keys.TotalsField.HITS)
    return sum(int(hits or 0) for hits in pipe.execute())


def history_days(today: date, count: int) -> list[date]:
    """Return the `count` UTC days up to and including `today`, oldest first."""
    return [today - timedelta(days=offset) for offset in range(count - 1, -1, -1)]


def union_counts(
    redis: Redis, namespace: str, key: str, groups: Sequence[Sequence[date]]
) -> list[int]:
    """Return, for each group of UTC days, its distinct visitors (PFCOUNT of the union)."""
    pipe = redis.pipeline(transaction=False)
    for days in filter(None, groups):
        pipe.pfcount(*(keys.day_uniques(namespace, key, day) for day in days))
    replies = iter(pipe.execute())
    return [int(next(replies)) if days else 0 for days in groups]


def kept_totals(redis: Redis) -> dict[str, int] | None:
    """Return the server-wide figures worked out last, if they are still kept."""
    kept = redis.get(keys.SERVER_TOTALS)
    return None if kept is None else cast(dict[str, int], json.loads(kept))


def keep_totals(redis: Redis, figures: dict[str, int], ttl_s: int) -> None:
    """Keep the server-wide figures for `ttl_s` seconds."""
    redis.set(keys.SERVER_TOTALS, json.dumps(figures), ex=ttl_s)
