"""Function calls per request, counted by cProfile in one process: a figure that does not drift.

Run with `python -m bench.calls`.  On a shared machine req/s moves by a tenth within minutes;
the number of Python calls a request makes moves only when the code does.
"""

import cProfile
import io
import pstats
import tempfile
from pathlib import Path

from werkzeug.test import EnvironBuilder

from bench.__main__ import CHROME
from bench.request_cpu import REQUESTS, start_response
from page_tracker.app import create_app
from page_tracker.embedded import RedisServer, free_port
from page_tracker.services import sites

COUNT = 1000


def main() -> None:
    """Call each request COUNT times under cProfile and print its calls per request."""
    with (
        tempfile.TemporaryDirectory() as data,
        RedisServer(Path(data), port=free_port(), persist=False) as redis_server,
    ):
        app = create_app({"REDIS_URL": redis_server.url, "RATE_LIMIT": "", "VIEW_RATE_LIMIT": ""})
        sites.add(app.extensions["page_tracker.redis"], sites.make_site("bench", ["bench.test"]))
        for name, request in REQUESTS.items():
            environ = EnvironBuilder(
                **request,  # type: ignore[arg-type]
                environ_base={"REMOTE_ADDR": "192.0.2.1"},
                headers=[("User-Agent", CHROME), ("Origin", "https://bench.test")],
            ).get_environ()
            body = environ["wsgi.input"].read()

            def call(environ: dict[str, object] = environ, body: bytes = body) -> None:
                response = app({**environ, "wsgi.input": io.BytesIO(body)}, start_response)
                b"".join(response)
                if hasattr(response, "close"):
                    response.close()

            for _ in range(300):  # caches filled, connections open
                call()
            profile = cProfile.Profile()
            profile.enable()
            for _ in range(COUNT):
                call()
            profile.disable()
            calls = pstats.Stats(profile).total_calls  # type: ignore[attr-defined]
            print(f"{name:32} {calls / COUNT:6.1f} calls a request")


if __name__ == "__main__":
    main()
