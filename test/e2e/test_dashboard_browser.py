"""The dashboard in real headless Chromium: sign in, figures as the API's, ranges, live views."""

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, Page, expect

from test.e2e.browser import (
    DESKTOP_CHROME,
    TOKEN,
    browser,
    own_server_only,
    pages,
    register,
    tracker,
)
from test.e2e.serving import ServeProcess

pytestmark = pytest.mark.dates

__all__ = ["browser", "own_server_only", "pages", "tracker"]  # fixtures, used by name
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
SITE = "dashboard.demo"  # its own site: the tracking tests count the views of theirs exactly
# Screenshots are test artifacts; the README links copies of them in docs/screenshots.
SCREENSHOTS = Path(os.environ.get("SCREENSHOT_DIR", "test-artifacts/screenshots"))


@pytest.fixture
def watched(browser: Browser) -> Iterator[tuple[Page, list[str]]]:
    """Open a page in a desktop context; collect console errors and failed requests."""
    context = browser.new_context(
        user_agent=DESKTOP_CHROME, viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)

    def failed(request: Any) -> None:
        # Leaving a page ends its live stream: the browser reports that one as aborted.
        if not (request.url.endswith("/live") and "ERR_ABORTED" in (request.failure or "")):
            problems.append(f"{request.url}: {request.failure}")

    page.on("requestfailed", failed)
    yield page, problems
    context.close()


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def api_totals(tracker: ServeProcess, page: Page) -> dict[str, int]:
    first, last = page.input_value('input[name="from"]'), page.input_value('input[name="to"]')
    answer = requests.get(f"{tracker.url}/api/sites/{SITE}/stats?from={first}&to={last}",
                          headers=ADMIN, timeout=5)  # fmt: skip
    totals: dict[str, int] = answer.json()["totals"]
    return totals


def shown_totals(page: Page) -> dict[str, int]:
    return {name: int(page.text_content(f'[data-figure="{name}"]') or "-1")
            for name in ("views", "visitors", "bots")}  # fmt: skip


def seed(tracker: ServeProcess) -> None:
    now = datetime.now(UTC)
    events = [
        {"site": SITE, "url": f"/post/{n % 7}", "ip": f"10.9.0.{n % 40}",
         "user_agent": DESKTOP_CHROME, "referrer": f"https://ref{n % 3}.example/",
         "timestamp": (now - timedelta(days=n % 20, hours=n % 5)).timestamp()}
        for n in range(300)
    ]  # fmt: skip
    answer = requests.post(f"{tracker.url}/api/events", json=events, headers=ADMIN, timeout=10)
    assert answer.json()["accepted"] == 300
    requests.get(f"{tracker.url}/hit/browsers.demo/readme", timeout=5)


def test_sign_in_see_the_api_figures_switch_range_and_watch_a_view_arrive(
    watched: tuple[Page, list[str]], tracker: ServeProcess, pages: str
) -> None:
    page, problems = watched
    register(tracker, SITE)
    seed(tracker)
    page.goto(f"{tracker.url}/dashboard/")
    assert "/dashboard/login" in page.url
    shot(page, "login")
    page.fill("#token", TOKEN)
    page.click("button[type=submit]")
    page.wait_for_url(f"{tracker.url}/dashboard/")
    shot(page, "home")
    page.get_by_role("link", name=SITE, exact=True).click()
    page.wait_for_selector("text=Live: figures update")
    assert shown_totals(page) == api_totals(tracker, page)
    assert page.text_content('[data-figure="views"]') != "0"
    shot(page, "site")
    page.click('nav.ranges >> text="7 days"')
    page.wait_for_url("**range=7d")
    page.wait_for_selector("text=Live: figures update")
    assert shown_totals(page) == api_totals(tracker, page)
    before = shown_totals(page)["views"]
    beacon = requests.post(
        f"{tracker.url}/api/event", data=f'{{"site": "{SITE}", "url": "http://localhost/live"}}',
        headers={"User-Agent": DESKTOP_CHROME, "Origin": "http://localhost"}, timeout=5,
    )  # fmt: skip
    assert beacon.status_code == 202
    expect(page.locator('[data-figure="views"]')).to_have_text(str(before + 1), timeout=10_000)
    page.click("text=Tracking snippet")
    page.wait_for_selector(f"text=Count the views of {SITE}")
    shot(page, "snippet")
    page.goto(f"{tracker.url}/dashboard/counters/browsers.demo/readme")
    page.wait_for_selector("text=Markdown:")
    shot(page, "counter")
    assert problems == []


def test_phone_width_in_dark_mode(browser: Browser, tracker: ServeProcess, pages: str) -> None:
    register(tracker, SITE)
    context = browser.new_context(user_agent=DESKTOP_CHROME, color_scheme="dark",
                                  viewport={"width": 390, "height": 844})  # fmt: skip
    page = context.new_page()
    page.goto(f"{tracker.url}/dashboard/login")
    page.fill("#token", TOKEN)
    page.click("button[type=submit]")
    page.goto(f"{tracker.url}/dashboard/sites/{SITE}")
    # Nothing is wider than the phone: the page does not scroll sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(13, 17, 23)"  # the dark palette
    shot(page, "site-phone-dark")
    context.close()
