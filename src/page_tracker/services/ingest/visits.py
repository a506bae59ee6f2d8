"""A page view tied to a visitor: classified, with a keyed id that lasts one day."""

import hashlib
from dataclasses import dataclass
from datetime import date, datetime

from redis import Redis

from page_tracker.services.ingest.agents import UNKNOWN_AGENT, Agent, classify
from page_tracker.services.ingest.events import PageView
from page_tracker.services.sites import Site, local_day
from page_tracker.services.visitors import day_secret


def visitor_id(secret: bytes, site: str, ip: str, user_agent: str) -> str:
    """Return an id of a visitor to `site` that is stable for the secret's day only."""
    message = f"{site}\n{ip}\n{user_agent}".encode()
    return hashlib.blake2b(message, key=secret, digest_size=8).hexdigest()


@dataclass(frozen=True)
class Visit:
    """A page view ready to count: where, when (UTC), by whom."""

    view: PageView
    when: datetime
    agent: Agent
    visitor: str | None


def visit(
    redis: Redis,
    known: dict[date, bytes],
    site: Site,
    view: PageView,
    when: datetime,
    ip: str | None,
    user_agent: str | None,
) -> Visit:
    """Return the view classified, with its visitor's id for the site's day (None if unknown)."""
    agent = classify(user_agent) if user_agent is not None else UNKNOWN_AGENT
    if agent.bot or (ip is None and user_agent is None):
        return Visit(view, when, agent, None)
    secret = day_secret(redis, local_day(site, when), known)
    return Visit(view, when, agent, visitor_id(secret, site.name, ip or "", user_agent or ""))
