"""The dashboard against a real Redis: sign-in, pages, CSRF, share links and live updates."""

import html
import re
import threading
import time
from datetime import timedelta

import pytest
import redis
from flask import Flask

from page_tracker.extensions import CLOCK, METRICS, REDIS
from page_tracker.services import sessions, sites
from page_tracker.web.endpoints import ENDPOINTS
from test.client import Client, client_of
from test.clock import Clock, day
from test.conftest import MakeApp
from test.integration.test_analytics import ADMIN, CHROME, NOW, add_site, view
from test.scrape import scrape, value

pytestmark = pytest.mark.dates

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def app(make_app: MakeApp) -> Flask:
    app = make_app(
        {
            "RATE_LIMIT": "",
            "ADMIN_TOKEN": "s3rver-admin-token",
            "LIVE_STREAM_SECONDS": 2,
            "METRICS_PORT": 9464,  # measured, so that the tests of live streams see the metrics
        }
    )
    app.extensions[CLOCK] = Clock(NOW)
    return app


def csrf_token(client: Client, path: str = "/dashboard/login") -> str:
    match = CSRF.search(client.get(path).text)
    assert match is not None
    return match.group(1)


def sign_in(client: Client, token: str = "s3rver-admin-token") -> None:  # noqa: S107
    answer = client.post(
        "/dashboard/login", data={"token": token, "csrf_token": csrf_token(client)}
    )
    assert answer.status_code == 302, answer.text


def test_pages_need_a_signed_in_token(client: Client) -> None:
    answer = client.get("/dashboard/sites/blog")
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith("/dashboard/login")


def test_signing_in_sets_a_strict_cookie_and_lists_sites_and_counters(
    client: Client,
) -> None:
    add_site(client)
    client.get("/hit/site.one/home")
    form = {"token": "s3rver-admin-token", "csrf_token": csrf_token(client)}
    answer = client.post("/dashboard/login?next=/dashboard/sites/blog", data=form)
    assert answer.headers["Location"] == "/dashboard/sites/blog"
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain HTTP here; see the HTTPS test
    home = client.get("/dashboard/").text
    assert 'href="/dashboard/sites/blog?range=30d"' in home
    assert 'href="/dashboard/counters/site.one/home"' in home


def test_the_cookie_is_secure_over_https(client: Client) -> None:
    secure = client_of(client.application)
    page = secure.get("/dashboard/login", base_url="https://tracker.test")
    token = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
    form = {"token": "s3rver-admin-token", "csrf_token": token}
    answer = secure.post("/dashboard/login", data=form,
                         base_url="https://tracker.test",
                         headers={"Referer": "https://tracker.test/dashboard/login"})  # fmt: skip
    assert answer.status_code == 302, answer.text
    assert "Secure" in answer.headers["Set-Cookie"]


def test_forms_without_the_csrf_token_are_refused(client: Client) -> None:
    assert client.post("/dashboard/login", data={"token": "s3rver-admin-token"}).status_code == 400
    sign_in(client)
    add_site(client)
    assert client.post("/dashboard/sites/blog/shares").status_code == 400
    assert client.post("/dashboard/logout").status_code == 400


# What the tests put in each part of a form's path.
PATH_PARTS = {"name": "blog", "token_id": "x", "token": "x", "secret": "x", "namespace": "site.one"}


def test_every_form_the_table_marks_refuses_a_post_without_its_csrf_token(
    client: Client, app: Flask
) -> None:
    sign_in(client)
    add_site(client)
    forms = [name for name, endpoint in ENDPOINTS.items() if endpoint.csrf]
    assert len(forms) >= 10
    for rule in app.url_map.iter_rules():
        if rule.endpoint in forms and "POST" in (rule.methods or ()):
            path = rule.build({part: PATH_PARTS.get(part, "home") for part in rule.arguments})
            assert path is not None
            answer = client.post(path[1])
            assert answer.status_code == 400, rule.endpoint
            assert "CSRF" in answer.text, rule.endpoint


def test_a_wrong_token_is_refused(client: Client) -> None:
    answer = client.post(
        "/dashboard/login", data={"token": "nope", "csrf_token": csrf_token(client)}
    )
    assert answer.status_code == 401
    assert "not an admin or read token" in answer.text


