"""Visitors and clients, known by keyed hashes that reveal neither address nor User-Agent."""

import hashlib
import secrets
from datetime import date, datetime

from redis import Redis

from page_tracker.store import visitors as store


def day_secret(redis: Redis, day: date, known: dict[date, bytes]) -> bytes:
    """Return the random secret that keys visitor ids on `day`, shared by every worker.

    `known` caches secrets: once set in Redis a day's secret never changes, so each process
    asks for it once a day rather than once a hit.  Sites in far-apart time zones are on
    different dates at once, so a few days are kept.
    """
    secret = known.get(day)
    if secret is None:
        secret = bytes.fromhex(store.visitor_secret(redis, day, secrets.token_hex(32)))
        for old in sorted(known)[:-3]:
            del known[old]
        known[day] = secret
    return secret


def visitor_id(
    redis: Redis, now: datetime, ip: str, user_agent: str, known: dict[date, bytes]
) -> str:
    """Return a visitor id that is stable for a UTC day and reveals neither the IP nor the UA."""
    return _keyed(redis, now, f"{ip}\n{user_agent}", known, 16)


def client_id(redis: Redis, now: datetime, ip: str, known: dict[date, bytes]) -> str:
    """Return an id of the address `ip` that is stable for a UTC day and does not reveal it."""
    return _keyed(redis, now, ip, known, 12)


def _keyed(redis: Redis, now: datetime, text: str, known: dict[date, bytes], size: int) -> str:
    # BLAKE2 keyed with the day's secret is a MAC in one call, several times faster than HMAC.
    secret = day_secret(redis, now.date(), known)
    return hashlib.blake2b(text.encode(), key=secret, digest_size=size).hexdigest()
