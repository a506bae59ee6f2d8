"""The counter API's operations on one counter: hit, create, read, change by admin key."""

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from redis import Redis, ResponseError

from page_tracker.services.budgets import paid
from page_tracker.store import counters as store
from page_tracker.store.budgets import Charge, Spent
from page_tracker.store.calls import Calls

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


async def hit(
    calls: Calls,
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
        value, spent = await calls.run(
            store.hit(namespace, key, now, visitor, policy.lifetimes, charge)
        )
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


def _iso(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat()
