"""Website analytics against a real Redis: ingest rules, sites, tokens and figures."""

import calendar
import csv
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
import redis
from flask import Flask
from redis.crc import key_slot

from page_tracker.extensions import CLOCK
from test.client import Client
from test.clock import Clock, day, last
from test.conftest import MakeApp

pytestmark = pytest.mark.dates

ADMIN = {"Authorization": "Bearer s3rver-admin-token"}
# 23:30 in Auckland, on its last day that has reached 23:30: the same date in UTC (10:30 or
# 11:30).  Every date below is counted from it, so the tests hold on whatever day they run.
NOW = last(23, 30, "Pacific/Auckland")
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def app(make_app: MakeApp, clock: Clock) -> Flask:
    app = make_app({"RATE_LIMIT": "", "ADMIN_TOKEN": "s3rver-admin-token"})
    app.extensions[CLOCK] = clock
    return app


def add_site(client: Client, **settings: Any) -> dict[str, Any]:
    body = {"name": "blog", "domains": ["example.com"], **settings}
    response = client.post("/api/sites", json=body, headers=ADMIN)
    assert response.status_code == 201, response.json
    return response.json  # type: ignore[no-any-return]


def view(
    client: Client, url: str = "https://example.com/a", *, site: str = "blog",
    agent: str = CHROME, ip: str = "192.0.2.1", headers: dict[str, str] | None = None,
    **fields: Any,
) -> Any:  # fmt: skip
    # The script posts text/plain (a CORS-safe type): the body is parsed as JSON all the same.
    body = json.dumps({"site": site, "url": url, **fields})
    return client.post(
        "/api/event", data=body, content_type="text/plain;charset=UTF-8",
        headers={"User-Agent": agent, "Origin": "https://example.com", **(headers or {})},
        environ_base={"REMOTE_ADDR": ip},
    )  # fmt: skip


def stats(client: Client, query: str = "", headers: dict[str, str] = ADMIN) -> Any:
    response = client.get(f"/api/sites/blog/stats{query}", headers=headers)
    assert response.status_code == 200, response.json
    return response.json


def test_a_registered_site_counts_views_pages_referrers_and_agents(client: Client) -> None:
    site = add_site(client)
    assert site["domains"] == ["example.com"]
    assert site["tz"] == "UTC"
    assert view(client, referrer="https://news.example.org/item?id=1").status_code == 202
    view(client, "https://www.example.com/b?utm_source=Newsletter", agent=IPHONE, ip="192.0.2.2")
    view(client, "https://example.com/b", referrer="https://example.com/a")  # self-referral
    figures = stats(client)
    assert figures["totals"] == {"views": 3, "visitors": 2, "bots": 0}
    assert figures["pages"] == [
        {"page": "/b", "views": 2, "visitors": 2}, {"page": "/a", "views": 1, "visitors": 1},
    ]  # fmt: skip
    assert figures["referrers"] == [{"referrer": "news.example.org", "views": 1}]
    assert figures["sources"] == [{"source": "newsletter", "views": 1}]
    assert {entry["browser"] for entry in figures["browsers"]} == {"Chrome", "Mobile Safari"}
    assert {entry["os"] for entry in figures["os"]} == {"Windows", "iOS"}
    assert figures["devices"] == [
        {"device": "desktop", "views": 2}, {"device": "mobile", "views": 1},
    ]  # fmt: skip


def test_nothing_identifying_is_stored(client: Client, backend_redis: redis.Redis) -> None:
    add_site(client)
    view(client, "https://example.com/a?email=someone@example.org", ip="203.0.113.77")
    dump = json.dumps(
        [cast(bytes, backend_redis.dump(name)).hex() for name in backend_redis.keys("pt:*")]
    )
    for secret in ("203.0.113.77", "someone", "Chrome/131", CHROME):
        assert secret.encode().hex() not in dump


