"""CPU per request inside one process, no HTTP server: where a slower path spends its time.

Run with `python -m bench.request_cpu`; it prints CPU and wall microseconds per request.
"""

import tempfile
import time
from pathlib import Path

from werkzeug.test import EnvironBuilder

from page_tracker.app import create_app
from page_tracker.embedded import RedisServer, free_port

PATHS = ("/", "/hit/bench/home", "/badge/bench/badge.svg", "/healthz")
REQUESTS = 10_000


def main() -> None:
    """Call each path REQUESTS times through the WSGI app and print the cost of one call."""
    with (
        tempfile.TemporaryDirectory() as data,
        RedisServer(Path(data), port=free_port(), persist=False) as redis_server,
    ):
        app = create_app({"REDIS_URL": redis_server.url, "RATE_LIMIT": ""})
        for path in PATHS:
            environ = EnvironBuilder(
                path=path, environ_base={"REMOTE_ADDR": "192.0.2.1"}, headers={"User-Agent": "b"}
            ).get_environ()

            def call(environ: dict[str, object] = environ) -> None:
                body = app(dict(environ), lambda *_: None)
                b"".join(body)
                body.close()  # type: ignore[attr-defined]

            for _ in range(500):
                call()
            wall, cpu = time.perf_counter(), time.process_time()
            for _ in range(REQUESTS):
                call()
            cpu_us = (time.process_time() - cpu) / REQUESTS * 1e6
            wall_us = (time.perf_counter() - wall) / REQUESTS * 1e6
            print(f"{path:28} cpu {cpu_us:6.1f} us   wall {wall_us:6.1f} us")


if __name__ == "__main__":
    main()
