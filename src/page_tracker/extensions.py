"""Where the app factory keeps the clients it builds, and how request code finds them."""

from collections.abc import Callable
from datetime import UTC, date, datetime

from flask import current_app
from redis import Redis

# Keys in `app.extensions`; tests swap the client and the clock here, at the injection point.
REDIS = "page_tracker.redis"
CLOCK = "page_tracker.clock"
SECRETS = "page_tracker.visitor_secrets"


def redis_client() -> Redis:
    """Return the current app's Redis client."""
    client: Redis = current_app.extensions[REDIS]
    return client


def system_clock() -> datetime:
    """Return the current time in UTC."""
    return datetime.now(UTC)


def now() -> datetime:
    """Return the current app's idea of the current time (UTC)."""
    clock: Callable[[], datetime] = current_app.extensions[CLOCK]
    return clock()


def known_secrets() -> dict[date, str]:
    """Return the current app's cache of daily visitor secrets."""
    known: dict[date, str] = current_app.extensions[SECRETS]
    return known
