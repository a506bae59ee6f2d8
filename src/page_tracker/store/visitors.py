"""The secrets that key visitor ids, one per date, shared by every worker and node."""

from datetime import date

from redis import Redis

from page_tracker.store import keys

DAY_S = 86_400


def visitor_secret(redis: Redis, day: date, candidate: str) -> str:
    """Return the date's secret, storing `candidate` if it has none yet (TTL 3 days).

    Three days cover a date in every time zone from UTC+14 to UTC-12, with room to spare.
    """
    name = keys.visitor_secret(day)
    pipe = redis.pipeline(transaction=False)
    pipe.set(name, candidate, nx=True, ex=3 * DAY_S)
    pipe.get(name)
    _, secret = pipe.execute()
    return str(secret)
