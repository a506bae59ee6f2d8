"""The tracking script in real headless Chromium, on a page served from another origin."""

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, Page, sync_playwright

from page_tracker.embedded import RedisServer, free_port
from test.e2e.serving import ServeProcess, serve

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]  # fmt: skip
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
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()


def register(tracker: ServeProcess, pages: str) -> None:
    answer = requests.post(
        f"{tracker.url}/api/sites", json={"name": "browsers", "domains": ["localhost"]},
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


@contextmanager
def beacon(page: Page) -> Iterator[None]:
    """Expect what the block does to send one beacon, and wait until it is answered.

    A beacon's answer has no body the page can read: what was counted shows in the stats.
    """
    with page.expect_response(lambda response: "/api/event" in response.url) as answer:
        yield
    assert answer.value.status == 202


def test_views_pages_and_referrer_from_a_real_browser(
    browser: Browser, tracker: ServeProcess, pages: str
) -> None:
    register(tracker, pages)
    context = browser.new_context(user_agent=DESKTOP_CHROME)
    page = context.new_page()
    errors: list[str] = []
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    page.on("requestfailed", lambda request: errors.append(f"failed: {request.url}"))
    with beacon(page):
        page.goto(f"{pages}/a.html", referer="https://news.example.org/story")
    with beacon(page):
        page.click("#spa")  # a single-page app's navigation: pushState
    with beacon(page):
        page.go_back()  # popstate, back to a.html in the same document
    with beacon(page):
        page.click("#next")
    assert page.url == f"{pages}/b.html"
    figures = stats_when(tracker, 4)
    context.close()
    assert figures["totals"]["views"] == 4
    assert {entry["page"]: entry["views"] for entry in figures["pages"]} == {
        "/a.html": 2, "/spa.html": 1, "/b.html": 1,
    }  # fmt: skip
    assert figures["totals"]["visitors"] == 1
    assert figures["referrers"] == [{"referrer": "news.example.org", "views": 1}]
    assert figures["browsers"] == [{"browser": "Chrome", "views": 4}]
    assert errors == []


def test_headless_browsers_are_counted_as_bots(
    browser: Browser, tracker: ServeProcess, pages: str
) -> None:
    register(tracker, pages)
    before = stats_when(tracker, 0)["totals"]
    context = browser.new_context()  # Chromium's own User-Agent: HeadlessChrome
    page = context.new_page()
    with beacon(page):
        page.goto(f"{pages}/b.html")
    context.close()
    after = stats_when(tracker, 0)["totals"]
    assert (after["views"], after["bots"]) == (before["views"], before["bots"] + 1)


def test_nothing_is_counted_with_do_not_track(
    browser: Browser, tracker: ServeProcess, pages: str
) -> None:
    register(tracker, pages)
    before = stats_when(tracker, 0)["totals"]["views"]
    context = browser.new_context(user_agent=DESKTOP_CHROME, extra_http_headers={"DNT": "1"})
    context.add_init_script("Object.defineProperty(Navigator.prototype, 'doNotTrack', "
                            "{get: () => '1'})")  # fmt: skip
    page = context.new_page()
    with beacon(page):
        page.goto(f"{pages}/b.html")
    context.close()
    assert stats_when(tracker, before + 1, timeout=1)["totals"]["views"] == before
