"""Whether page-tracker's backing services answer, and how far counting lags behind."""

from datetime import datetime

from redis import Redis

from page_tracker.services.ingest import inbox
from page_tracker.services.sites import names


def check_redis(redis: Redis) -> None:
    """Return if Redis answers PING; raise the client's error if it does not."""
    redis.ping()


def backlog(redis: Redis, now: datetime) -> inbox.Backlog:
    """Return what waits in every site's inbox at `now`, to be counted."""
    return inbox.backlog(redis, names(redis), now)
