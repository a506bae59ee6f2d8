"""Live dashboard streams (Server-Sent Events) as coroutines on the worker's event loop.

The dashboard's view checks who may watch which site, then hands the stream over by naming
the site in the environ (HANDED_OVER); the core answers it from here.  A stream holds no
thread: thousands wait on one loop, fed by one subscription per worker (store/live.py).
"""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Protocol

from page_tracker.metrics import Unmeasured
from page_tracker.store.live import LiveFeed

# Where the dashboard's view names the site whose stream the core is to answer.
HANDED_OVER = "page_tracker.live_stream"
# A stream held by a thread notices a vanished client only by writing, so it writes this often.
KEEP_ALIVE_S = 2.0
# A stream on the loop hears of a vanished client from granian at once: it writes only so that
# proxies keep an idle connection open (most close one after 60 s).
IDLE_KEEP_ALIVE_S = 15.0
BUSY_RETRY_MS = 5000
READY = b"retry: 2000\nevent: ready\ndata: live\n\n"
KEEP_ALIVE = b": keep-alive\n\n"
BUSY = f"retry: {BUSY_RETRY_MS}\nevent: busy\ndata: poll\n\n".encode()


def views_event(data: str) -> bytes:
    """Return the event that tells a dashboard of views counted."""
    return f"event: views\ndata: {data}\n\n".encode()


class Transport(Protocol):
    """Where a streamed answer is written (granian's RSGIHTTPStreamTransport)."""

    async def send_bytes(self, data: bytes) -> None:
        """Send `data` to the client."""


class LiveStreams:
    """A worker's live streams: at most `limit` at once, each ending after `seconds`."""

    def __init__(self, feed: LiveFeed, limit: int, seconds: float, metrics: Unmeasured) -> None:
        self.feed = feed
        self.limit = limit
        self.seconds = seconds
        self.metrics = metrics
        self.open = 0

    async def stream(self, site: str, send: Transport, gone: Callable[[], Awaitable[None]]) -> None:
        """Write `site`'s live events to `send` until the stream's time is up or the client goes.

        Beyond `limit` streams, a "busy" event sends the browser to polling, and it asks again
        after a while.  `gone()` returns when the client has gone: the stream ends then.
        """
        if self.open >= self.limit:
            self.metrics.sent_to_polling()
            await send.send_bytes(BUSY)
            return
        self.open += 1
        self.metrics.stream_opened()
        queue = await self.feed.listen(site)
        this = asyncio.current_task()
        watcher = asyncio.ensure_future(gone())

        def end(_: object) -> None:
            if this is not None:
                this.cancel()

        watcher.add_done_callback(end)
        try:
            await self._write(send, queue)
        except asyncio.CancelledError:
            if not watcher.done() or this is None:
                raise
            this.uncancel()  # the client went away: that ends the stream, nothing more
        finally:
            watcher.remove_done_callback(end)
            watcher.cancel()
            self.open -= 1
            self.metrics.stream_closed()
            await self.feed.leave(site, queue)

    async def _write(self, send: Transport, queue: "asyncio.Queue[str]") -> None:
        await send.send_bytes(READY)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.seconds
        while (left := deadline - loop.time()) > 0:
            try:
                async with asyncio.timeout(min(left, IDLE_KEEP_ALIVE_S)):
                    data = await queue.get()
            except TimeoutError:
                if loop.time() < deadline:
                    await send.send_bytes(KEEP_ALIVE)
                continue
            await send.send_bytes(views_event(data))
