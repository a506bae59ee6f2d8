"""A newcomer's first minutes in real headless Chromium, from a cold start without any token."""

import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from functools import partial
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize, expect

from test.e2e.browser import DESKTOP_CHROME, QuietHandler, browser, own_server_only
from test.e2e.serving import Serve, ServeProcess, environment_without_redis_url
from test.e2e.test_dashboard_browser import shot
from test.ports import free_port

__all__ = ["browser", "own_server_only"]  # fixtures, used by name
LINK = re.compile(r"(http://\S+/dashboard/sign-in/\S+)")


@pytest.fixture
def first_run(start_server: Serve, tmp_path: Path) -> ServeProcess:
    """`page-tracker serve` as `make run` starts it: an embedded Redis, no admin token."""
    environment = environment_without_redis_url()
    environment.pop("PAGE_TRACKER_ADMIN_TOKEN", None)
    return start_server(["--data-dir", str(tmp_path / "data")], environment)


@pytest.fixture
def origin(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """Serve a folder of pages from a second origin; yield the folder and its URL."""
    root = tmp_path / "pages"
    root.mkdir()
    handler = partial(QuietHandler, directory=str(root))
    with ThreadingHTTPServer(("127.0.0.1", free_port()), handler) as httpd:
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        yield root, f"http://localhost:{httpd.server_address[1]}"
        httpd.shutdown()


def desktop(browser: Browser) -> BrowserContext:
    return browser.new_context(user_agent=DESKTOP_CHROME, viewport={"width": 1280, "height": 900})


def add_site(page: Page, base: str, name: str, domain: str) -> None:
    page.goto(f"{base}/dashboard/new-site")
    page.fill("#name", name)
    page.fill("#domains", domain)
    page.get_by_role("button", name="Add the site").click()


def test_from_the_sign_in_link_to_a_tracked_page_without_a_token(
    browser: Browser, first_run: ServeProcess, origin: tuple[Path, str]
) -> None:
    link = LINK.search(first_run.logged())
    assert link is not None, first_run.logged()
    context = desktop(browser)
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    admin = context.new_page()
    admin.goto(link.group(1))
    shot(admin, "sign-in-link")
    admin.click("button[type=submit]")
    expect(admin).to_have_url(f"{first_run.url}/dashboard/")

    admin.get_by_role("link", name="Add a site").click()
    admin.fill("#name", "first.site")
    admin.fill("#domains", "localhost")
    admin.fill("#tz", "Europe/Paris")
    shot(admin, "new-site")
    admin.get_by_role("button", name="Add the site").click()
    expect(admin.locator("[role=status]")).to_contain_text("Site first.site added")
    snippet = admin.locator("pre code").first.inner_text()
    assert 'data-site="first.site"' in snippet
    admin.get_by_role("button", name="Copy").first.click()
    expect(admin.get_by_role("button", name="Copied")).to_be_visible()
    assert admin.evaluate("navigator.clipboard.readText()") == snippet
    shot(admin, "new-site-snippet")

    root, pages = origin
    (root / "index.html").write_text(f"<!doctype html><title>home</title>{snippet}<h1>home</h1>")
    visitor = desktop(browser).new_page()
    with visitor.expect_response(lambda answer: "/api/event" in answer.url) as beacon:
        visitor.goto(f"{pages}/index.html")
    assert beacon.value.status == 202

    admin.goto(f"{first_run.url}/dashboard/sites/first.site")
    expect(admin.locator('[data-figure="views"]')).to_have_text("1")


def test_a_read_token_made_in_the_browser_signs_in_until_it_is_revoked(
    browser: Browser, first_run: ServeProcess
) -> None:
    link = LINK.search(first_run.logged())
    assert link is not None
    admin = desktop(browser).new_page()
    admin.goto(link.group(1))
    admin.click("button[type=submit]")
    add_site(admin, first_run.url, "shared.site", "example.org")

    admin.goto(f"{first_run.url}/dashboard/tokens")
    admin.select_option("#scope", "read")
    admin.select_option("#site", "shared.site")
    admin.get_by_role("button", name="Create", exact=True).click()
    token = admin.locator("#token").inner_text()
    assert token.startswith("pt_")

    reader = desktop(browser).new_page()
    reader.goto(f"{first_run.url}/dashboard/login")
    reader.fill("#token", token)
    reader.click("button[type=submit]")
    expect(reader).to_have_url(f"{first_run.url}/dashboard/")
    reader.get_by_role("link", name="shared.site").click()
    expect(reader.locator("h1")).to_contain_text("shared.site")

    admin.goto(f"{first_run.url}/dashboard/tokens")
    shot(admin, "tokens")
    admin.get_by_role("button", name="Revoke").click()
    expect(admin.locator("[role=status]")).to_contain_text("revoked")

    reader.reload()
    expect(reader).to_have_url(re.compile(r"/dashboard/login"))


LOOKS = {
    "desktop": {"width": 1280, "height": 900},
    "phone": {"width": 390, "height": 844},
}


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("device", LOOKS)
def test_every_new_page_fits_a_phone_and_is_shot_in_each_look(
    browser: Browser, first_run: ServeProcess, device: str, scheme: str
) -> None:
    link = LINK.search(first_run.logged())
    assert link is not None
    viewport: ViewportSize = LOOKS[device]  # type: ignore[assignment]
    context = browser.new_context(
        user_agent=DESKTOP_CHROME,
        viewport=viewport,
        color_scheme=scheme,  # type: ignore[arg-type]
    )
    page: Page = context.new_page()
    base = first_run.url

    def look(name: str) -> None:
        # Nothing is wider than the screen: the page does not scroll sideways.
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"], name
        shot(page, f"{name}-{device}-{scheme}")

    page.goto(link.group(1))
    look("sign-in-link")
    page.get_by_role("button", name="Sign in").click()
    add_site(page, base, "look.site", "localhost")
    add_site(page, base, "look.site", "localhost")  # again: the name is taken
    expect(page.locator("#name-error")).to_contain_text("already exists")
    look("new-site-error")
    page.goto(f"{base}/dashboard/sites/look.site/settings")
    look("site-settings")
    page.goto(f"{base}/dashboard/tokens")
    page.select_option("#site", "look.site")
    page.get_by_role("button", name="Create", exact=True).click()
    look("token-made")
    page.goto(f"{base}/dashboard/tokens")
    look("tokens")
    page.goto(f"{base}/dashboard/new-counter")
    page.fill("#key", "readme")
    page.get_by_role("button", name="Add the counter").click()
    look("counter-made")
    page.goto(f"{base}/dashboard/counters/default/readme")
    look("counter")
    page.goto(f"{base}/dashboard/")
    look("home")
    context.close()


def test_the_demo_fills_the_dashboard_of_a_running_serve(
    browser: Browser, first_run: ServeProcess, tmp_path: Path
) -> None:
    command = Path(sys.executable).with_name("page-tracker")
    filled = subprocess.run(
        [str(command), "--data-dir", str(tmp_path / "data"), "demo", "--views", "5000"],
        env=environment_without_redis_url(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert filled.returncode == 0, filled.stderr
    link = LINK.search(first_run.logged())
    assert link is not None
    admin = desktop(browser).new_page()
    admin.goto(link.group(1))
    admin.click("button[type=submit]")
    row = admin.locator("table.overview tr", has_text="demo")
    expect(row.locator("td").nth(1)).not_to_have_text("0")
    shot(admin, "home-demo")
    admin.get_by_role("link", name="demo", exact=True).click()
    expect(admin.locator('[data-figure="views"]')).not_to_have_text("0")
    shot(admin, "site-demo")
    admin.get_by_role("link", name="Settings").click()
    expect(admin.locator("#domains")).to_have_value("demo.page-tracker.test")
    shot(admin, "site-settings")


def test_the_admin_forms_work_with_javascript_off(
    browser: Browser, first_run: ServeProcess
) -> None:
    link = LINK.search(first_run.logged())
    assert link is not None
    context = browser.new_context(user_agent=DESKTOP_CHROME, java_script_enabled=False)
    page = context.new_page()
    page.goto(link.group(1))
    page.get_by_role("button", name="Sign in").click()
    add_site(page, first_run.url, "plain.site", "plain.test")
    expect(page.locator("[role=status]")).to_contain_text("Site plain.site added")
    expect(page.get_by_role("button", name="Copy")).to_have_count(0)  # no script, no button
    assert 'data-site="plain.site"' in page.locator("pre code").first.inner_text()
    page.goto(f"{first_run.url}/dashboard/new-counter")
    page.fill("#key", "plain")
    page.get_by_role("button", name="Add the counter").click()
    expect(page.locator("#admin-key")).not_to_be_empty()
    context.close()
