"""Dashboard sign-ins: a random id in the signed cookie, alive only while Redis holds it.

The cookie alone cannot keep anyone signed in: signing out deletes the id, an idle session
lapses, and no session outlives its lifetime, whatever the cookie says.  A first run, with no
admin token yet, signs in with a one-time link that `serve` prints.
"""

import hashlib
import secrets
from dataclasses import dataclass

from redis import Redis

from page_tracker.store import sessions as store


@dataclass(frozen=True)
class Lifetimes:
    """How long a sign-in lasts at most, and without use."""

    total_s: int
    idle_s: int


def _hash(session_id: str) -> str:
    # Redis holds only a hash: a copy of its data signs nobody in.
    return hashlib.sha256(session_id.encode()).hexdigest()


def start(redis: Redis, lifetimes: Lifetimes) -> str:
    """Return the id of a new sign-in."""
    session_id = secrets.token_urlsafe(32)
    store.start(redis, _hash(session_id), lifetimes.idle_s)
    return session_id


def alive(redis: Redis, session_id: str, started: float, now: float, lifetimes: Lifetimes) -> bool:
    """Say whether a sign-in still holds, renewing its idle time if so."""
    if now - started > lifetimes.total_s:
        return False
    return store.touch(redis, _hash(session_id), lifetimes.idle_s)


def end(redis: Redis, session_id: str) -> None:
    """End a sign-in at once."""
    store.end(redis, _hash(session_id))


# A sign-in link printed by `serve` works once, within a day.
LINK_LIFETIME_S = 24 * 3600
# How the grant of a sign-in by link names its token: it holds for as long as its session.
LINK_SIGN_IN = "link:"


def make_link(redis: Redis) -> str:
    """Return the secret of a new one-time sign-in link (Redis keeps only its hash)."""
    secret = secrets.token_urlsafe(32)
    store.keep_link(redis, _hash(secret), LINK_LIFETIME_S)
    return secret


def link_waits(redis: Redis, secret: str) -> bool:
    """Say whether the sign-in link `secret` can still be used."""
    return store.link_waits(redis, _hash(secret))


def use_link(redis: Redis, secret: str) -> str | None:
    """Use up the sign-in link `secret`; return an id for the sign-in, or None if spent."""
    digest = _hash(secret)
    return f"{LINK_SIGN_IN}{digest[:16]}" if store.use_link(redis, digest) else None
