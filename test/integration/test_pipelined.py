"""The event loop's Redis client on a real redis-server: replies in order, failures fast."""

import asyncio
import os
import signal
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import redis
import uvloop

from page_tracker.embedded import RedisServer
from page_tracker.store import scripts
from page_tracker.store.pipelined import LoopRedis
from test.ports import free_port

TIMEOUT = 0.3
T = TypeVar("T")


def on_loop(work: Callable[[LoopRedis], Awaitable[T]], url: str) -> T:
    """Run `work` with a fresh client on a fresh uvloop, as a worker of `serve` would."""

    async def main() -> T:
        client = LoopRedis(url, TIMEOUT)
        try:
            return await work(client)
        finally:
            client.close()

    return uvloop.run(main())


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[RedisServer]:
    """Start a redis-server this test may stop and freeze."""
    with RedisServer(tmp_path, port=free_port(), persist=False) as server:
        yield server


def test_concurrent_commands_get_their_own_replies(
    redis_server: RedisServer, redis_client: redis.Redis
) -> None:
    async def work(client: LoopRedis) -> list[Any]:
        return await asyncio.gather(
            *(client.execute("INCRBY", f"n{index}", index) for index in range(500))
        )

    assert on_loop(work, redis_server.url) == list(range(500))
    assert redis_client.get("n499") == "499"


def test_a_script_is_loaded_once_when_redis_lacks_it(
    redis_server: RedisServer, redis_client: redis.Redis
) -> None:
    redis_client.script_flush()
    # A budget of a burst of 2, one more each second, spent three times.
    arguments = [1000, 2, 0]

    async def work(client: LoopRedis) -> list[Any]:
        return [await client.script("budget", ["budget"], arguments) for _ in range(3)]

    allowed = [reply[0] for reply in on_loop(work, redis_server.url)]
    assert allowed == [1, 1, 0]
    assert redis_client.script_exists(scripts.SHAS["budget"]) == [True]


def test_error_replies_raise_as_redis_py_raises_them(redis_server: RedisServer) -> None:
    async def work(client: LoopRedis) -> list[Any]:
        await client.execute("SET", "text", "not a number")
        found: list[Any] = []
        for command in (("INCR", "text"), ("EVALSHA", "0" * 40, 0)):
            try:
                await client.execute(*command)
            except redis.RedisError as error:
                found.append(error)
        found.append(await client.execute("PING"))  # the connection is still good
        return found

    incr, evalsha, pong = on_loop(work, redis_server.url)
    assert type(incr) is redis.ResponseError
    assert "not an integer" in str(incr)
    assert isinstance(evalsha, redis.exceptions.NoScriptError)
    assert pong == "PONG"


def test_a_database_in_the_url_is_selected(redis_server: RedisServer) -> None:
    async def work(client: LoopRedis) -> Any:
        await client.execute("SET", "where", "db 3")
        return None

    on_loop(work, f"{redis_server.url}/3")
    with redis.Redis.from_url(f"{redis_server.url}/3", decode_responses=True) as client:
        assert client.get("where") == "db 3"


def test_redis_down_fails_at_once_and_up_again_serves(own_server: RedisServer) -> None:
    url = own_server.url

    async def work(client: LoopRedis) -> tuple[float, Any]:
        await client.execute("SET", "kept", "1")
        own_server.stop()
        started = time.monotonic()
        with pytest.raises(redis.ConnectionError):
            await client.execute("GET", "kept")
        failed_in = time.monotonic() - started
        own_server.start()
        return failed_in, await client.execute("PING")

    failed_in, pong = on_loop(work, url)
    assert failed_in < TIMEOUT
    assert pong == "PONG"


def test_a_stuck_redis_times_out_and_its_late_reply_is_never_taken(
    own_server: RedisServer,
) -> None:
    assert own_server.process is not None
    pid = own_server.process.pid

    async def work(client: LoopRedis) -> tuple[float, Any]:
        await client.execute("SET", "a", "first")
        os.kill(pid, signal.SIGSTOP)
        started = time.monotonic()
        try:
            with pytest.raises(redis.TimeoutError):
                await client.execute("GET", "a")
        finally:
            os.kill(pid, signal.SIGCONT)
        waited = time.monotonic() - started
        # The GET's reply arrives on the old connection, which was dropped: not read as this.
        return waited, await client.execute("ECHO", "second")

    waited, echoed = on_loop(work, own_server.url)
    assert TIMEOUT <= waited < TIMEOUT + 0.5
    assert echoed == "second"