def test_every_page_sends_the_security_headers(client: Client) -> None:
    for path in ("/dashboard/login", "/dashboard/sites/blog"):
        headers = client.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "no-referrer"


def test_the_site_page_shows_the_figures_of_the_stats_api(client: Client) -> None:
    add_site(client)
    view(client, referrer="https://news.example.org/")
    view(client, "https://example.com/b", ip="192.0.2.7")
    sign_in(client)
    for range_name in ("today", "7d", "30d", "12m"):
        page = client.get(f"/dashboard/sites/blog?range={range_name}").text
        first = re.search(r'name="from" value="([\d-]+)"', page).group(1)  # type: ignore[union-attr]
        api = client.get(f"/api/sites/blog/stats?from={first}", headers=ADMIN).json
        for figure in ("views", "visitors", "bots"):
            shown = re.search(rf'data-figure="{figure}">(\d+)<', page).group(1)  # type: ignore[union-attr]
            assert int(shown) == api["totals"][figure], (range_name, figure)
        assert "news.example.org" in page
        assert '<svg class="chart"' in page
    assert (
        "<td>/b</td>" in client.get(f"/dashboard/sites/blog?range=custom&from={day(NOW, -20)}").text
    )
    assert client.get("/dashboard/sites/blog?range=forever").status_code == 400
    assert client.get("/dashboard/sites/nosuchsite").status_code == 404


def test_a_read_token_sees_its_site_only(client: Client) -> None:
    add_site(client)
    client.post("/api/sites", json={"name": "shop", "domains": ["shop.test"]}, headers=ADMIN)
    token = client.post("/api/sites/blog/tokens", headers=ADMIN).json["token"]
    sign_in(client, token)
    assert client.get("/dashboard/sites/blog").status_code == 200
    assert client.get("/dashboard/sites/shop").status_code == 403
    assert client.get("/dashboard/counters/site.one/home").status_code == 403
    assert "shop" not in client.get("/dashboard/").text


def test_share_links_sign_in_to_one_site_and_stop_working_when_revoked(
    client: Client, app: Flask
) -> None:
    add_site(client)
    sign_in(client)
    made = client.post("/dashboard/sites/blog/shares", data={"csrf_token": csrf_token(client)})
    link = made.headers["Location"]
    assert link == "/dashboard/sites/blog"  # the new token is in no URL: history keeps URLs
    page = client.get(link).text
    shared = re.search(r"New link, shown once: <code>http://localhost(/dashboard/share/[^<]+)</code>",
                       page).group(1)  # type: ignore[union-attr]  # fmt: skip
    assert "New link" not in client.get(link).text
    friend = client_of(app)
    assert friend.get(shared).status_code == 200  # asks first
    assert friend.get("/dashboard/sites/blog").status_code == 302
    opened = friend.post(shared, data={"csrf_token": csrf_token(friend, shared)})
    assert opened.headers["Location"] == "/dashboard/sites/blog"
    assert friend.get("/dashboard/sites/blog").status_code == 200
    token_id = re.search(r"link ([0-9a-f]+)", page).group(1)  # type: ignore[union-attr]
    revoke = f"/dashboard/sites/blog/shares/{token_id}/revoke"
    assert client.post(revoke, data={"csrf_token": csrf_token(client)}).status_code == 302
    assert friend.get("/dashboard/sites/blog").status_code == 302  # signed out
    assert friend.get(shared).status_code == 404


def test_live_updates_stream_each_counted_view(client: Client, app: Flask) -> None:
    add_site(client)
    sign_in(client)
    stream = client.get("/dashboard/sites/blog/live", buffered=False)
    assert stream.mimetype == "text/event-stream"
    chunks = iter(stream.response)
    assert next(chunks) == b"retry: 2000\nevent: ready\ndata: live\n\n"
    # The subscription is made: another client's view is announced on it.
    sender = threading.Timer(0.2, lambda: view(client_of(app), agent=CHROME))
    sender.start()
    assert next(chunks) == b"event: views\ndata: 1\n\n"
    sender.join()
    started = time.monotonic()
    assert list(chunks)[-1:] in ([], [b": keep-alive\n\n"])
    assert time.monotonic() - started < 3  # LIVE_STREAM_SECONDS, then the browser reconnects
    stream.close()


