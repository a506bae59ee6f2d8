"""The Redis client, built to fail fast rather than hang or retry behind the caller's back."""

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

# A server that is down, restarting, stuck or still loading its data: answer 503 and let the
# client try again later.  (BusyLoadingError is a ConnectionError.)
UNAVAILABLE = (redis.ConnectionError, redis.TimeoutError)
# A server at its maxmemory (with noeviction) refuses writes until memory is freed: no write
# of a refused command or script happened.
FULL = redis.exceptions.OutOfMemoryError


def connect(url: str, timeout: float) -> "redis.Redis":
    """Return a client for `url` whose connects and replies time out after `timeout` seconds."""
    # No automatic retries: a command whose reply timed out may already have run, and running
    # an INCR twice would count one view twice.  Stale pooled connections (after a Redis restart)
    # are still replaced, because the pool checks each one before lending it out.
    return redis.Redis.from_url(
        url,
        socket_connect_timeout=timeout,
        socket_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
        decode_responses=True,
    )