@pytest.mark.parametrize(
    ("headers", "fields"),
    [({"DNT": "1"}, {}), ({"Sec-GPC": "1"}, {}), ({}, {"dnt": True})],
)
def test_do_not_track_and_gpc_are_honoured_by_default(
    client: Client, headers: dict[str, str], fields: dict[str, Any]
) -> None:
    add_site(client)
    answer = view(client, headers=headers, **fields)
    assert answer.status_code == 202
    assert "not counted" in answer.json["status"]
    assert stats(client)["totals"]["views"] == 0


def test_a_site_may_choose_to_count_do_not_track_visitors(client: Client) -> None:
    add_site(client, honor_dnt=False)
    view(client, headers={"DNT": "1"})
    assert stats(client)["totals"]["views"] == 1


def test_bots_are_counted_apart(client: Client) -> None:
    add_site(client)
    assert view(client, agent=GOOGLEBOT).json == {"status": "bot"}
    view(client, agent="")
    view(client)
    figures = stats(client)
    assert figures["totals"] == {"views": 1, "visitors": 1, "bots": 2}


def test_origins_and_pages_of_other_domains_are_refused(client: Client) -> None:
    add_site(client, domains=["example.com", "example.net"])
    assert view(client, "https://blog.example.net/x").status_code == 202  # a subdomain
    refused = view(client, headers={"Origin": "https://evil.test"})
    assert refused.status_code == 403
    assert "evil.test" in refused.json["message"]
    assert view(client, "https://notexample.com/").status_code == 403
    assert stats(client)["totals"]["views"] == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("not json", "JSON"),
        ("[]", "JSON object"),
        ('{"url": "https://example.com/"}', "site is required"),
        ('{"site": "blog"}', "url is required"),
        ('{"site": "blog", "url": "/relative"}', "absolute"),
        ('{"site": "blog", "url": "https://example.com/", "width": "wide"}', "width"),
        ('{"site": "blog", "url": "https://example.com/", "dnt": "yes"}', "dnt"),
    ],
)
def test_malformed_events_are_400_with_the_reason(client: Client, body: str, message: str) -> None:
    add_site(client)
    answer = client.post("/api/event", data=body, content_type="text/plain")
    assert answer.status_code == 400
    assert message in answer.json["message"]


def test_unknown_sites_and_oversized_bodies(client: Client) -> None:
    assert view(client, site="nosuchsite").status_code == 404
    add_site(client)
    huge = json.dumps({"site": "blog", "url": "https://example.com/", "pad": "x" * 20_000})
    assert client.post("/api/event", data=huge, content_type="text/plain").status_code == 413


def test_days_follow_the_site_time_zone(client: Client, clock: Clock) -> None:
    add_site(client, tz="Pacific/Auckland")
    view(client)  # 23:30 in Auckland
    clock.now = NOW + timedelta(hours=1)  # 00:30 on the next day
    view(client)
    view(client, ip="192.0.2.9")
    figures = stats(client, f"?from={day(NOW)}&to={day(NOW, 1)}")
    assert figures["interval"] == "hour"
    by_hour = {point["time"]: point["views"] for point in figures["series"] if point["views"]}
    assert by_hour == {f"{day(NOW)}T23:00": 1, f"{day(NOW, 1)}T00:00": 2}
    days = stats(client, f"?from={day(NOW, -4)}&to={day(NOW, 1)}")["series"]
    assert [(d["time"], d["views"], d["visitors"]) for d in days[-2:]] == [
        (day(NOW), 1, 1), (day(NOW, 1), 2, 2),
    ]  # fmt: skip
    assert stats(client, "?tz=Pacific/Auckland")["tz"] == "Pacific/Auckland"
    other = client.get("/api/sites/blog/stats?tz=Europe/Paris", headers=ADMIN)
    assert other.status_code == 400
    assert "Pacific/Auckland" in other.json["message"]


