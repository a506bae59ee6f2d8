"""Dashboard sign-ins in Redis: one key each, alive while it is used."""

from redis import Redis

from page_tracker.store import keys


def start(redis: Redis, session_hash: str, idle_s: int) -> None:
    """Record a sign-in that lapses after `idle_s` seconds without use."""
    redis.set(keys.session(session_hash), "1", ex=idle_s)


def touch(redis: Redis, session_hash: str, idle_s: int) -> bool:
    """Renew a sign-in's idle time; return False if it was ended or has lapsed."""
    return bool(redis.expire(keys.session(session_hash), idle_s))


def end(redis: Redis, session_hash: str) -> None:
    """Forget a sign-in."""
    redis.delete(keys.session(session_hash))
