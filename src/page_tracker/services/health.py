"""Whether page-tracker's backing services answer."""

from redis import Redis


def check_redis(redis: Redis) -> None:
    """Return if Redis answers PING; raise the client's error if it does not."""
    redis.ping()
