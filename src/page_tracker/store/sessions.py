"""Dashboard sign-ins in Redis: one key each, alive while it is used; and one-time links."""

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


def keep_link(redis: Redis, link_hash: str, lifetime_s: int) -> None:
    """Record a one-time sign-in link that lapses after `lifetime_s` seconds."""
    redis.set(keys.sign_in_link(link_hash), "1", ex=lifetime_s)


def link_waits(redis: Redis, link_hash: str) -> bool:
    """Say whether a sign-in link is still unused and alive."""
    return bool(redis.exists(keys.sign_in_link(link_hash)))


def use_link(redis: Redis, link_hash: str) -> bool:
    """Use up a sign-in link; return False if it was used already or has lapsed."""
    return bool(redis.delete(keys.sign_in_link(link_hash)))
