"""Hostile and careless input against a real Redis: every bad body gets a 4xx that says why."""

import csv
import io
import json
from typing import Any

import pytest
import redis
from flask import Flask

from page_tracker.app import create_app
from page_tracker.embedded import RedisServer
from page_tracker.extensions import REDIS
from page_tracker.services import idempotency
from page_tracker.services.ingest import plans
from page_tracker.services.ingest.events import MAX_PAGE
from page_tracker.web.endpoints import MAX_IMPORT_BYTES
from test.client import Client, client_of
from test.integration.test_analytics import ADMIN, CHROME, add_site, app, clock, stats, view

__all__ = ["app", "clock"]  # fixtures, used by name

SURROGATE = "\\ud800"  # as JSON escapes it: the text a hostile client sends


def beacon(client: Client, body: str) -> Any:
    return client.post("/api/event", data=body, content_type="text/plain",
                       headers={"User-Agent": CHROME})  # fmt: skip


@pytest.mark.parametrize(
    "fields",
    [
        f'"url": "https://example.com/{SURROGATE}x"',
        f'"url": "https://example.com/", "referrer": "https://r{SURROGATE}.test/"',
        f'"url": "https://example.com/?utm_source={SURROGATE}"',
    ],
)
def test_a_lone_surrogate_is_refused_and_the_site_goes_on_counting(
    client: Client, fields: str
) -> None:
    add_site(client)
    answer = beacon(client, f'{{"site": "blog", {fields}}}')
    assert answer.status_code == 400
    assert "valid Unicode" in answer.json["message"]
    batch = client.post("/api/events", data=f'[{{"site": "blog", {fields}}}]',
                        content_type="application/json", headers=ADMIN)  # fmt: skip
    assert batch.status_code == 400
    assert view(client).status_code == 202
    assert stats(client)["totals"]["views"] == 1


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/api/event", "text/plain"),
        ("/api/events", "application/json"),
        ("/create", "application/json"),
        ("/api/sites", "application/json"),
    ],
)
@pytest.mark.parametrize(
    "body", ["[" * 100_000 + "]" * 100_000, '{"site": "blog", "url": NaN}', '[{"a": Infinity}]']
)
def test_json_too_deep_or_with_constants_is_400(
    client: Client, path: str, content_type: str, body: str
) -> None:
    answer = client.post(path, data=body, content_type=content_type, headers=ADMIN)
    assert answer.status_code in (400, 413)
    assert answer.json["message"]


def test_a_bad_timestamp_is_its_events_error_not_the_batchs(client: Client) -> None:
    add_site(client)
    events = [{"site": "blog", "url": "/ok"}] + [
        {"site": "blog", "url": "/bad", "timestamp": bad} for bad in (1e20, -1e20, -5)
    ]
    answer = client.post("/api/events", json=events, headers=ADMIN)
    assert answer.status_code == 202
    assert [result["status"] for result in answer.json["results"]] == [202, 400, 400, 400]
    assert answer.json["accepted"] == 1


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        ("null\n", "application/x-ndjson", "line 1: a record must be a JSON object"),
        ('{"namespace": "a.b", "key": "ccc", "value": 1}\n[1, 2]\n', "application/x-ndjson",
         "line 2"),
        ('{"namespace": "a.b", "key": "ccc", "value": 1, "created": "x", "expires_in": 5}',
         "application/x-ndjson", "created must be a whole number"),
        ("[[[[" * 10_000, "application/x-ndjson", "nested too deeply"),
        ("ns.one,key,\u0661\u0662\n", "text/csv", "not an integer"),
        ("ns.one,key,1_0\n", "text/csv", "not an integer"),
    ],
)  # fmt: skip
def test_imports_say_which_line_is_wrong(
    client: Client, body: str, content_type: str, message: str
) -> None:
    answer = client.post("/import", data=body, content_type=content_type, headers=ADMIN)
    assert answer.status_code == 400
    assert message in answer.json["message"]


