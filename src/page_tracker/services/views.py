"""Views of page-tracker's own home page."""

from redis import Redis

from page_tracker.store import keys


def record_home_view(redis: Redis) -> int:
    """Count one view of the home page and return the new total."""
    return redis.incr(keys.PAGE_VIEWS)
