"""Live announcements of counted views: one subscription per worker, fanned out in memory.

Each open live dashboard listens on a queue of its own; the worker holds one Redis connection
subscribed to the channels that some dashboard listens to, and copies each message to their
queues.  Two thousand dashboards cost one connection, not two thousand.
"""

import asyncio
import contextlib
import logging
from collections import defaultdict

import redis.asyncio

from page_tracker.store import keys

log = logging.getLogger(__name__)
# A dashboard that reads slower than views are announced misses the oldest announcements
# beyond these (each only says "refresh"), so that no slow reader grows the worker's memory.
QUEUED = 8
# After a lost connection the feed tries again this often.
RECONNECT_S = 1.0


class LiveFeed:
    """One worker's subscription to the live channels, shared by every listener on its loop."""

    def __init__(self, url: str, timeout: float) -> None:
        self._url, self._timeout = url, timeout
        self._queues: defaultdict[str, set[asyncio.Queue[str]]] = defaultdict(set)
        self._pubsub: redis.asyncio.client.PubSub | None = None
        self._reader: asyncio.Task[None] | None = None

    async def listen(self, site: str) -> "asyncio.Queue[str]":
        """Return a queue that receives each announcement of `site`'s views from now on."""
        channel = keys.live_channel(site)
        queue: asyncio.Queue[str] = asyncio.Queue(QUEUED)
        first = not self._queues[channel]
        self._queues[channel].add(queue)
        if first and self._pubsub is not None:
            await self._pubsub.subscribe(channel)
        if self._reader is None:
            self._reader = asyncio.create_task(self._read())
        return queue

    async def leave(self, site: str, queue: "asyncio.Queue[str]") -> None:
        """Stop sending to `queue`; unsubscribe from the site once nobody listens."""
        channel = keys.live_channel(site)
        listeners = self._queues.get(channel)
        if listeners is None:
            return
        listeners.discard(queue)
        if not listeners:
            del self._queues[channel]
            if self._pubsub is not None:
                # On an error the reader reconnects, with only what is still wanted.
                with contextlib.suppress(redis.RedisError, OSError):
                    await self._pubsub.unsubscribe(channel)

    def listeners(self) -> int:
        """Return how many queues are listening."""
        return sum(map(len, self._queues.values()))

    async def close(self) -> None:
        """Stop reading and close the connection."""
        if self._reader is not None:
            self._reader.cancel()
        if self._pubsub is not None:
            await self._pubsub.aclose()  # type: ignore[no-untyped-call]

    async def _read(self) -> None:
        """Copy each message to its channel's queues; reconnect after an outage."""
        failing = False
        while True:
            try:
                if self._pubsub is None:
                    self._pubsub = await self._subscribed()
                message = await self._pubsub.get_message(
                    ignore_subscribe_messages=True, timeout=1.0
                )
            except (redis.RedisError, OSError) as error:
                if not failing:
                    log.warning("live updates paused, reconnecting: %s", error)
                failing = True
                await self._drop()
                await asyncio.sleep(RECONNECT_S)
                continue
            if failing:
                log.warning("live updates flowing again")
                failing = False
            if message is not None:
                self._fan_out(message["channel"], message["data"])

    async def _subscribed(self) -> "redis.asyncio.client.PubSub":
        client = redis.asyncio.Redis.from_url(
            self._url,
            socket_connect_timeout=self._timeout,
            decode_responses=True,
        )
        pubsub = client.pubsub()
        # A placeholder keeps the connection subscribed while no dashboard is open.
        await pubsub.subscribe(keys.live_channel(""), *self._queues)
        # Dashboards that opened while this connected have not subscribed: do it for them.
        if missing := set(self._queues) - set(pubsub.channels):
            await pubsub.subscribe(*missing)
        return pubsub

    async def _drop(self) -> None:
        if self._pubsub is not None:
            pubsub, self._pubsub = self._pubsub, None
            with contextlib.suppress(redis.RedisError, OSError):
                await pubsub.aclose()  # type: ignore[no-untyped-call]

    def _fan_out(self, channel: str, data: str) -> None:
        for queue in self._queues.get(channel, ()):
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(data)