def test_every_key_expires_after_the_retention_and_shares_the_site_slot(
    client: Client, backend_redis: redis.Redis
) -> None:
    add_site(client, retention_days=30)
    view(client, referrer="https://elsewhere.test/", agent=CHROME)
    waiting = cast(list[str], backend_redis.keys("pt:{blog}:inbox*"))
    stats(client)  # a read counts what waits in the inbox first
    written = cast(list[str], backend_redis.keys("pt:{blog}:a:*"))
    assert {key_slot(name.encode()) for name in written + waiting} == {key_slot(b"blog")}
    (now,) = [name for name in written if ":a:now:" in name]
    written.remove(now)
    months = [name for name in written if f":a:{NOW:%Y-%m}:" in name]
    assert len(months) == 2  # the month's pages and referrers

    # Lifetimes are given relative to the app's clock, so they hold whatever Redis's clock says.
    def lives_until(name: str, deadline: datetime) -> bool:
        planned = deadline.timestamp() - NOW.timestamp()
        return planned - 5 <= backend_redis.ttl(name) <= planned

    # A month's rankings live until its last day is older than the retention: they expire at
    # the midnight that starts the 31st day after that last day.
    month_end = NOW.replace(day=calendar.monthrange(NOW.year, NOW.month)[1], hour=0, minute=0)
    assert all(lives_until(name, month_end + timedelta(days=31)) for name in months)
    days = sorted(set(written) - set(months))
    assert len(days) == 6  # day counts, pages, referrers, visitors, hour and page visitors
    # A day's data lives until the end of its 30th day after.
    midnight = NOW.replace(hour=0, minute=0)
    assert all(lives_until(name, midnight + timedelta(days=31)) for name in days)
    # Visitors "right now" are kept for five minutes from the minute of the view.
    assert lives_until(now, NOW.replace(second=0) + timedelta(minutes=5))


def test_unique_visitors_are_counted_within_hyperloglog_error(client: Client) -> None:
    add_site(client, retention_days=30)
    token = client.post("/api/sites/blog/tokens", json={"scope": "ingest"}, headers=ADMIN).json
    events = [
        {"site": "blog", "url": f"/page/{n % 50}", "ip": f"10.0.{n % 2000 // 250}.{n % 250}",
         "user_agent": CHROME}
        for n in range(5000)
    ]  # fmt: skip
    for start in range(0, 5000, 1000):
        answer = client.post(
            "/api/events", json=events[start : start + 1000],
            headers={"Authorization": f"Bearer {token['token']}"},
        )  # fmt: skip
        assert answer.json["accepted"] == 1000
    totals = stats(client)["totals"]
    assert totals["views"] == 5000
    assert abs(totals["visitors"] - 2000) <= 2000 * 0.0081 * 3  # three standard errors


def test_batches_need_a_token_and_answer_each_event(client: Client, clock: Clock) -> None:
    add_site(client)
    client.post("/api/sites", json={"name": "shop", "domains": ["shop.test"]}, headers=ADMIN)
    events = [
        {"site": "blog", "url": "/from-logs", "timestamp": (NOW - timedelta(days=2)).timestamp()},
        {"site": "blog", "url": "https://example.com/now", "user_agent": GOOGLEBOT},
        {"site": "blog", "url": "https://elsewhere.test/"},
        {"site": "shop", "url": "/cart"},
        {"site": "nosuchsite", "url": "/"},
        {"site": "blog", "url": "/future", "timestamp": (NOW + timedelta(days=1)).timestamp()},
        {"site": "blog", "url": "/", "ip": "not-an-ip"},
        "nonsense",
    ]
    assert client.post("/api/events", json=events).status_code == 401
    token = client.post("/api/sites/blog/tokens", json={"scope": "ingest"}, headers=ADMIN).json
    answer = client.post("/api/events", json={"events": events},
                         headers={"Authorization": f"Bearer {token['token']}"})  # fmt: skip
    assert answer.status_code == 202
    assert [result["status"] for result in answer.json["results"]] == [
        202, 202, 403, 403, 403, 400, 400, 400,
    ]  # fmt: skip
    assert answer.json["accepted"] == 2
    figures = stats(client, f"?from={day(NOW, -4)}&to={day(NOW)}")
    assert figures["totals"] == {"views": 1, "visitors": 0, "bots": 1}
    assert [d["views"] for d in figures["series"]] == [0, 0, 1, 0, 0]  # two days ago
    too_many = client.post("/api/events", json=[events[0]] * 1001, headers=ADMIN)
    assert too_many.status_code == 413
    assert client.post("/api/events", json={"no": "events"}, headers=ADMIN).status_code == 400


