"""CPU per request inside one process, no HTTP server: where a slower path spends its time.

Run with `python -m bench.request_cpu`; it prints CPU and wall microseconds per request.
"""

import io
import json
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Flask
from test.ports import free_port
from werkzeug.test import EnvironBuilder

from bench.__main__ import CHROME
from page_tracker.app import create_app
from page_tracker.embedded import RedisServer
from page_tracker.extensions import INBOX, REDIS
from page_tracker.services import sites
from page_tracker.services.ingest import inbox

BEACON = json.dumps({"site": "bench", "url": "https://bench.test/home",
                     "referrer": "https://news.example.org/", "width": 1280})  # fmt: skip
REQUESTS = {
    "GET /": {"path": "/"},
    "GET /hit/bench/home": {"path": "/hit/bench/home"},
    # A JSONP hit: served by the fast app too, as every shape of a hit is.
    "GET /hit/bench/home?callback=f": {"path": "/hit/bench/home", "query_string": "callback=f"},
    "GET /badge/bench/badge.svg": {"path": "/badge/bench/badge.svg"},
    "POST /api/event": {"path": "/api/event", "method": "POST", "data": BEACON,
                        "content_type": "text/plain"},
    "GET /healthz": {"path": "/healthz"},
}  # fmt: skip
COUNT = 10_000


def start_response(
    status: str, headers: list[tuple[str, str]], exc_info: object = None
) -> Callable[[bytes], object]:
    return lambda _: None


def _caller(app: Flask, request: dict[str, Any]) -> Callable[[], None]:
    environ = EnvironBuilder(
        **request,
        environ_base={"REMOTE_ADDR": "192.0.2.1"},
        headers=[("User-Agent", CHROME), ("Origin", "https://bench.test")],
    ).get_environ()
    body = environ["wsgi.input"].read()

    def call() -> None:
        response = app({**environ, "wsgi.input": io.BytesIO(body)}, start_response)
        b"".join(response)
        if hasattr(response, "close"):  # WSGI: close it if it can be closed
            response.close()

    return call


@contextmanager
def prepared() -> Iterator[tuple[list[tuple[str, Callable[[], None]]], Callable[[], None]]]:
    """Yield each of REQUESTS as a call into an app on a throwaway Redis, warmed up.

    Also yield a call that counts the beacons waiting in the inbox, in this thread: the app's
    drainer thread is stopped, so a caller can measure that work with the requests.
    """
    with (
        tempfile.TemporaryDirectory() as data,
        RedisServer(Path(data), port=free_port(), persist=False) as redis_server,
    ):
        app = create_app({"REDIS_URL": redis_server.url, "RATE_LIMIT": "", "VIEW_RATE_LIMIT": ""})
        redis = app.extensions[REDIS]
        site = sites.make_site("bench", ["bench.test"])
        sites.add(redis, site)
        app.extensions[INBOX].stop()
        calls = [(name, _caller(app, request)) for name, request in REQUESTS.items()]

        def drain() -> None:
            inbox.drain(redis, site, datetime.now(UTC))

        for _, call in calls:
            for _ in range(500):  # caches filled, connections open
                call()
        drain()
        yield calls, drain


def main() -> None:
    """Call each request COUNT times through the WSGI app and print the cost of one call."""
    with prepared() as (calls, drain):
        for name, call in calls:
            wall, cpu = time.perf_counter(), time.process_time()
            for _ in range(COUNT):
                call()
            drain()  # a beacon's work is done when it is counted
            cpu_us = (time.process_time() - cpu) / COUNT * 1e6
            wall_us = (time.perf_counter() - wall) / COUNT * 1e6
            print(f"{name:32} cpu {cpu_us:6.1f} us   wall {wall_us:6.1f} us")


if __name__ == "__main__":
    main()
