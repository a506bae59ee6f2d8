"""Counters as portable records (JSON-ready dicts) for export and import."""

import base64
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from redis import Redis
from redis.client import NEVER_DECODE

from page_tracker.store import keys
from page_tracker.store.keys import CounterField as Field


def _raw(pipe: Any, name: str) -> None:
    # HyperLogLogs are binary strings: read them without the client's UTF-8 decoding.
    pipe.execute_command("GET", name, **{NEVER_DECODE: []})


def export_record(
    redis: Redis, namespace: str, key: str, days: Sequence[date]
) -> dict[str, Any] | None:
    """Return everything stored for a counter, or None if it is gone."""
    counter = keys.counter(namespace, key)
    pipe = redis.pipeline(transaction=False)
    pipe.hgetall(counter)
    pipe.ttl(counter)
    _raw(pipe, keys.all_uniques(namespace, key))
    for day in days:
        pipe.hgetall(keys.hours(namespace, key, day))
        _raw(pipe, keys.day_uniques(namespace, key, day))
        pipe.ttl(keys.hours(namespace, key, day))
    fields, ttl, uniques, *per_day = pipe.execute()
    if not fields:
        return None
    history = {
        day.isoformat(): {
            "hours": {hour: int(count) for hour, count in sorted(hours.items(), key=_hour)},
            "uniques": _b64(day_uniques),
            "expires_in": max(day_ttl, 1),
        }
        for day, hours, day_uniques, day_ttl in zip(
            days, per_day[::3], per_day[1::3], per_day[2::3], strict=True
        )
        if hours or day_uniques
    }
    return {
        "namespace": namespace,
        "key": key,
        "value": int(fields[Field.VALUE]),
        "created": int(fields[Field.CREATED]),
        "updated": int(fields.get(Field.UPDATED, fields[Field.CREATED])),
        "admin_hash": fields.get(Field.ADMIN, ""),
        "expires_in": max(int(ttl), 1),
        "uniques": _b64(uniques),
        "history": history,
    }


def import_record(redis: Redis, record: dict[str, Any], *, replace: bool) -> bool:
    """Write a record made by export_record; return False if it exists and not `replace`."""
    namespace, key = record["namespace"], record["key"]
    counter = keys.counter(namespace, key)
    if not replace and redis.exists(counter):
        return False
    pipe = redis.pipeline(transaction=True)
    pipe.delete(counter)
    pipe.hset(
        counter,
        mapping={
            Field.VALUE: int(record["value"]),
            Field.CREATED: int(record["created"]),
            Field.UPDATED: int(record.get("updated", record["created"])),
            Field.ADMIN: str(record.get("admin_hash", "")),
        },
    )
    pipe.expire(counter, int(record["expires_in"]))
    _restore(pipe, keys.all_uniques(namespace, key), record.get("uniques"), record["expires_in"])
    for iso_day, figures in record.get("history", {}).items():
        day = date.fromisoformat(iso_day)
        hours_key = keys.hours(namespace, key, day)
        pipe.delete(hours_key)
        if figures["hours"]:
            pipe.hset(hours_key, mapping={int(h): int(n) for h, n in figures["hours"].items()})
            pipe.expire(hours_key, int(figures["expires_in"]))
        uniques_key = keys.day_uniques(namespace, key, day)
        _restore(pipe, uniques_key, figures.get("uniques"), figures["expires_in"])
    pipe.execute()
    return True


def _restore(pipe: Any, name: str, encoded: str | None, ttl: int) -> None:
    pipe.delete(name)
    if encoded:
        pipe.set(name, base64.b64decode(encoded), ex=int(ttl))


def _b64(blob: bytes | None) -> str | None:
    return base64.b64encode(blob).decode() if blob else None


def _hour(item: tuple[str, str]) -> int:
    return int(item[0])


def set_value(
    redis: Redis, namespace: str, key: str, value: int, now: datetime, retention_s: int
) -> None:
    """Set a counter's value, creating it without an admin key if it does not exist."""
    counter = keys.counter(namespace, key)
    stamp = int(now.timestamp())
    pipe = redis.pipeline(transaction=True)
    pipe.hsetnx(counter, Field.CREATED, stamp)
    pipe.hsetnx(counter, Field.ADMIN, "")
    pipe.hset(counter, mapping={Field.VALUE: value, Field.UPDATED: stamp})
    pipe.expire(counter, retention_s)
    pipe.execute()
