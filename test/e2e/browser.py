"""Fixtures of the browser tests: page-tracker, test pages on a second origin, and Chromium."""

import os
import threading
import time
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, sync_playwright

from page_tracker.embedded import RedisServer
from test.e2e.serving import ServeProcess, serve
from test.ports import free_port

# `make test` installs Debian's chromium there; CHROMIUM names another Chromium-based browser.
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]  # fmt: skip
# Under `make test-dates` the browser keeps the real clock: libfaketime stops Chromium from
# starting, and only the server's dates are under test.
BROWSER_ENV: dict[str, str | float | bool] = {
    name: value for name, value in os.environ.items()
    if name != "LD_PRELOAD" and not name.startswith("FAKETIME")
}  # fmt: skip
TOKEN = "browser-admin-token"  # noqa: S105
# A desktop Chrome's User-Agent: headless Chromium names itself HeadlessChrome, which the bot
# list rightly catches (a test below checks that too).
DESKTOP_CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
PAGE = """<!doctype html><html><head><title>{title}</title><link rel="icon" href="data:,">
<script defer src="{tracker}/script.js" data-site="browsers"></script></head>
<body><h1>{title}</h1><a id="next" href="/b.html">next</a>
<button id="spa" onclick="history.pushState({{}}, '', '/spa.html')">spa</button></body></html>
"""


@pytest.fixture(scope="module", autouse=True)
def own_server_only(outside_deployment: bool) -> None:
    """Skip these tests when aimed at a deployment: they serve page-tracker beside the pages."""
    if outside_deployment:
        pytest.skip("the browser tests serve their own page-tracker beside the test pages")


@pytest.fixture(scope="module")
def tracker(redis_server: RedisServer) -> Iterator[ServeProcess]:
    """Serve page-tracker with an admin token, for a site of the test pages."""
    server = serve([], {**os.environ, "REDIS_URL": redis_server.url,
                        "PAGE_TRACKER_ADMIN_TOKEN": TOKEN})  # fmt: skip
    yield server
    server.stop()


@pytest.fixture(scope="module")
def pages(tracker: ServeProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Serve the test pages from a second origin (localhost, another port); return its URL."""
    root = tmp_path_factory.mktemp("site")
    for name in ("a", "b", "spa"):
        (root / f"{name}.html").write_text(PAGE.format(title=name, tracker=tracker.url))
    handler = partial(QuietHandler, directory=str(root))
    with ThreadingHTTPServer(("127.0.0.1", free_port()), handler) as httpd:
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        yield f"http://localhost:{httpd.server_address[1]}"
        httpd.shutdown()


class QuietHandler(SimpleHTTPRequestHandler):
    """Serve files without logging each request."""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Say nothing."""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), "make test installs Debian's chromium; run it first"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, env=BROWSER_ENV)
        yield browser
        browser.close()


def register(tracker: ServeProcess, name: str = "browsers") -> None:
    """Register a site on localhost (the test pages report to "browsers"), once per server."""
    answer = requests.post(
        f"{tracker.url}/api/sites", json={"name": name, "domains": ["localhost"]},
        headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5,
    )  # fmt: skip
    assert answer.status_code in (201, 409)


def stats_when(tracker: ServeProcess, views: int, timeout: float = 15) -> dict[str, Any]:
    """Return the site's stats once they show `views` views (beacons land asynchronously)."""
    deadline = time.monotonic() + timeout
    while True:
        answer = requests.get(
            f"{tracker.url}/api/sites/browsers/stats",
            headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5,
        )  # fmt: skip
        assert answer.status_code == 200, answer.text
        figures: dict[str, Any] = answer.json()
        if figures["totals"]["views"] >= views or time.monotonic() > deadline:
            return figures
        time.sleep(0.2)