def test_read_tokens_see_one_site_and_stop_working_when_revoked(client: Client) -> None:
    add_site(client)
    client.post("/api/sites", json={"name": "shop", "domains": ["shop.test"]}, headers=ADMIN)
    made = client.post("/api/sites/blog/tokens", headers=ADMIN)
    assert made.status_code == 201
    read = {"Authorization": f"Bearer {made.json['token']}"}
    assert stats(client, headers=read)["site"] == "blog"
    assert client.get(f"/api/sites/blog/stats?token={made.json['token']}").status_code == 200
    assert client.get("/api/sites/shop/stats", headers=read).status_code == 403
    assert client.post("/api/sites/shop/tokens", headers=read).status_code == 403
    assert client.get("/api/sites/blog/stats").status_code == 401
    wrong = {"Authorization": "Bearer pt_" + made.json["id"] + "_guess"}
    assert client.get("/api/sites/blog/stats", headers=wrong).status_code == 401
    assert client.delete(f"/api/tokens/{made.json['id']}", headers=ADMIN).status_code == 200
    assert client.get("/api/sites/blog/stats", headers=read).status_code == 401
    assert client.delete(f"/api/tokens/{made.json['id']}", headers=ADMIN).status_code == 404


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"domains": []}, "domains"), ({"domains": ["not a host"]}, "domain"),
        ({"tz": "Mars/Olympus"}, "tz"), ({"retention_days": 0}, "retention_days"),
        ({"name": "x"}, "name"), ({"honor_dnt": "no"}, "honor_dnt"), ({"colour": 1}, "unknown"),
    ],
)  # fmt: skip
def test_sites_are_checked_when_registered(
    client: Client, settings: dict[str, Any], message: str
) -> None:
    answer = client.post("/api/sites", json={"name": "blog", "domains": ["a.test"], **settings},
                         headers=ADMIN)  # fmt: skip
    assert answer.status_code == 400
    assert message in answer.json["message"]


def test_sites_are_managed_with_an_admin_token(client: Client) -> None:
    assert client.post("/api/sites", json={"name": "blog"}).status_code == 401
    add_site(client)
    again = client.post("/api/sites", json={"name": "blog", "domains": ["a.test"]}, headers=ADMIN)
    assert again.status_code == 409
    assert client.get("/api/sites", headers=ADMIN).json == {"sites": ["blog"]}
    assert client.get("/api/sites/blog", headers=ADMIN).json["domains"] == ["example.com"]
    assert client.get("/api/sites/nosuchsite", headers=ADMIN).status_code == 404


def test_ranges_are_checked(client: Client) -> None:
    add_site(client)
    for query in ("?from=yesterday", f"?from={day(NOW)}&to={day(NOW, -23)}",
                  f"?from={day(NOW, -4000)}"):  # fmt: skip
        answer = client.get(f"/api/sites/blog/stats{query}", headers=ADMIN)
        assert answer.status_code == 400, query


def test_export_csv_has_the_figures_of_stats(client: Client) -> None:
    add_site(client)
    view(client, referrer="https://news.example.org/")
    first, last = day(NOW, -4), day(NOW)
    answer = client.get(f"/api/sites/blog/export.csv?from={first}&to={last}", headers=ADMIN)
    assert answer.mimetype == "text/csv"
    assert f"blog-{first}-{last}.csv" in answer.headers["Content-Disposition"]
    table = list(csv.reader(io.StringIO(answer.text)))
    assert table[0] == ["section", "name", "views", "visitors"]
    assert ["total", "", "1", "1"] in table
    assert ["day", last, "1", "1"] in table
    assert ["page", "/a", "1", "1"] in table
    assert ["referrer", "news.example.org", "1", ""] in table


