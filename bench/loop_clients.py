"""The ways an event loop can talk to Redis, measured: CPU per command of this process.

Run with `python -m bench.loop_clients`.  Each client sends COUNT INCRs to a throwaway Redis,
IN_FLIGHT at a time where it can (one at a time for the blocking client, which holds the loop
while it waits), as the requests of one worker would.
"""

import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import redis
import redis.asyncio
import uvloop
from test.ports import free_port

from page_tracker.embedded import RedisServer
from page_tracker.store.connection import connect
from page_tracker.store.pipelined import LoopRedis

COUNT = 20_000
IN_FLIGHT = 16


async def _measured(name: str, send: Callable[[], Awaitable[object]], at_once: int) -> None:
    for _ in range(500):  # connections open, caches warm
        await send()
    cpu = time.process_time()
    for _ in range(COUNT // at_once):
        await asyncio.gather(*(send() for _ in range(at_once)))
    cpu_us = (time.process_time() - cpu) / COUNT * 1e6
    print(f"{name:48} {cpu_us:6.1f} us of CPU per command")


async def _main(url: str) -> None:
    blocking = connect(url, 1.0)

    async def blocking_incr() -> object:
        return blocking.incr("n")

    pooled = redis.asyncio.Redis.from_url(url)
    loop_redis = LoopRedis(url, 1.0)
    await _measured("redis-py, blocking, on the loop", blocking_incr, 1)
    await _measured("redis.asyncio", lambda: pooled.incr("n"), IN_FLIGHT)
    await _measured(
        "store/pipelined.py (hiredis's reader)", lambda: loop_redis.execute("INCR", "n"), IN_FLIGHT
    )
    await pooled.aclose()
    loop_redis.close()


def main() -> None:
    """Measure each client against one throwaway Redis."""
    with (
        tempfile.TemporaryDirectory() as data,
        RedisServer(Path(data), port=free_port(), persist=False) as server,
    ):
        uvloop.run(_main(server.url))


if __name__ == "__main__":
    main()
