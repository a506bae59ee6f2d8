"""Where the app factory keeps the clients it builds, and how request code finds them."""

from flask import current_app
from redis import Redis

# The key in `app.extensions`; tests swap the client here, at the injection point.
REDIS = "page_tracker.redis"


def redis_client() -> Redis:
    """Return the current app's Redis client."""
    client: Redis = current_app.extensions[REDIS]
    return client
