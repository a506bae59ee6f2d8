"""Where the app factory keeps the clients it builds, and how request code finds them."""

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any, NamedTuple

from flask import current_app
from redis import Redis

from page_tracker.metrics import Unmeasured
from page_tracker.services.counters import Policy
from page_tracker.services.ingest.inbox import Drainer
from page_tracker.services.ingest.intake import Intake
from page_tracker.services.sites import SiteBook
from page_tracker.store.budgets import Budget
from page_tracker.store.calls import Blocking, Calls

# Keys in `app.extensions`; tests swap the client and the clock here, at the injection point.
REDIS = "page_tracker.redis"
CLOCK = "page_tracker.clock"
SECRETS = "page_tracker.visitor_secrets"
POLICY = "page_tracker.policy"
SITES = "page_tracker.sites"
INBOX = "page_tracker.inbox"
METRICS = "page_tracker.metrics"
BUDGETS = "page_tracker.budgets"


def redis_client() -> Redis:
    """Return the current app's Redis client."""
    client: Redis = current_app.extensions[REDIS]
    return client


def system_clock() -> datetime:
    """Return the current time in UTC."""
    return datetime.now(UTC)


class Runtime(NamedTuple):
    """What a request takes from its app: Redis, time, policy, secrets, sites, inbox, budgets.

    `calls` makes the Calls of the busy endpoints: the loop's client on the event loop, else
    the blocking `redis`.
    """

    redis: Redis
    calls: Calls
    now: datetime
    policy: Policy
    secrets: dict[date, bytes]
    sites: SiteBook
    inbox: Drainer
    metrics: Unmeasured
    budgets: Mapping[str, Budget]

    @property
    def intake(self) -> Intake:
        """Return what taking views in needs, from this runtime."""
        return Intake(self.redis, self.secrets, self.sites, self.inbox, self.calls)


def current_runtime(
    extensions: dict[str, Any] | None = None, calls: Calls | None = None
) -> Runtime:
    """Return the clients and settings in `extensions` (the current app's) at this moment.

    Calls are made with `calls`, by default with the blocking client.
    """
    if extensions is None:
        extensions = current_app.extensions
    redis = extensions[REDIS]
    return Runtime(
        redis,
        Blocking(redis) if calls is None else calls,
        extensions[CLOCK](),
        extensions[POLICY],
        extensions[SECRETS],
        extensions[SITES],
        extensions[INBOX],
        extensions[METRICS],
        extensions[BUDGETS],
    )