def test_the_script_is_small_cacheable_and_cookie_free(client: Client) -> None:
    script = client.get("/script.js")
    assert script.mimetype == "text/javascript"
    assert len(script.data) < 2048
    for api in (b"document.cookie", b"localStorage", b"sessionStorage", b"indexedDB"):
        assert api not in script.data
    assert "Set-Cookie" not in script.headers
    again = client.get("/script.js", headers={"If-None-Match": script.headers["ETag"]})
    assert again.status_code == 304


def test_the_pixel_counts_pages_without_javascript(client: Client) -> None:
    add_site(client)
    pixel = client.get(
        "/p.gif?site=blog&url=https://example.com/nojs&ref=https://news.example.org/",
        headers={"User-Agent": CHROME},
    )  # fmt: skip
    assert pixel.status_code == 202
    assert pixel.mimetype == "image/gif"
    assert pixel.headers["Cache-Control"] == "no-store"
    from_referer = client.get(
        "/p.gif?site=blog", headers={"User-Agent": CHROME, "Referer": "https://example.com/x"}
    )  # fmt: skip
    assert from_referer.status_code == 202
    refused = client.get("/p.gif?site=blog", headers={"Referer": "https://evil.test/"})
    assert refused.status_code == 403
    assert {page["page"] for page in stats(client)["pages"]} == {"/nojs", "/x"}


def test_beacons_from_any_origin_may_ask_and_preflight(client: Client) -> None:
    answer = client.options("/api/event", headers={"Origin": "https://example.com"})
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    assert "Content-Type" in answer.headers["Access-Control-Allow-Headers"]


def test_an_admin_batch_may_feed_several_sites_at_once(client: Client) -> None:
    add_site(client)
    client.post("/api/sites", json={"name": "shop", "domains": ["shop.test"]}, headers=ADMIN)
    events = [
        {"site": "blog", "url": "/a", "user_agent": CHROME, "ip": "192.0.2.1"},
        {"site": "shop", "url": "https://shop.test/cart", "user_agent": IPHONE},
        {"site": "blog", "url": "/dnt", "dnt": True},
        {"site": "nosuchsite", "url": "/"},
    ]
    answer = client.post("/api/events", json=events, headers=ADMIN)
    assert [result["status"] for result in answer.json["results"]] == [202, 202, 202, 404]
    assert stats(client)["totals"] == {"views": 1, "visitors": 1, "bots": 0}
    shop = client.get("/api/sites/shop/stats", headers=ADMIN).json
    assert shop["pages"] == [{"page": "/cart", "views": 1, "visitors": 1}]
    assert shop["devices"] == [{"device": "mobile", "views": 1}]


def test_rankings_over_whole_months_agree_with_the_days(client: Client) -> None:
    add_site(client)
    events = [
        {"site": "blog", "url": f"/p{n % 3}", "referrer": f"https://r{n % 2}.test/",
         "timestamp": (NOW - timedelta(days=n % 50)).timestamp()}
        for n in range(150)
    ]  # fmt: skip
    assert client.post("/api/events", json=events, headers=ADMIN).json["accepted"] == 150
    # All of last month, read from its month's sets, and a day on either side.
    this_month = NOW.date().replace(day=1)
    first = (this_month - timedelta(days=1)).replace(day=1) - timedelta(days=1)
    figures = stats(client, f"?from={first}&to={this_month}")
    in_range = [
        e
        for e in events
        if first <= datetime.fromtimestamp(cast(float, e["timestamp"]), UTC).date() <= this_month
    ]
    expected = {page: sum(e["url"] == page for e in in_range) for page in ("/p0", "/p1", "/p2")}
    assert {entry["page"]: entry["views"] for entry in figures["pages"]} == expected
    assert sum(entry["views"] for entry in figures["referrers"]) == len(in_range)
    assert figures["totals"]["views"] == len(in_range)