def streams(app: Flask) -> tuple[float, float]:
    """Return the live streams open, and the dashboards sent to polling, as metrics tell."""
    found = scrape(app.extensions[METRICS].registry)
    return (
        value(found, "page_tracker_live_streams_open"),
        value(found, "page_tracker_live_streams_sent_to_polling_total"),
    )


def test_a_busy_worker_sends_browsers_to_polling(client: Client, app: Flask) -> None:
    add_site(client)
    sign_in(client)
    assert streams(app) == (0, 0)
    first = client.get("/dashboard/sites/blog/live", buffered=False)
    next(iter(first.response))
    assert streams(app) == (1, 0)
    busy = client.get("/dashboard/sites/blog/live")
    assert busy.status_code == 200  # an error status would show as an error in the console
    assert busy.text == "retry: 5000\nevent: busy\ndata: poll\n\n"
    assert streams(app) == (1, 1)
    first.close()
    assert streams(app) == (0, 1)
    figures = client.get("/dashboard/sites/blog/figures.json").json
    assert figures == {"totals": {"views": 0, "visitors": 0, "bots": 0}, "now": 0}


def test_visitors_now_count_the_last_five_minutes(client: Client, app: Flask) -> None:
    add_site(client)
    sign_in(client)
    view(client)
    view(client, ip="192.0.2.8")
    assert client.get("/dashboard/sites/blog/figures.json").json["now"] == 2
    app.extensions[CLOCK].now += timedelta(minutes=6)
    assert client.get("/dashboard/sites/blog/figures.json").json["now"] == 0


def test_counter_and_snippet_pages(client: Client) -> None:
    add_site(client)
    client.get("/hit/site.one/home")
    sign_in(client)
    counter = client.get("/dashboard/counters/site.one/home").text
    assert "![views](http://localhost/badge/site.one/home.svg)" in counter
    assert '<svg class="chart"' in counter
    assert client.get("/dashboard/counters/site.one/none").status_code == 404
    snippet = html.unescape(client.get("/dashboard/sites/blog/snippet").text)
    assert '<script defer src="http://localhost/script.js" data-site="blog"></script>' in snippet


def test_a_share_link_never_replaces_a_session_without_asking(
    client: Client, backend_redis: redis.Redis
) -> None:
    add_site(client)
    sign_in(client)
    client.post("/dashboard/sites/blog/shares", data={"csrf_token": csrf_token(client)})
    page = client.get("/dashboard/sites/blog").text
    shared = re.search(r"localhost(/dashboard/share/[^<]+)</code>", page).group(1)  # type: ignore[union-attr]
    assert "signs you out" in client.get(shared).text
    assert client.post(shared).status_code == 400  # no CSRF token: no sign-in
    assert "Make a share link" in client.get("/dashboard/sites/blog").text  # still the admin


def test_signing_out_ends_the_session_even_for_a_copy_of_its_cookie(
    client: Client, backend_redis: redis.Redis
) -> None:
    add_site(client)
    sign_in(client)
    cookie = client.get_cookie("session")
    assert cookie is not None
    (stored,) = backend_redis.keys("pt:session:*")
    assert 23 * 3600 < backend_redis.ttl(stored) <= 24 * 3600  # the idle timeout
    assert cookie.value not in stored  # Redis holds a hash of the id, not the id
    client.post("/dashboard/logout", data={"csrf_token": csrf_token(client, "/dashboard/")})
    assert backend_redis.keys("pt:session:*") == []
    thief = client_of(client.application)
    thief.set_cookie("session", cookie.value)
    assert thief.get("/dashboard/sites/blog").status_code == 302


def test_a_session_ends_when_idle_or_after_its_lifetime(
    client: Client, app: Flask, backend_redis: redis.Redis
) -> None:
    add_site(client)
    sign_in(client)
    assert client.get("/dashboard/sites/blog").status_code == 200
    app.extensions[CLOCK].now += timedelta(days=7, minutes=1)
    assert client.get("/dashboard/sites/blog").status_code == 302  # past its 7 days
    app.extensions[CLOCK].now -= timedelta(days=7, minutes=1)
    sign_in(client)
    backend_redis.delete(*backend_redis.keys("pt:session:*"))  # what an idle day does
    assert client.get("/dashboard/sites/blog").status_code == 302


