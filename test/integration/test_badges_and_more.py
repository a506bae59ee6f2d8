"""Badges, import and export, the rate limit, the OpenAPI contract and a CountAPI client."""

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import cast

import pytest
import redis
from click.testing import CliRunner
from flask import Flask

from page_tracker.cli import main
from page_tracker.embedded import RedisServer
from page_tracker.web.badge_svg import text_width
from page_tracker.web.busy.fast import RULES
from page_tracker.web.management.openapi import document
from test.client import Client, client_of
from test.conftest import MakeApp

pytestmark = pytest.mark.dates


@pytest.fixture
def app(make_app: MakeApp) -> Flask:
    return make_app({"RATE_LIMIT": "", "ADMIN_TOKEN": "t0ken-admin-token"})


ADMIN = {"Authorization": "Bearer t0ken-admin-token"}


@pytest.mark.parametrize("style", ["flat", "flat-square", "plastic", "for-the-badge"])
def test_badge_counts_and_draws_an_uncacheable_svg(client: Client, style: str) -> None:
    response = client.get(f"/badge/site.one/home.svg?style={style}&label=readers")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert response.headers["Cache-Control"] == "no-cache, no-store, must-revalidate, max-age=0"
    svg = ET.fromstring(response.data)  # noqa: S314 - our own output
    assert svg.get("aria-label", "").lower() == "readers: 1"
    assert client.get("/get/site.one/home").json == {"value": 1}


def test_badge_width_follows_the_font_metrics(client: Client) -> None:
    narrow = ET.fromstring(client.get("/badge/site.one/aa1.svg?label=iii").data)  # noqa: S314
    wide = ET.fromstring(client.get("/badge/site.one/aa2.svg?label=WWW").data)  # noqa: S314
    difference = float(wide.get("width", 0)) - float(narrow.get("width", 0))
    assert difference == pytest.approx(text_width("WWW") - text_width("iii"), abs=1)


def test_badge_count_false_only_reads_and_base_offsets(client: Client) -> None:
    client.get("/hit/site.one/home")
    svg = client.get("/badge/site.one/home.svg?count=false&base=1000").text
    assert "views: 1001" in svg
    assert client.get("/get/site.one/home").json == {"value": 1}


def test_badge_shows_today_or_unique_visitors(client: Client) -> None:
    for address in ("192.0.2.1", "192.0.2.1", "192.0.2.2"):
        client.get("/hit/site.one/home", environ_base={"REMOTE_ADDR": address})
    assert "views: 2" in client.get("/badge/site.one/home.svg?count=false&show=unique").text
    assert "views: 3" in client.get("/badge/site.one/home.svg?count=false&show=today").text


@pytest.mark.parametrize(
    "query",
    ["color=notacolour", "labelColor=12345", "style=round", "show=all", "count=maybe",
     "base=x", "label=" + "x" * 65],
)  # fmt: skip
def test_bad_badge_options_are_400_before_anything_is_counted(client: Client, query: str) -> None:
    assert client.get(f"/badge/site.one/home.svg?{query}").status_code == 400
    assert client.get("/get/site.one/home").status_code == 404


def stored(client: redis.Redis) -> dict[str, object]:
    """Return every counter key's content (hashes as dicts, HyperLogLogs as bytes)."""
    raw = redis.Redis(connection_pool=client.connection_pool)
    contents: dict[str, object] = {}
    for name in cast(list[str], client.keys("pt:{*")):
        if client.type(name) == "hash":
            contents[name] = client.hgetall(name)
        else:
            contents[name] = raw.execute_command("GET", name, NEVER_DECODE=[])  # type: ignore[no-untyped-call]
    return contents


