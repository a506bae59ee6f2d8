"""The tracking script in real headless Chromium, on a page served from another origin."""

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from playwright.sync_api import Browser, Page

from test.e2e.browser import (
    DESKTOP_CHROME,
    browser,
    own_server_only,
    pages,
    register,
    stats_when,
    tracker,
)
from test.e2e.serving import ServeProcess

pytestmark = pytest.mark.dates

__all__ = ["browser", "own_server_only", "pages", "tracker"]  # fixtures, used by name


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
    register(tracker)
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
    register(tracker)
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
    register(tracker)
    before = stats_when(tracker, 0)["totals"]["views"]
    context = browser.new_context(user_agent=DESKTOP_CHROME, extra_http_headers={"DNT": "1"})
    context.add_init_script("Object.defineProperty(Navigator.prototype, 'doNotTrack', "
                            "{get: () => '1'})")  # fmt: skip
    page = context.new_page()
    with beacon(page):
        page.goto(f"{pages}/b.html")
    context.close()
    assert stats_when(tracker, before + 1, timeout=1)["totals"]["views"] == before