def test_signed_in_pages_and_the_csv_are_never_cached(client: Client) -> None:
    add_site(client)
    view(client)
    sign_in(client)
    page = client.get("/dashboard/sites/blog?range=7d")
    assert page.headers["Cache-Control"] == "no-store"
    csv_link = re.search(r'href="(/dashboard/sites/blog/export.csv[^"]*)"', page.text)
    assert csv_link is not None
    table = client.get(html.unescape(csv_link.group(1)))
    assert table.status_code == 200
    assert table.mimetype == "text/csv"
    assert table.headers["Cache-Control"] == "no-store"
    for path in ("/api/sites/blog/stats", "/api/sites/blog/export.csv", "/api/sites"):
        assert client.get(path, headers=ADMIN).headers["Cache-Control"] == "no-store", path


def test_revoking_a_share_link_takes_only_that_sites_share_links(client: Client) -> None:
    add_site(client)
    sign_in(client)
    ingest = client.post("/api/sites/blog/tokens", json={"scope": "ingest"}, headers=ADMIN).json
    revoke = f"/dashboard/sites/blog/shares/{ingest['id']}/revoke"
    assert client.post(revoke, data={"csrf_token": csrf_token(client)}).status_code == 404
    batch = client.post("/api/events", json=[{"site": "blog", "url": "/a"}],
                        headers={"Authorization": f"Bearer {ingest['token']}"})  # fmt: skip
    assert batch.status_code == 202


@pytest.fixture
def first_run(make_app: MakeApp) -> Flask:
    """An app as `make run` starts it: no admin token configured."""
    app = make_app({"RATE_LIMIT": ""})
    app.extensions[CLOCK] = Clock(NOW)
    return app


def test_a_sign_in_link_signs_in_as_admin_once(first_run: Flask) -> None:
    secret = sessions.make_link(first_run.extensions[REDIS])
    link = f"/dashboard/sign-in/{secret}"
    browser = client_of(first_run)
    page = browser.get(link)
    assert page.status_code == 200
    assert browser.get("/dashboard/").status_code == 302  # opening the page signs nobody in
    assert browser.post(link).status_code == 400  # no CSRF token
    signed_in = browser.post(link, data={"csrf_token": csrf_token(browser, link)})
    assert signed_in.headers["Location"] == "/dashboard/"
    home = browser.get("/dashboard/")
    assert home.status_code == 200
    assert "Create an admin token" in home.text
    other = client_of(first_run)
    assert other.get(link).status_code == 404  # used up
    assert "used already or has expired" in other.get(link).text
    assert other.post(link, data={"csrf_token": csrf_token(other)}).status_code == 404


