"""A site's live stream: its viewer is checked, then the core streams it on its event loop.

Under a plain WSGI server (no core to hand it to), the stream is written from a request thread.
"""

import threading
import time
from collections.abc import Iterator

from flask import Response, current_app, request, stream_with_context

from page_tracker.extensions import current_runtime
from page_tracker.services import site_figures, sites
from page_tracker.web.dashboard.setup import WSGI_STREAMS
from page_tracker.web.serving.streams import (
    BUSY,
    HANDED_OVER,
    KEEP_ALIVE,
    KEEP_ALIVE_S,
    READY,
    views_event,
)


def live(grant: sites.Grant, site: sites.Site) -> Response:
    """Stream an event each time views of the site are counted (Server-Sent Events).

    Under `serve` the stream is handed over to the core, which answers it on the event loop
    (web/serving/streams.py).  Under a plain WSGI server the stream holds a request thread, so
    a worker serves at most WSGI_LIVE_STREAMS at once (beyond, a "busy" event sends the
    browser to polling).  Each ends after LIVE_STREAM_SECONDS, and the browser reconnects.
    """
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    if HANDED_OVER in request.environ:
        request.environ[HANDED_OVER] = site.name
        return Response(b"", mimetype="text/event-stream", headers=headers)
    runtime = current_runtime()
    budget: threading.BoundedSemaphore = current_app.extensions[WSGI_STREAMS]
    # Waiting for a stream would hold a thread too. Say "busy" at once, as an event rather than
    # an error status: the page polls, and the browser asks again after `retry`.
    if not budget.acquire(blocking=False):
        runtime.metrics.sent_to_polling()
        return Response(BUSY, mimetype="text/event-stream", headers={"Cache-Control": "no-store"})
    seconds = current_app.config["LIVE_STREAM_SECONDS"]
    subscription = site_figures.live(runtime.redis, site)

    def events() -> Iterator[bytes]:
        runtime.metrics.stream_opened()
        try:
            yield READY
            deadline = wrote = time.monotonic()
            deadline += seconds
            while (left := deadline - time.monotonic()) > 0:
                message = subscription.get_message(timeout=min(left, KEEP_ALIVE_S))
                if message is not None:
                    yield views_event(message["data"])
                elif time.monotonic() - wrote >= KEEP_ALIVE_S:
                    yield KEEP_ALIVE  # writing is how a vanished client is noticed
                else:
                    continue
                wrote = time.monotonic()
        finally:
            subscription.close()
            budget.release()
            runtime.metrics.stream_closed()

    return Response(stream_with_context(events()), mimetype="text/event-stream", headers=headers)
