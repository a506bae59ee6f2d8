"""The Redis client, built to fail fast rather than hang or retry behind the caller's back."""

import time
from typing import Any, Protocol, cast

import redis
from redis.backoff import NoBackoff
from redis.client import Pipeline
from redis.retry import Retry

# A server that is down, restarting, stuck or still loading its data: answer 503 and let the
# client try again later.  (BusyLoadingError is a ConnectionError.)
UNAVAILABLE = (redis.ConnectionError, redis.TimeoutError)
# A server at its maxmemory (with noeviction) refuses writes until memory is freed: no write
# of a refused command or script happened.
FULL = redis.exceptions.OutOfMemoryError


class CommandWatch(Protocol):
    """What is told of each command a watched client sends."""

    def command(self, name: str, seconds: float) -> None:
        """Take the command `name` (or "PIPELINE") and how long its round trip took."""

    def redis_error(self, kind: str) -> None:
        """Take the class name of an error a command raised."""


def connect(url: str, timeout: float, watch: CommandWatch | None = None) -> "redis.Redis":
    """Return a client for `url` whose connects and replies time out after `timeout` seconds.

    With a `watch`, every command and pipeline is timed, and every error told, to it.
    """
    # No automatic retries: a command whose reply timed out may already have run, and running
    # an INCR twice would count one view twice.  Stale pooled connections (after a Redis restart)
    # are still replaced, because the pool checks each one before lending it out.
    options: dict[str, Any] = {
        "socket_connect_timeout": timeout,
        "socket_timeout": timeout,
        "retry": Retry(NoBackoff(), 0),
        "decode_responses": True,
    }
    if watch is None:
        return redis.Redis.from_url(url, **options)
    client = cast("_Watched", _Watched.from_url(url, **options))
    client.command_watch = watch
    return client


def _timed(watch: CommandWatch, name: str, send: Any, *args: Any, **options: Any) -> Any:
    started = time.perf_counter()
    try:
        return send(*args, **options)
    except redis.RedisError as error:
        watch.redis_error(type(error).__name__)
        raise
    finally:
        watch.command(name, time.perf_counter() - started)


class _Watched(redis.Redis):
    """A client that tells its watch of every command and pipeline."""

    command_watch: CommandWatch  # not `watch`: that is the WATCH command

    def execute_command(self, *args: Any, **options: Any) -> Any:
        """Send one command, timed under its name (redis-py names commands in capitals)."""
        return _timed(self.command_watch, args[0], super().execute_command, *args, **options)

    def pipeline(self, transaction: bool = True, shard_hint: Any = None) -> Pipeline:
        """Return a pipeline whose execution is timed as one PIPELINE."""
        pipe = _WatchedPipeline(
            self.connection_pool, self.response_callbacks, transaction, shard_hint
        )
        pipe.command_watch = self.command_watch
        return pipe


class _WatchedPipeline(Pipeline):
    command_watch: CommandWatch

    def execute(self, raise_on_error: bool = True) -> list[Any]:
        """Send the queued commands, timed as one PIPELINE."""
        return _timed(self.command_watch, "PIPELINE", super().execute, raise_on_error)  # type: ignore[no-any-return]