def test_csv_rows_may_end_in_a_bare_carriage_return(client: Client) -> None:
    answer = client.post("/import", data="ns.one,kkk,1\rns.one,lll,2\r", content_type="text/csv",
                         headers=ADMIN)  # fmt: skip
    assert answer.json == {"imported": 2, "skipped": 0}


def test_a_chunked_import_is_held_to_the_limit(client: Client) -> None:
    body = io.BytesIO(b"ns.one,kkk,1\n" * (MAX_IMPORT_BYTES // 13 + 1))
    # A chunked body has no Content-Length: the server marks where it ends instead.
    answer = client.post("/import", input_stream=body, content_type="text/csv",
                         headers={**ADMIN, "Transfer-Encoding": "chunked"},
                         environ_overrides={"wsgi.input_terminated": True})  # fmt: skip
    assert answer.status_code == 413


@pytest.mark.parametrize("path", ["/create", "/dashboard/login", "/api/sites"])
def test_large_bodies_are_refused_before_they_are_parsed(client: Client, path: str) -> None:
    big = json.dumps({"name": "blog", "pad": "x" * 200_000})
    answer = client.post(path, data=big, content_type="application/json", headers=ADMIN)
    assert answer.status_code == 413
    if path != "/api/sites":  # which reads JSON alone
        form = client.post(path, data={"token": "x" * 200_000}, headers=ADMIN)
        assert form.status_code == 413


@pytest.mark.parametrize(
    "target", ["/dashboard%0d%0aX:y", "//evil.test/", "https://evil.test/", "/dashboard\x7f"]
)
def test_sign_in_goes_back_only_to_plain_dashboard_pages(client: Client, target: str) -> None:
    page = client.get("/dashboard/login").text
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    answer = client.post(f"/dashboard/login?next={target}",
                         data={"token": "s3rver-admin-token", "csrf_token": token})  # fmt: skip
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/dashboard/"


def test_csv_cells_never_start_a_formula_and_referrers_are_host_names(
    client: Client,
) -> None:
    add_site(client)
    view(client, "https://example.com/?utm_source=%3DHYPERLINK(%22x%22)",
         referrer="http://=1+2/")  # fmt: skip
    view(client, "https://example.com/?utm_source=%40sum", referrer="https://b\u00fccher.test/")
    view(client, "https://example.com/?utm_source=-3", referrer="http://[::1]:8/")
    table = client.get("/api/sites/blog/export.csv", headers=ADMIN).text
    cells = [cell for row in csv.reader(io.StringIO(table)) for cell in row]
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert {'\'=hyperlink("x")', "'@sum", "'-3"} <= set(cells)
    referrers = {entry["referrer"] for entry in stats(client)["referrers"]}
    assert referrers == {"(invalid)", "b\u00fccher.test", "::1"}


def test_origin_headers_are_capped_before_any_cache(client: Client) -> None:
    add_site(client)
    answer = view(client, headers={"Origin": "https://" + "a" * 60_000 + ".test"})
    assert answer.status_code == 400
    assert "Origin" in answer.json["message"]


def test_only_a_read_token_may_come_in_the_query_string(client: Client) -> None:
    add_site(client)
    ingest = client.post("/api/sites/blog/tokens", json={"scope": "ingest"}, headers=ADMIN).json
    read = client.post("/api/sites/blog/tokens", headers=ADMIN).json
    assert client.get("/api/sites/blog/stats?token=s3rver-admin-token").status_code == 401
    assert client.get("/api/sites?token=s3rver-admin-token").status_code == 401
    batch = client.post(f"/api/events?token={ingest['token']}", json=[])
    assert batch.status_code == 401
    assert client.get(f"/api/sites/blog/stats?token={read['token']}").status_code == 200


def test_browsers_may_not_send_tokens_across_origins(client: Client) -> None:
    asked = {"Origin": "https://evil.test", "Access-Control-Request-Method": "POST"}
    batch = client.options("/api/events", headers=asked)
    assert "Access-Control-Allow-Origin" not in batch.headers
    beacon = client.options("/api/event", headers=asked)
    assert beacon.headers["Access-Control-Allow-Origin"] == "*"
    assert "Authorization" not in beacon.headers["Access-Control-Allow-Headers"]


@pytest.mark.parametrize(
    ("settings", "status"),
    [
        ({"domains": ["com"]}, 400),
        ({"domains": ["example.123"]}, 400),
        ({"tz": "localtime"}, 400),
        ({"tz": "Factory"}, 400),
        ({"domains": ["localhost"]}, 201),
        ({"domains": ["192.0.2.10"]}, 201),
        ({"tz": "America/Argentina/Buenos_Aires"}, 201),
    ],
)
def test_sites_name_real_domains_and_places(
    client: Client, settings: dict[str, Any], status: int
) -> None:
    body = {"name": "blog", "domains": ["example.com"], **settings}
    assert client.post("/api/sites", json=body, headers=ADMIN).status_code == status


def limited_app(redis_server: RedisServer, **limits: str) -> Flask:
    return create_app({"REDIS_URL": redis_server.url, "RATE_LIMIT": "", "VIEW_RATE_LIMIT": "",
                       "AUTH_FAILURE_LIMIT": "", "ADMIN_TOKEN": "s3rver-admin-token",
                       **limits})  # fmt: skip


def test_beacons_and_pixels_spend_their_own_budget(
    redis_server: RedisServer, redis_client: redis.Redis
) -> None:
    app = limited_app(redis_server, VIEW_RATE_LIMIT="3/minute", RATE_LIMIT="100/minute")
    client = client_of(app)
    add_site(client)
    sent = [view(client).status_code for _ in range(2)]
    same = {"REMOTE_ADDR": "192.0.2.1"}  # the address `view` sends from
    pixel = "/p.gif?site=blog&url=https://example.com/x"
    sent.append(client.get(pixel, environ_base=same).status_code)
    refused = view(client)
    assert sent == [202, 202, 202]
    assert refused.status_code == 429
    assert refused.headers["Retry-After"]
    assert client.get(pixel, environ_base=same).status_code == 429
    assert client.get("/hit/site.one/home", environ_base=same).status_code == 200  # apart
    app.extensions[REDIS].close()


def test_tokens_that_do_not_work_are_throttled_per_address(
    redis_server: RedisServer, redis_client: redis.Redis
) -> None:
    app = limited_app(redis_server, AUTH_FAILURE_LIMIT="3/minute")
    client = client_of(app)
    add_site(client)
    made = client.get("/create/site.one/home").json
    wrong = {"Authorization": "Bearer pt_nope_guess"}
    tries = [client.get("/api/sites/blog/stats", headers=wrong).status_code for _ in range(2)]
    tries.append(client.post("/set/site.one/home?value=1", headers=wrong).status_code)
    assert tries == [401, 401, 401]
    # Now even the right token waits: a guesser cannot tell a hit from a miss.
    assert client.get("/api/sites/blog/stats", headers=ADMIN).status_code == 429
    right = {"Authorization": f"Bearer {made['admin_key']}"}
    assert client.post("/set/site.one/home?value=1", headers=right).status_code == 429
    other = client_of(app)
    assert other.get("/api/sites/blog/stats", headers=ADMIN,
                     environ_base={"REMOTE_ADDR": "192.0.2.99"}).status_code == 200  # fmt: skip
    app.extensions[REDIS].close()


def test_the_server_admin_may_free_a_counter_that_was_hit_before_it_was_created(
    client: Client,
) -> None:
    client.get("/hit/site.one/squat")  # made by a hit: no admin key
    assert client.get("/create/site.one/squat").status_code == 409
    assert client.post("/delete/site.one/squat").status_code == 403
    assert client.post("/delete/site.one/squat", headers=ADMIN).status_code == 200
    assert client.get("/create/site.one/squat").status_code == 201


def test_a_day_keeps_so_many_pages_and_counts_the_rest_as_other(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(plans, "MAX_DISTINCT_PER_DAY", 3)
    add_site(client)
    for page in ("/a", "/b", "/c", "/d", "/e"):
        view(client, f"https://example.com{page}", referrer=f"https://r{page[1]}.test/")
    stats(client)  # counts the inbox
    view(client, "https://example.com/a")  # known: still itself
    events = [{"site": "blog", "url": f"/batch{n}"} for n in range(3)]
    client.post("/api/events", json=events, headers=ADMIN)
    figures = stats(client)
    pages = {entry["page"]: entry["views"] for entry in figures["pages"]}
    assert pages == {"/a": 2, "/b": 1, "/c": 1, "(other)": 5}
    assert {entry["referrer"] for entry in figures["referrers"]} == {
        "ra.test", "rb.test", "rc.test", "(other)",
    }  # fmt: skip
    assert figures["totals"]["views"] == 9
    page = signed_in_page(client, "/dashboard/sites/blog")
    assert "(other): past the first 3 of a day" in page


def test_long_paths_are_cut(client: Client) -> None:
    add_site(client)
    view(client, "https://example.com/" + "x" * 1900)
    (entry,) = stats(client)["pages"]
    assert entry["page"] == "/" + "x" * (MAX_PAGE - 1)


def signed_in_page(client: Client, path: str) -> str:
    page = client.get("/dashboard/login").text
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    client.post("/dashboard/login", data={"token": "s3rver-admin-token", "csrf_token": token})
    return client.get(path).text


def test_a_batch_sent_again_with_its_idempotency_key_counts_once(
    client: Client, backend_redis: redis.Redis
) -> None:
    add_site(client)
    events = [{"site": "blog", "url": "/a"}, {"site": "blog", "url": "/b"}, "nonsense"]
    first = client.post("/api/events", json=events, headers={**ADMIN, "Idempotency-Key": "k-1"})
    again = client.post("/api/events", json=events, headers={**ADMIN, "Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 202
    assert again.json == first.json
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert stats(client)["totals"]["views"] == 2
    (kept,) = backend_redis.keys("pt:idempotency:*")
    assert 86_400 - 5 < backend_redis.ttl(kept) <= 86_400
    other = client.post("/api/events", json=events, headers={**ADMIN, "Idempotency-Key": "k-2"})
    assert other.status_code == 202
    assert stats(client)["totals"]["views"] == 4


def test_an_idempotency_key_must_be_sound_and_is_not_shared_while_counting(
    client: Client, backend_redis: redis.Redis
) -> None:
    add_site(client)
    events = [{"site": "blog", "url": "/a"}]
    bad = client.post("/api/events", json=events, headers={**ADMIN, "Idempotency-Key": "a b"})
    assert bad.status_code == 400
    assert "Idempotency-Key" in bad.json["message"]
    ingest = client.post("/api/sites/blog/tokens", json={"scope": "ingest"}, headers=ADMIN).json
    # Another request with this token and key is being counted right now.
    idempotency.claim(backend_redis, ingest["id"], "k-1")
    busy = client.post("/api/events", json=events,
                       headers={"Authorization": f"Bearer {ingest['token']}",
                                "Idempotency-Key": "k-1"})  # fmt: skip
    assert busy.status_code == 409
    # The same key from another token is its own.
    assert client.post("/api/events", json=events,
                       headers={**ADMIN, "Idempotency-Key": "k-1"}).status_code == 202  # fmt: skip
    assert stats(client)["totals"]["views"] == 1


def test_a_surrogate_sent_as_raw_bytes_is_refused_too(client: Client) -> None:
    add_site(client)
    body = b'{"site": "blog", "url": "https://example.com/\xed\xa0\x80"}'  # not UTF-8
    answer = client.post("/api/event", data=body, content_type="text/plain")
    assert answer.status_code == 400
    assert "UTF-8" in answer.json["message"]