# The command line talks to a Redis by its URL: a real one.
@pytest.mark.parametrize("backend", ["real"], indirect=True)
def test_export_then_import_into_an_empty_redis_gives_identical_data(
    client: Client,
    backend_redis: redis.Redis,
    redis_server: RedisServer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    client.get("/create/site.one/admin-page?value=40")
    for address in ("192.0.2.1", "192.0.2.2", "192.0.2.3"):
        client.get("/hit/site.one/admin-page", environ_base={"REMOTE_ADDR": address})
        client.get("/hit/site.two/plain", environ_base={"REMOTE_ADDR": address})
    before = stored(backend_redis)
    monkeypatch.setenv("REDIS_URL", redis_server.url)
    exported = tmp_path / "counters.jsonl"
    runner = CliRunner()
    assert runner.invoke(main, ["export", "--output", str(exported)]).exit_code == 0
    assert len(exported.read_text().splitlines()) == 2
    backend_redis.flushall()
    result = runner.invoke(main, ["import", str(exported)])
    assert result.exit_code == 0, result.output
    # Everything but the namespace totals, which count hits as they happen, not counters.
    assert stored(backend_redis) == {k: v for k, v in before.items() if ":totals" not in k}
    assert runner.invoke(main, ["import", str(exported)]).output.startswith("imported 0")


def test_post_import_takes_csv_rows_from_a_dead_service(client: Client) -> None:
    rows = "namespace,key,value\nold.site,page-one,1234\nold.site,page-two,7\n"
    response = client.post("/import", data=rows, content_type="text/csv", headers=ADMIN)
    assert response.json == {"imported": 2, "skipped": 0}
    assert client.get("/hit/old.site/page-one").json == {"value": 1235}


@pytest.mark.parametrize(
    ("headers", "body", "status"),
    [
        ({}, "a,b,c\n", 401),
        ({"Authorization": "Bearer wrong"}, "a,b,c\n", 401),
        ({"Authorization": "Bearer caf\u00e9"}, "a,b,c\n", 401),
        (ADMIN, "old.site,page-one,many\n", 400),
        (ADMIN, "old.site,page-one\n", 400),
    ],
)
def test_post_import_refuses_bad_tokens_and_rows(
    client: Client, headers: dict[str, str], body: str, status: int
) -> None:
    response = client.post("/import", data=body, content_type="text/csv", headers=headers)
    assert response.status_code == status


def test_post_import_is_off_without_an_admin_token(make_app: MakeApp) -> None:
    app = make_app({"RATE_LIMIT": ""})
    response = client_of(app).post("/import", data="a,b,c", content_type="text/csv")
    assert response.status_code == 403


def test_rate_limit_sends_headers_then_429_with_retry_after(
    make_app: MakeApp, backend: str, backend_redis: redis.Redis
) -> None:
    client = make_app({"RATE_LIMIT": "3/minute"}).test_client()
    first = client.get("/hit/site.one/home")
    assert first.headers["RateLimit-Limit"] == "3"
    assert first.headers["RateLimit-Remaining"] == "2"
    client.get("/create/site.one/other")  # hits and creations share one budget
    client.get("/badge/site.one/home.svg")
    refused = client.get("/hit/site.one/home")
    assert refused.status_code == 429
    assert refused.is_json
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert client.get("/get/site.one/home").json == {"value": 2}  # reads are not limited
    # The client's budget is one number in the namespace's slot, named without its address.
    (budget,) = backend_redis.keys("pt:{site.one}:budget:writes:*")
    assert backend_redis.type(budget) == "string"
    assert "127.0.0.1" not in budget
    assert 0 < backend_redis.pttl(budget) <= 60_000


def _operation(path: str, method: str) -> dict[str, object]:
    paths: dict[str, dict[str, dict[str, object]]] = document()["paths"]
    for documented, operations in paths.items():
        pattern = re.sub(r"\\\{\w+\\\}", "[^/]+?", re.escape(documented))
        if re.fullmatch(pattern, path) and method in operations:
            return operations[method]
    raise AssertionError(f"{method.upper()} {path} is not documented")


def test_every_route_is_documented_and_every_documented_path_is_routed(app: Flask) -> None:
    routed = {
        (re.sub(r"<(\w+)>", r"{\1}", rule.rule), method.lower())
        # Both routers: Flask's, and the fast app's for hits, badges and beacons.
        for rule in [*app.url_map.iter_rules(), *RULES.iter_rules()]
        # The dashboard's HTML pages are for people; the document describes the API.
        if rule.endpoint != "static" and not rule.rule.startswith("/dashboard/")
        for method in rule.methods or ()
        if method not in {"HEAD", "OPTIONS"}
    }
    documented = {
        (path, method) for path, operations in document()["paths"].items() for method in operations
    }
    assert routed == documented


CALLS = [
    ("get", "/hit/site.one/home", {}), ("get", "/hit/ab", {}), ("get", "/get/site.one/none", {}),
    ("get", "/get/site.one/home", {}), ("get", "/create/site.one/made", {}),
    ("get", "/create/site.one/made", {}), ("get", "/info/site.one/home", {}),
    ("get", "/info/site.one/none", {}), ("post", "/set/site.one/home?value=1", {}),
    ("post", "/set/site.one/made?value=1", {"Authorization": "Bearer wrong"}),
    ("post", "/update/site.one/made?amount=0", {}), ("post", "/reset/site.one/none", {}),
    ("get", "/history/site.one/home", {}), ("get", "/history/site.one/home?days=0", {}),
    ("get", "/stats", {}), ("get", "/badge/site.one/home.svg", {}),
    ("get", "/badge/site.one/home.svg?color=x", {}), ("post", "/create", {}),
    ("post", "/import", ADMIN), ("get", "/openapi.json", {}), ("get", "/readyz", {}),
    ("get", "/script.js", {}), ("post", "/api/event", {}), ("get", "/p.gif", {}),
    ("post", "/api/events", {}), ("post", "/api/events", ADMIN), ("post", "/api/sites", ADMIN),
    ("get", "/api/sites", {}), ("get", "/api/sites", ADMIN), ("get", "/api/sites/none", ADMIN),
    ("post", "/api/sites/none/tokens", ADMIN), ("delete", "/api/tokens/abc", ADMIN),
    ("get", "/api/sites/none/stats", ADMIN), ("get", "/api/sites/none/export.csv", {}),
]  # fmt: skip


def test_every_status_the_api_answers_is_documented(client: Client) -> None:
    seen = set()
    for method, path, headers in CALLS:
        response = getattr(client, method)(path, headers=headers)
        operation = _operation(path.split("?")[0], method)
        assert str(response.status_code) in operation["responses"], (method, path)  # type: ignore[operator]
        seen.add(response.status_code)
    assert {200, 201, 400, 401, 403, 404, 409} <= seen


def test_a_countapi_client_works_unchanged(client: Client) -> None:
    # The calls and JSON shapes of a CountAPI/Abacus client, in the order such a client makes.
    made = client.get("/create?namespace=my.blog&key=visits&value=10").json
    assert made is not None
    assert set(made) == {"namespace", "key", "value", "admin_key"}
    assert client.get("/hit/my.blog/visits").json == {"value": 11}
    assert client.get("/get/my.blog/visits").json == {"value": 11}
    assert client.get("/hit/my.blog/visits?callback=cb").text == '/**/cb({"value":12});'
    token = made["admin_key"]
    assert client.post(f"/set/my.blog/visits?value=500&token={token}").json == {
        "old_value": 12, "value": 500,
    }  # fmt: skip
    assert client.post(f"/update/my.blog/visits?amount=5&token={token}").json == {"value": 505}
    info = client.get("/info/my.blog/visits").json
    assert info is not None
    assert {"namespace", "key", "value", "created", "expires_in"} <= set(info)
    assert json.loads(client.get("/stats").text)["counters"] == 1