def test_a_link_sign_in_creates_an_admin_token_that_works(first_run: Flask) -> None:
    secret = sessions.make_link(first_run.extensions[REDIS])
    link = f"/dashboard/sign-in/{secret}"
    browser = client_of(first_run)
    browser.post(link, data={"csrf_token": csrf_token(browser, link)})
    form = {"scope": "admin", "csrf_token": csrf_token(browser, "/dashboard/")}
    made = browser.post("/dashboard/tokens", data=form)
    assert made.status_code == 200
    token = html.unescape(re.search(r'<code id="token">([^<]+)</code>', made.text).group(1))  # type: ignore[union-attr]
    assert sites.has_admin_token(first_run.extensions[REDIS])
    later = client_of(first_run)
    sign_in(later, token)
    assert later.get("/dashboard/").status_code == 200
    assert "Create an admin token" not in later.get("/dashboard/").text
    api = later.get("/api/sites", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 200


def test_a_sign_in_link_lasts_a_day(first_run: Flask) -> None:
    client = first_run.extensions[REDIS]
    secret = sessions.make_link(client)
    (name,) = client.keys("pt:sign-in-link:*")
    assert secret not in name  # only its hash is kept
    assert 0 < client.ttl(name) <= 24 * 3600


def test_only_an_admin_creates_admin_tokens(client: Client) -> None:
    add_site(client)
    made = client.post("/api/sites/blog/tokens", json={"scope": "read"}, headers=ADMIN)
    sign_in(client, made.json["token"])
    form = {"scope": "admin", "csrf_token": csrf_token(client, "/dashboard/")}
    refused = client.post("/dashboard/tokens", data=form)
    assert refused.status_code == 403


def test_an_admin_adds_a_site_with_the_form(client: Client) -> None:
    sign_in(client)
    form = {
        "name": "shop",
        "domains": "shop.test, www.shop.test",
        "tz": "Europe/Paris",
        "retention_days": "90",
        "honor_dnt": "on",
    }
    assert client.post("/dashboard/new-site", data=form).status_code == 400  # no CSRF token
    form["csrf_token"] = csrf_token(client, "/dashboard/new-site")
    added = client.post("/dashboard/new-site", data=form, follow_redirects=True)
    assert added.request.path == "/dashboard/sites/shop/snippet"
    assert "Site shop added" in added.text
    assert 'data-site="shop"' in html.unescape(added.text)
    site = sites.load(client.application.extensions[REDIS], "shop")
    assert (site.domains, site.tz, site.retention_days, site.honor_dnt) == (
        ("shop.test", "www.shop.test"),
        "Europe/Paris",
        90,
        True,
    )


@pytest.mark.parametrize(
    ("field", "value", "said"),
    [
        ("domains", "com", "domain must be a host name"),
        ("tz", "Mars/Olympus", "tz must be"),
        ("retention_days", "many", "retention_days must be an integer"),
        ("name", "x", "name must be 3 to 64"),
    ],
)
def test_the_site_form_shows_an_error_beside_its_field(
    client: Client, field: str, value: str, said: str
) -> None:
    sign_in(client)
    form = {
        "name": "shop",
        "domains": "shop.test",
        "tz": "UTC",
        "retention_days": "30",
        field: value,
        "csrf_token": csrf_token(client, "/dashboard/new-site"),
    }
    refused = client.post("/dashboard/new-site", data=form)
    assert refused.status_code == 400
    error = re.search(rf'id="{field}-error" role="alert">([^<]+)<', refused.text)
    assert error is not None, refused.text
    assert said in html.unescape(error.group(1))
    assert f'value="{value}"' in refused.text  # what was typed stays in the form
    assert client.application.extensions[REDIS].exists("pt:site:shop") == 0


def test_a_site_name_is_taken_once(client: Client) -> None:
    add_site(client)
    sign_in(client)
    form = {
        "name": "blog",
        "domains": "blog.test",
        "retention_days": "365",
        "csrf_token": csrf_token(client, "/dashboard/new-site"),
    }
    refused = client.post("/dashboard/new-site", data=form)
    assert refused.status_code == 400
    assert "site blog already exists" in refused.text


def test_an_admin_creates_and_revokes_tokens_with_the_forms(client: Client, app: Flask) -> None:
    add_site(client)
    sign_in(client)
    form = {"scope": "read", "site": "blog"}
    assert client.post("/dashboard/tokens", data=form).status_code == 400  # no CSRF token
    made = client.post("/dashboard/tokens", data={**form, "csrf_token": csrf_token(client)})
    assert made.status_code == 200
    token = re.search(r'<code id="token">([^<]+)</code>', made.text).group(1)  # type: ignore[union-attr]
    listed = client.get("/dashboard/tokens").text
    (token_id,) = re.findall(r'aria-label="Revoke ([0-9a-f]+)"', listed)
    reader = client_of(app)
    sign_in(reader, token)
    assert reader.get("/dashboard/sites/blog").status_code == 200
    revoke = f"/dashboard/tokens/{token_id}/revoke"
    assert client.post(revoke).status_code == 400  # no CSRF token
    revoked = client.post(revoke, data={"csrf_token": csrf_token(client)}, follow_redirects=True)
    assert f"Token {token_id} revoked." in revoked.text
    assert reader.get("/dashboard/sites/blog").status_code == 302  # signed out
    again = client.post(revoke, data={"csrf_token": csrf_token(client)})
    assert again.status_code == 404


def test_the_token_form_shows_what_is_wrong(client: Client) -> None:
    sign_in(client)
    form = {"scope": "read", "site": "", "csrf_token": csrf_token(client, "/dashboard/tokens")}
    refused = client.post("/dashboard/tokens", data=form)
    assert refused.status_code == 400
    assert "no site" in refused.text
    form["scope"] = "owner"
    refused = client.post("/dashboard/tokens", data=form)
    assert refused.status_code == 400
    assert "scope must be one of" in refused.text


def test_only_an_admin_sees_the_admin_forms(client: Client) -> None:
    add_site(client)
    made = client.post("/api/sites/blog/tokens", json={"scope": "read"}, headers=ADMIN)
    sign_in(client, made.json["token"])
    for path in ("/dashboard/new-site", "/dashboard/tokens"):
        assert client.get(path).status_code == 403


def test_an_admin_changes_a_sites_settings(client: Client) -> None:
    add_site(client)
    sign_in(client)
    settings = "/dashboard/sites/blog/settings"
    page = client.get(settings).text
    assert 'value="example.com"' in page
    form = {"domains": "example.com blog.example.org", "tz": "Asia/Tokyo", "retention_days": "30"}
    assert client.post(settings, data=form).status_code == 400  # no CSRF token
    saved = client.post(
        settings, data={**form, "csrf_token": csrf_token(client, settings)}, follow_redirects=True
    )
    assert saved.request.path == "/dashboard/sites/blog"
    assert "Settings of blog saved." in saved.text
    site = sites.load(client.application.extensions[REDIS], "blog")
    assert (site.domains, site.tz, site.retention_days, site.honor_dnt) == (
        ("example.com", "blog.example.org"),
        "Asia/Tokyo",
        30,
        False,  # the box was left unticked
    )
    refused = client.post(
        settings, data={**form, "tz": "Nowhere", "csrf_token": csrf_token(client, settings)}
    )
    assert refused.status_code == 400
    assert 'id="tz-error"' in refused.text
    assert sites.load(client.application.extensions[REDIS], "blog").tz == "Asia/Tokyo"


def test_deleting_a_site_takes_its_name_typed_and_leaves_a_namespace_alone(
    client: Client,
) -> None:
    add_site(client)
    redis_client = client.application.extensions[REDIS]
    made = client.post("/api/sites/blog/tokens", json={"scope": "read"}, headers=ADMIN)
    # A counter namespace of the same name as the site: its keys share the site's hash tag.
    assert client.get("/hit/blog/kept").json == {"value": 1}
    view(client, "https://example.com/")
    assert client.get("/api/sites/blog/stats", headers=ADMIN).json["totals"]["views"] == 1
    sign_in(client)
    delete = "/dashboard/sites/blog/delete"
    settings = "/dashboard/sites/blog/settings"
    assert client.post(delete, data={"confirm": "blog"}).status_code == 400  # no CSRF token
    wrong = client.post(delete, data={"confirm": "blo", "csrf_token": csrf_token(client, settings)})
    assert wrong.status_code == 400
    assert 'id="confirm-error"' in wrong.text
    assert "blog" in sites.names(redis_client)
    done = client.post(
        delete,
        data={"confirm": "blog", "csrf_token": csrf_token(client, settings)},
        follow_redirects=True,
    )
    assert done.request.path == "/dashboard/"
    assert "Site blog deleted" in done.text
    assert "blog" not in sites.names(redis_client)
    assert redis_client.keys("pt:{blog}:a:*") == []
    assert redis_client.keys("pt:{blog}:inbox*") == []
    assert client.get("/get/blog/kept").json == {"value": 1}  # the counter is not the site's
    reader = {"Authorization": f"Bearer {made.json['token']}"}
    assert client.get("/api/sites/blog/stats", headers=reader).status_code == 401


def test_an_admin_adds_a_counter_and_sees_its_admin_key_once(client: Client) -> None:
    sign_in(client)
    new = "/dashboard/new-counter"
    form = {"namespace": "docs", "key": "readme", "value": "41"}
    assert client.post(new, data=form).status_code == 400  # no CSRF token
    made = client.post(new, data={**form, "csrf_token": csrf_token(client, new)})
    assert made.status_code == 200
    admin_key = re.search(r'<code id="admin-key">([^<]+)</code>', made.text).group(1)  # type: ignore[union-attr]
    changed = client.post(
        "/update/docs/readme?amount=1", headers={"Authorization": f"Bearer {admin_key}"}
    )
    assert changed.json == {"value": 42}
    page = client.get("/dashboard/counters/docs/readme").text
    assert admin_key not in page
    assert "/badge/docs/readme.svg" in page
    again = client.post(new, data={**form, "csrf_token": csrf_token(client, new)})
    assert again.status_code == 400
    assert "already exists" in again.text


@pytest.mark.parametrize(
    ("field", "value", "said"),
    [
        ("namespace", "a b", "namespace must be 3 to 64"),
        ("key", "", "key must be 3 to 64"),
        ("value", "1e3", "value must be an integer"),
        ("value", str(2**63), "value must be an integer"),
    ],
)
def test_the_counter_form_shows_an_error_beside_its_field(
    client: Client, field: str, value: str, said: str
) -> None:
    sign_in(client)
    new = "/dashboard/new-counter"
    form = {"namespace": "docs", "key": "readme", "value": "0", field: value}
    refused = client.post(new, data={**form, "csrf_token": csrf_token(client, new)})
    assert refused.status_code == 400
    error = re.search(rf'id="{field}-error" role="alert">([^<]+)<', refused.text)
    assert error is not None, refused.text
    assert said in html.unescape(error.group(1))
    assert client.get("/get/docs/readme").status_code == 404


def test_an_admin_sets_and_resets_a_counter_from_its_page(client: Client) -> None:
    for _ in range(3):
        client.get("/hit/docs/readme")
    sign_in(client)
    page = "/dashboard/counters/docs/readme"
    action = f"{page}/set"
    assert client.post(action, data={"value": "10"}).status_code == 400  # no CSRF token
    done = client.post(
        action, data={"value": "10", "csrf_token": csrf_token(client, page)}, follow_redirects=True
    )
    assert "docs/readme is now 10 (it was 3)." in done.text
    assert client.get("/get/docs/readme").json == {"value": 10}
    refused = client.post(action, data={"value": "ten", "csrf_token": csrf_token(client, page)})
    assert refused.status_code == 400
    assert 'id="value-error"' in refused.text
    reset = client.post(
        action, data={"reset": "1", "csrf_token": csrf_token(client, page)}, follow_redirects=True
    )
    assert "docs/readme is now 0 (it was 10)." in reset.text
    assert client.get("/get/docs/readme").json == {"value": 0}
    missing = client.post(
        "/dashboard/counters/docs/nothing/set",
        data={"value": "1", "csrf_token": csrf_token(client, page)},
    )
    assert missing.status_code == 404


def test_home_shows_each_sites_figures_over_the_range_and_counter_totals(
    client: Client,
) -> None:
    add_site(client)
    add_site(client, name="shop", domains=["shop.test"])
    for ip in ("192.0.2.1", "192.0.2.2", "192.0.2.2"):
        assert view(client, ip=ip).status_code == 202
    client.get("/hit/docs/readme")
    client.get("/hit/docs/readme")
    sign_in(client)
    home = client.get("/dashboard/?range=7d").text
    row = re.search(r"blog</a>.*?<td>(\d+)</td><td>(\d+)</td><td>(.*?)</td>", home, re.S)
    assert row is not None, home
    assert (row.group(1), row.group(2)) == ("2", "3")  # visitors, views: the inbox was drained
    assert 'class="spark"' in row.group(3)
    assert "Views of blog, 7 days" in row.group(3)
    shop = re.search(r"shop</a>.*?<td>(\d+)</td><td>(\d+)</td>", home, re.S)
    assert shop is not None
    assert (shop.group(1), shop.group(2)) == ("0", "0")
    assert re.search(r"docs/readme</a></th><td>2</td>", home)
    assert 'aria-current="page">7 days' in home
    assert client.get("/dashboard/?range=forever").status_code == 404


def test_a_read_token_sees_its_site_alone_on_home(client: Client) -> None:
    add_site(client)
    add_site(client, name="shop", domains=["shop.test"])
    client.get("/hit/docs/readme")
    made = client.post("/api/sites/blog/tokens", json={"scope": "read"}, headers=ADMIN)
    sign_in(client, made.json["token"])
    home = client.get("/dashboard/").text
    assert ">blog</a>" in home
    assert ">shop</a>" not in home
    assert "docs/readme" not in home
    assert "Add a site" not in home
