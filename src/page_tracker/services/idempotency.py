"""Batches sent with an Idempotency-Key count once, however often a client sends them again.

The answer is stored in the same transaction that counts the batch, so a batch either counted
and has its answer kept, or did not count and may be sent again.  While one request with a key
is being counted, another with the same key is told to wait.
"""

import hashlib
import re
from collections.abc import Sequence
from datetime import datetime

from redis import Redis

from page_tracker.store import analytics as store
from page_tracker.store import keys
from page_tracker.store.analytics import Plan

# As the IETF draft on Idempotency-Key suggests: a day is long enough for every retry.
KEEP_S = 86_400
# How long a request may take to count before its key is free again (it counted nothing).
HOLD_S = 60
PENDING = "pending"
KEY = re.compile(r"[\x21-\x7e]{1,255}")


class IdempotencyError(ValueError):
    """An Idempotency-Key that cannot be used: malformed, or its request still counting."""


class InProgressError(IdempotencyError):
    """A request with the same Idempotency-Key is being counted right now."""


def claim(redis: Redis, holder: str, key: str) -> tuple[str, str | None]:
    """Return the Redis name for `holder`'s `key` and the answer already given to it, if any.

    Raise IdempotencyError if the key is malformed, InProgressError if it is being counted.
    """
    if not KEY.fullmatch(key):
        raise IdempotencyError("Idempotency-Key must be 1 to 255 visible ASCII characters")
    digest = hashlib.sha256(f"{holder}\n{key}".encode()).hexdigest()
    name = keys.idempotency(digest)
    answer = store.claim(redis, name, PENDING, HOLD_S)
    if answer == PENDING:
        raise InProgressError("a request with this Idempotency-Key is being counted; retry")
    return name, answer


def record(redis: Redis, plans: Sequence[Plan], now: datetime, name: str, answer: str) -> None:
    """Count the plans of a claimed batch and keep its answer, in one transaction."""
    store.apply(redis, plans, int(now.timestamp()), remember=(name, answer, KEEP_S))


def release(redis: Redis, name: str) -> None:
    """Free a claimed key whose request failed before it counted, so a retry may count."""
    if redis.get(name) == PENDING:
        redis.delete(name)
